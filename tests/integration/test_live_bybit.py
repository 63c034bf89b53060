"""freqtrade ``trade`` in live mode with exchange ``bybit`` against the venue's Bybit V5 dialect: markets,
leverage, a market entry, a stop on the exchange, an exit; the ground truth matches freqtrade's database."""

from __future__ import annotations

import pytest

from robust_plugin.venue.process import run_venue
from tests.integration.live_harness import (
    all_trades_closed,
    freqtrade_db,
    live_config,
    run_trade,
    stops_done,
    venue_state,
)

pytestmark = pytest.mark.integration
KEY, SECRET = "live-key", "live-secret"
BYBIT = {"exchange": {"name": "bybit", "enable_ws": False}}


def test_live_bybit_futures_round_trip_matches_the_ground_truth(tmp_path, sample_datadir):
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, exchange="bybit") as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], BYBIT)

        def closed() -> bool:
            state = venue_state(venue)
            return (
                len(state["fills"]) >= 2
                and not state["positions"]
                and all_trades_closed(tmp_path)
                and stops_done(state)
            )

        log = run_trade(config, tmp_path, sample_datadir, "RehearsalStrategy", until=closed, timeout=80)
        truth = venue_state(venue)
        requests = venue.call("GET", "/_venue/requests")
    assert len(truth["fills"]) >= 2 and not truth["positions"], log[-3000:]
    assert {r["path"] for r in requests} >= {
        "/v5/market/instruments-info",
        "/v5/position/switch-mode",
        "/v5/position/set-leverage",
        "/v5/order/create",
        "/v5/order/realtime",
    }
    assert all("code" not in r for r in requests if r["path"] != "/v5/position/set-leverage"), [
        r for r in requests if "code" in r
    ]
    db = freqtrade_db(tmp_path)
    [trade] = db["trades"]
    assert trade["is_open"] == 0 and trade["exit_reason"] == "rehearsal_exit", trade
    assert trade["leverage"] == 3 and truth["leverage"]["BTCUSDT"] == 3
    assert truth["margin_type"]["BTCUSDT"] == "ISOLATED"
    entries_and_exits = [o for o in db["orders"] if o["ft_order_side"] in ("buy", "sell")]
    assert len(entries_and_exits) == 2
    by_client_id = {o["client_order_id"]: o for o in truth["orders"]}
    assert len(truth["orders"]) == 2 and {o["origin"] for o in truth["orders"]} == {"api"}
    fills = {str(f["order_id"]): f for f in truth["fills"]}
    for order in entries_and_exits:  # freqtrade's orders are the venue's, filled as the ledger says
        [theirs] = [o for o in by_client_id.values() if _bybit_id(o["order_id"]) == order["order_id"]]
        assert theirs["status"] == "FILLED"
        assert float(theirs["executed_qty"]) == pytest.approx(order["filled"])
        assert float(fills[str(theirs["order_id"])]["price"]) == pytest.approx(order["average"])
    # stoploss on exchange: a conditional order (triggerPrice, falling, reduce-only). On Bybit freqtrade
    # leaves it in place for the exit (stoploss_blocks_assets is off) and cancels it once the trade closed
    [stop] = truth["algo_orders"]
    assert stop["order_type"] == "STOP_MARKET" and stop["side"] == "SELL" and stop["reduce_only"]
    assert stop["algo_status"] == "CANCELED" and "/v5/order/cancel" in {r["path"] for r in requests}
    assert any(o["ft_order_side"] == "stoploss" and o["order_id"] == _bybit_id(stop["algo_id"]) for o in db["orders"])
    realized = sum(float(f["realized_pnl"]) - float(f["commission"]) for f in truth["fills"])
    assert trade["close_profit_abs"] == pytest.approx(realized, abs=0.01)
    assert "Traceback" not in log
    assert not [line for line in log.splitlines() if " - ERROR - " in line or " - WARNING - " in line], log


def _bybit_id(number: int) -> str:
    from robust_plugin.venue.bybit_orders import bybit_id

    return bybit_id(number)


def test_the_plugin_verifies_and_closes_on_bybit_through_faults(tmp_path, sample_datadir):
    """The plugin in front of the strategy on the Bybit dialect: an entry that positions show late is
    verified, and a close whose answer is lost is found by its orderLinkId instead of being sent twice."""
    from tests.integration.live_harness import plugin_events

    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        '[[faults]]\nkind = "position_lag"\nseconds = 5\n\n'
        '[[faults]]\nkind = "lost_response"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [1]\n'
    )
    extra = {**BYBIT, "robust_plugin": {"aged": {"enabled": False}}, "rehearsal_hold_seconds": 15}
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=scenario, exchange="bybit") as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)

        def finished() -> bool:
            kinds = [e["kind"] for e in plugin_events(tmp_path)]
            settled = kinds.count("settlement_started") == sum(
                k.startswith("settlement_") for k in kinds
            ) - kinds.count("settlement_started")
            return all_trades_closed(tmp_path) and not venue_state(venue)["positions"] and settled

        log = run_trade(config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=finished, timeout=85)
        truth = venue_state(venue)
    events = plugin_events(tmp_path)
    kinds = [e["kind"] for e in events]
    assert "settlement_verified" in kinds, (kinds, log[-4000:])
    [found] = [e for e in events if e["kind"] == "close_found_after_loss"]  # looked up by its orderLinkId
    [placed] = [e for e in events if e["kind"] == "close_placed"]
    assert placed["data"]["client_order_id"] == found["data"]["client_order_id"] and "close_filled" in kinds
    assert not truth["positions"], log[-4000:]
    closes = [o for o in truth["orders"] if o["reduce_only"] and o["origin"] == "api" and o["status"] == "FILLED"]
    assert len(closes) == 1, "the lost close was sent again instead of found"
    assert [f["kind"] for f in truth["faults_fired"]].count("lost_response") == 1
    [trade] = freqtrade_db(tmp_path)["trades"]
    assert trade["is_open"] == 0, log[-4000:]
    assert not [e for e in events if e["severity"] == "critical"], events
    assert "Traceback" not in log


def test_a_liquidation_right_after_entry_is_recognised_by_its_create_type(tmp_path, sample_datadir):
    """The venue liquidates the position as soon as it opens; on Bybit the plugin tells a liquidation
    by the order's createType (CreateByLiq), reports the entry closed at once and sends no close."""
    from tests.integration.live_harness import plugin_events

    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[[faults]]\nkind = "liquidate_after_entry"\noccurrences = [1]\n')
    extra = {
        **BYBIT,
        "robust_plugin": {"aged": {"enabled": False}, "settlement": {"late_after": "3s"}},
        "rehearsal_hold_seconds": 300,
    }
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=scenario, exchange="bybit") as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)

        def finished() -> bool:
            kinds = [e["kind"] for e in plugin_events(tmp_path)]
            return all_trades_closed(tmp_path) and "settlement_closed_immediately" in kinds

        log = run_trade(config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=finished, timeout=85)
        truth = venue_state(venue)
    events = plugin_events(tmp_path)
    closed = [e for e in events if e["kind"] == "settlement_closed_immediately"]
    assert len(closed) == 1 and "liquidated" in closed[0]["data"]["detail"], ([e["kind"] for e in events], log[-4000:])
    [trade] = freqtrade_db(tmp_path)["trades"]
    assert trade["is_open"] == 0, log[-4000:]
    assert [o["origin"] for o in truth["orders"]] == ["api", "liquidation"]  # no close order for a gone position


def test_a_position_above_the_market_order_limit_is_closed_in_chunks(tmp_path, sample_datadir):
    """maxMktOrderQty shrunk to 0.004 BTC: the plugin reads it from Bybit's lotSizeFilter and closes a
    larger position (entered with a marketable limit order) in market chunks no larger than it."""
    from tests.integration.live_harness import plugin_events

    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[[markets]]\nsymbol = "BTCUSDT"\nmarket_max_qty = 0.004\n')
    extra = {
        **BYBIT,
        "robust_plugin": {"aged": {"enabled": False}, "closing": {"backoff_initial": "1s", "backoff_max": "4s"}},
        "stake_amount": 200,
        "position_adjustment_enable": True,  # chunked closes are partial exits
        "rehearsal_hold_seconds": 8,
        "order_types": {"entry": "limit", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True},
    }
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=scenario, exchange="bybit") as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)

        def finished() -> bool:
            return all_trades_closed(tmp_path) and not venue_state(venue)["positions"]

        log = run_trade(config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=finished, timeout=85)
        truth = venue_state(venue)
    events = plugin_events(tmp_path)
    [trade] = freqtrade_db(tmp_path)["trades"]
    assert trade["is_open"] == 0, log[-4000:]
    chunks = [o for o in truth["orders"] if o["reduce_only"] and float(o["executed_qty"]) > 0 and o["origin"] == "api"]
    [entry] = [o for o in truth["orders"] if not o["reduce_only"]]
    assert len(chunks) >= 3 and all(float(o["executed_qty"]) <= 0.004 for o in chunks), chunks
    assert sum(float(o["executed_qty"]) for o in chunks) == pytest.approx(float(entry["executed_qty"]))
    assert "close_escalated" in [e["kind"] for e in events]
    assert len([e for e in events if e["kind"] == "close_chunk"]) == len(chunks)
    assert not truth["positions"]


def test_an_entry_acknowledged_but_never_executed_raises_no_false_alarm(tmp_path, sample_datadir):
    """Bybit acknowledges an order before it executes (orderId only). Here the entry is acknowledged
    and never executes: freqtrade keeps an open entry order it cannot find, nothing filled, no position.
    Reconciliation must not call that trade a ghost ("check the exchange") after its grace: a trade
    whose entry has not filled expects no position, as a resting limit entry on any exchange."""
    import time

    from tests.integration.live_harness import freqtrade_db, plugin_events

    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[[faults]]\nkind = "phantom_fill"\nreduce_only = false\noccurrences = [1]\n')
    plugin = {"aged": {"enabled": False}, "reconcile": {"interval": "2s", "grace": "2s"}}
    extra = {**BYBIT, "robust_plugin": plugin, "rehearsal_hold_seconds": 600}
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=scenario, exchange="bybit") as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)
        seen_at: list[float] = []

        def long_past_the_grace() -> bool:
            # freqtrade's own loop is held by its fetch_order retries (about 35 s) until it gives up on the order
            if not seen_at and "Cannot query order" in (tmp_path / "freqtrade.log").read_text():
                seen_at.append(time.monotonic())
            return bool(seen_at) and time.monotonic() - seen_at[0] > 15  # several reconciliations past 2 s

        log = run_trade(
            config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=long_past_the_grace, timeout=110
        )
        truth = venue_state(venue)
    events = plugin_events(tmp_path)
    assert seen_at, log[-3000:]
    [trade] = freqtrade_db(tmp_path)["trades"]
    assert trade["is_open"] == 1, log[-3000:]  # freqtrade still waits for its entry order
    assert [f["kind"] for f in truth["faults_fired"]] == ["phantom_fill"]
    assert not truth["positions"] and not [o for o in truth["orders"] if o["origin"] == "api"], "nothing executed"
    assert not [e for e in events if e["kind"].startswith("finding_")], [e["kind"] for e in events]
    assert not [e for e in events if e["kind"].startswith("settlement_")], "nothing filled: nothing to settle"
    assert "Unexpected error" not in log  # no callback of the plugin raised


def test_an_entry_reported_filled_with_nothing_in_the_history_is_never_filled(tmp_path, sample_datadir):
    """Bybit's order status query (``/v5/order/realtime``, what freqtrade's fetch_order reads) says the
    entry Filled, but nothing executed: no position, and neither the order history nor the executions
    hold it. The settlement job reads the history through freqtrade's emulated fetch_orders, finds no
    fill of ours and ends ``never_filled`` with its alert by the deadline."""
    from tests.integration.live_harness import plugin_events

    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        '[[faults]]\nkind = "phantom_fill"\nreduce_only = false\noccurrences = [1]\nstatus_query = true\n'
    )
    plugin = {"aged": {"enabled": False}, "settlement": {"deadline": "12s", "late_after": "4s"}}
    extra = {**BYBIT, "robust_plugin": plugin, "rehearsal_hold_seconds": 600}
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=scenario, exchange="bybit") as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)

        def decided() -> bool:
            return any(e["kind"] == "settlement_never_filled" for e in plugin_events(tmp_path))

        log = run_trade(config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=decided, timeout=90)
        truth = venue_state(venue)
        requests = venue.call("GET", "/_venue/requests")
    events = plugin_events(tmp_path)
    [never] = [e for e in events if e["kind"] == "settlement_never_filled"]
    assert never["trade_id"] == 1, log[-3000:]
    assert [e for e in events if e["kind"] == "alert" and e["data"]["subject"] == "entry settlement: never_filled"]
    assert "/v5/order/history" in {r["path"] for r in requests}, "the verdict came from Bybit's order history"
    assert [f["kind"] for f in truth["faults_fired"]] == ["phantom_fill"]
    assert not truth["positions"] and not [o for o in truth["orders"] if o["origin"] == "api"], "nothing executed"
    assert "Unexpected error" not in log  # no callback of the plugin raised
