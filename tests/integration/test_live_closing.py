"""Verified closes with retry and chunked fallback: freqtrade in live mode against the venue with
scripted faults. Each test runs one trade of the rehearsal strategy through ``freqtrade trade``."""

from __future__ import annotations

import time

import pytest

from robust_plugin.venue.process import run_venue
from tests.integration.live_harness import (
    all_trades_closed,
    freqtrade_db,
    live_config,
    plugin_events,
    run_trade,
    venue_state,
)

pytestmark = pytest.mark.integration
KEY, SECRET = "closing-key", "closing-secret"
PLUGIN = {
    "aged": {"enabled": False},
    "closing": {"backoff_initial": "1s", "backoff_max": "4s", "alert_after_failures": 3},
}


def run_close(
    tmp_path,
    datadir,
    scenario: str,
    extra: dict | None = None,
    during=None,
    timeout: float = 120,
    closing: dict | None = None,
):
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    plugin = {**PLUGIN, "closing": {**PLUGIN["closing"], **(closing or {})}}
    config_extra = {"robust_plugin": plugin, "position_adjustment_enable": True, "stake_amount": 200, **(extra or {})}
    with run_venue(datadir, api_key=KEY, api_secret=SECRET, scenario=path) as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], config_extra)

        def finished() -> bool:
            if during is not None:
                during(venue)
            return all_trades_closed(tmp_path) and not venue_state(venue)["positions"]

        log = run_trade(config, tmp_path, datadir, "RobustRehearsalStrategy", until=finished, timeout=timeout)
        truth = venue_state(venue)
    return truth, freqtrade_db(tmp_path), plugin_events(tmp_path), log


def closes(truth: dict) -> list[dict]:
    """Close orders the venue executed (reduce-only, filled at least in part), excluding liquidations."""
    return [o for o in truth["orders"] if o["reduce_only"] and float(o["executed_qty"]) > 0 and o["origin"] == "api"]


def kinds(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["kind"] == kind]


def test_close_succeeds_on_the_first_attempt(tmp_path, sample_datadir):
    truth, db, events, log = run_close(tmp_path, sample_datadir, "")
    [trade] = db["trades"]
    assert trade["is_open"] == 0, log[-3000:]
    assert len(closes(truth)) == 1
    assert [e["data"]["client_order_id"] for e in kinds(events, "close_attempt")] == [
        closes(truth)[0]["client_order_id"]
    ]
    assert kinds(events, "close_filled") and not kinds(events, "close_failed")


def test_network_error_then_success_executes_one_order(tmp_path, sample_datadir):
    scenario = '[[faults]]\nkind = "disconnect"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [1]\n'
    truth, db, events, log = run_close(tmp_path, sample_datadir, scenario)
    assert db["trades"][0]["is_open"] == 0, log[-3000:]
    assert len(closes(truth)) == 1, closes(truth)
    attempts = kinds(events, "close_attempt")
    assert len(attempts) == 2
    assert kinds(events, "close_failed")[0]["data"]["failure_class"] == "network"
    assert attempts[1]["data"]["started_at"] - attempts[0]["data"]["started_at"] >= 1.0  # backed off


def test_lost_response_after_execution_closes_once_at_the_right_price(tmp_path, sample_datadir):
    scenario = '[[faults]]\nkind = "lost_response"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [1]\n'
    truth, db, events, log = run_close(tmp_path, sample_datadir, scenario)
    [trade] = db["trades"]
    assert trade["is_open"] == 0, log[-3000:]
    [close] = closes(truth)
    assert len([o for o in truth["orders"] if o["reduce_only"]]) == 1, "a reduce-only order after the lost one"
    fills = [f for f in truth["fills"] if f["order_id"] == close["order_id"]]
    assert trade["close_rate"] == pytest.approx(float(fills[0]["price"]))
    assert kinds(events, "close_found_after_loss")
    assert [f["kind"] for f in truth["faults_fired"]] == ["lost_response"]


def test_insufficient_margin_is_verified_not_retried_blindly_and_alerted(tmp_path, sample_datadir):
    scenario = '[[faults]]\nkind = "insufficient_margin"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [1, 2, 3]\n'
    truth, db, events, log = run_close(tmp_path, sample_datadir, scenario, closing={"max_full_attempts": 5})
    assert db["trades"][0]["is_open"] == 0, log[-3000:]
    assert len(closes(truth)) == 1
    failed = kinds(events, "close_failed")
    assert [e["data"]["failure_class"] for e in failed] == ["insufficient_margin"] * 3
    assert all(e["data"]["status"] == "verifying" for e in failed)
    alerts = [e for e in kinds(events, "alert") if e["data"]["subject"] == "close keeps failing"]
    assert len(alerts) == 1 and alerts[0]["data"]["attempts"] == 3
    # freqtrade's own branch for -2019, as against Binance (ccxt InsufficientFunds -> InsufficientFundsError):
    # execute_trade_exit logs the refusal and looks for a lost order of the trade; no "Unable to exit trade"
    flat = " ".join(log.split())  # the console wraps lines
    assert flat.count("Unable to place order Insufficient funds") == 3
    assert flat.count("Trying to refind lost order") == 3
    assert "Unable to exit trade" not in flat


def test_repeated_failures_escalate_to_chunks_after_the_configured_count(tmp_path, sample_datadir):
    scenario = '[[faults]]\nkind = "disconnect"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [1, 2]\n'
    truth, db, events, log = run_close(
        tmp_path, sample_datadir, scenario, closing={"max_full_attempts": 2, "alert_after_failures": 2}
    )
    assert db["trades"][0]["is_open"] == 0, log[-3000:]
    assert [e["data"]["close_type"] for e in kinds(events, "close_attempt")] == ["full", "full"]
    assert kinds(events, "close_escalated")[0]["data"]["reason"] == "2 failed full closes"
    assert kinds(events, "close_chunk") and len(closes(truth)) == len(kinds(events, "close_chunk"))
    assert len([e for e in kinds(events, "alert") if e["data"]["subject"] == "close keeps failing"]) == 1


def test_rate_limited_close_waits_for_retry_after(tmp_path, sample_datadir):
    scenario = '[[faults]]\nkind = "rate_limit"\nendpoint = "order.new"\nreduce_only = true\nretry_after = 3\noccurrences = [1]\n'
    truth, db, events, log = run_close(tmp_path, sample_datadir, scenario)
    assert db["trades"][0]["is_open"] == 0, log[-3000:]
    attempts = kinds(events, "close_attempt")
    assert len(attempts) == 2 and len(closes(truth)) == 1
    assert kinds(events, "close_failed")[0]["data"]["failure_class"] == "rate_limit"
    assert attempts[1]["data"]["started_at"] - attempts[0]["data"]["started_at"] >= 3.0


def test_position_above_market_lot_size_is_closed_in_chunks(tmp_path, sample_datadir):
    scenario = '[[markets]]\nsymbol = "BTCUSDT"\nmarket_max_qty = 0.004\n'
    # the entry is a marketable limit order (LOT_SIZE allows it); a market close of it would exceed MARKET_LOT_SIZE
    entry_limit = {
        "order_types": {"entry": "limit", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True}
    }
    truth, db, events, log = run_close(tmp_path, sample_datadir, scenario, extra=entry_limit)
    [trade] = db["trades"]
    assert trade["is_open"] == 0, log[-3000:]
    chunk_orders = closes(truth)
    assert len(chunk_orders) >= 3
    assert all(float(o["executed_qty"]) <= 0.004 for o in chunk_orders)
    entry = [o for o in truth["orders"] if not o["reduce_only"] and o["origin"] == "api"][0]
    assert sum(float(o["executed_qty"]) for o in chunk_orders) == pytest.approx(float(entry["executed_qty"]))
    assert not truth["positions"]
    assert kinds(events, "close_escalated") and len(kinds(events, "close_chunk")) == len(chunk_orders)


def test_a_chunk_refused_for_margin_is_verified_and_chunking_goes_on(tmp_path, sample_datadir):
    # the second chunk is refused with -2019: the close looks at the position, then sends the rest in chunks.
    # The exit is the aged policy's (the strategy never exits itself), so only the chunk path can finish it.
    scenario = (
        '[[markets]]\nsymbol = "BTCUSDT"\nmarket_max_qty = 0.004\n\n'
        '[[faults]]\nkind = "insufficient_margin"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [2]\n'
    )
    aged = {"max_age": "4s", "grace_period": "1s", "step_interval": "1s", "loss_step_pct": 5, "max_loss_pct": 50}
    extra = {
        "order_types": {"entry": "limit", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True},
        "rehearsal_hold_seconds": 10**6,
        "robust_plugin": {**PLUGIN, "aged": aged},
    }
    truth, db, events, log = run_close(tmp_path, sample_datadir, scenario, extra=extra)
    [trade] = db["trades"]
    assert trade["is_open"] == 0 and not truth["positions"], log[-3000:]
    failed = kinds(events, "close_failed")
    assert [e["data"]["failure_class"] for e in failed] == ["insufficient_margin"]
    chunk_orders = closes(truth)
    entry = [o for o in truth["orders"] if not o["reduce_only"] and o["origin"] == "api"][0]
    assert sum(float(o["executed_qty"]) for o in chunk_orders) == pytest.approx(float(entry["executed_qty"]))
    assert len(kinds(events, "close_chunk")) == len(chunk_orders) + 1  # every chunk sent once, the refused one included
    flat = " ".join(log.split())  # a refused partial exit takes freqtrade's InsufficientFundsError branch too
    assert flat.count("Unable to place order Insufficient funds") == 1
    assert "Unable to adjust position" not in flat


def test_position_closed_outside_the_bot_is_reconciled_without_an_order(tmp_path, sample_datadir):
    closed = []

    def close_outside(venue):  # once the entry is settled (earlier, settlement calls it closed_immediately)
        settled = kinds(plugin_events(tmp_path), "settlement_verified")
        if not closed and settled and venue_state(venue)["positions"]:
            venue.call("POST", "/_venue/external", {"action": "close", "symbol": "BTCUSDT"})
            closed.append(True)

    # without a stop order on the exchange, freqtrade's own wallet check recovers the trade (with one
    # open, freqtrade skips that check and the alert asks the user for /reload_trade)
    no_stop = {
        "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": False}
    }
    truth, db, events, log = run_close(tmp_path, sample_datadir, "", during=close_outside, extra=no_stop)
    [trade] = db["trades"]
    assert trade["is_open"] == 0 and trade["exit_reason"] == "sold_on_exchange", log[-3000:]
    assert closes(truth) == [], "the bot sent a close for a position that was gone"
    assert kinds(events, "closed_outside")
    assert [e for e in kinds(events, "alert") if e["data"]["subject"] == "position closed outside the bot"]


def test_position_gone_while_a_stop_order_is_open_sends_no_order_and_asks_for_reload(tmp_path, sample_datadir):
    closed = []

    def close_outside(venue):
        state = venue_state(venue)
        if not closed and state["positions"] and state["algo_orders"]:  # after freqtrade placed its stop
            venue.call("POST", "/_venue/external", {"action": "close", "symbol": "BTCUSDT"})
            closed.append(True)

    def alerted(workdir, venue) -> bool:
        return any(e["data"].get("subject") == "position already gone" for e in kinds(plugin_events(workdir), "alert"))

    path = tmp_path / "scenario.toml"
    path.write_text("")
    config_extra = {"robust_plugin": PLUGIN, "position_adjustment_enable": True, "stake_amount": 200}
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=path) as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], config_extra)

        seen_at: list[float] = []

        def finished() -> bool:  # the alert, then a few more loops of exit signals
            close_outside(venue)
            if not seen_at and alerted(tmp_path, venue):
                seen_at.append(time.monotonic())
            return bool(seen_at) and time.monotonic() - seen_at[0] > 6

        log = run_trade(config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=finished, timeout=90)
        truth = venue_state(venue)
    events = plugin_events(tmp_path)
    assert alerted(tmp_path, None), log[-3000:]
    [alert] = [e for e in kinds(events, "alert") if e["data"]["subject"] == "position already gone"]
    assert "/reload_trade 1" in alert["data"]["you_should"]
    assert closes(truth) == [], "no close order for a position that is gone"
    assert len(kinds(events, "close_skipped_gone")) == 1


def test_position_shrank_outside_the_close_matches_the_real_size(tmp_path, sample_datadir):
    shrunk = []

    def shrink(venue):
        state = venue_state(venue)
        if not shrunk and state["positions"]:
            venue.call(
                "POST", "/_venue/external", {"action": "open", "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.004"}
            )  # someone sells part
            shrunk.append(True)

    no_stop = {
        "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": False}
    }
    truth, db, events, log = run_close(tmp_path, sample_datadir, "", during=shrink, extra=no_stop)
    [trade] = db["trades"]
    assert trade["is_open"] == 0, log[-3000:]
    # recorded where it was first seen: the pre-close check, or freqtrade's recovery of the outside order
    # (settlement then expects the trade's new amount: the reduction is no settlement verdict)
    assert kinds(events, "size_mismatch") or kinds(events, "reduced_outside"), events
    assert kinds(events, "reduced_outside")
    assert not kinds(events, "settlement_size_mismatch") and not kinds(events, "settlement_closed_immediately")
    entry = [o for o in truth["orders"] if not o["reduce_only"] and o["origin"] == "api"][0]
    [close] = closes(truth)
    assert float(close["executed_qty"]) == pytest.approx(float(entry["executed_qty"]) - 0.004)
    assert trade["amount"] == pytest.approx(float(close["executed_qty"]))
    assert not truth["positions"]


def test_position_shrank_outside_with_the_stop_on_the_exchange_is_closed(tmp_path, sample_datadir):
    """Issue 15: with the stop-loss on the exchange freqtrade never records an outside reduction (its
    recovery is skipped while a stop order is open); the close waited for it for ever (41 denied exits,
    no close order, the exchange still holding 0.005). Now the close goes and the position is flat."""
    shrunk = []

    def shrink(venue):
        state = venue_state(venue)
        if not shrunk and state["positions"] and state["algo_orders"]:  # after freqtrade placed its stop
            venue.call(
                "POST", "/_venue/external", {"action": "open", "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.004"}
            )  # someone sells part
            shrunk.append(True)

    with_stop = {
        "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True}
    }
    path = tmp_path / "scenario.toml"
    path.write_text("")
    config_extra = {"robust_plugin": PLUGIN, "position_adjustment_enable": True, "stake_amount": 200, **with_stop}
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=path) as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], config_extra)

        def flat() -> bool:  # and freqtrade's trade closed, or the trader told how to make freqtrade record it
            shrink(venue)
            if not (shrunk and closes(venue_state(venue)) and not venue_state(venue)["positions"]):
                return False
            alerts = kinds(plugin_events(tmp_path), "alert")
            return all_trades_closed(tmp_path) or any(
                a["data"].get("subject") == "position already gone" for a in alerts
            )

        log = run_trade(config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=flat, timeout=120)
        truth = venue_state(venue)
    events = plugin_events(tmp_path)
    assert shrunk and not truth["positions"], log[-3000:]
    entry = [o for o in truth["orders"] if not o["reduce_only"] and o["origin"] == "api"][0]
    [close] = closes(truth)
    assert float(close["executed_qty"]) == pytest.approx(float(entry["executed_qty"]) - 0.004)
    assert kinds(events, "size_mismatch")
    assert not kinds(events, "close_held_smaller")
    [trade] = freqtrade_db(tmp_path)["trades"]
    if trade["is_open"]:  # freqtrade still holds the outside part: the trader is told how to record it
        [gone] = [a for a in kinds(events, "alert") if a["data"].get("subject") == "position already gone"]
        assert "/reload_trade 1" in gone["data"]["you_should"]
