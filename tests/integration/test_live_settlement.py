"""Post-entry settlement and reconciliation: freqtrade in live mode against the venue with faults."""

from __future__ import annotations

import argparse
import json
import tomllib

import pytest

from robust_plugin.tools.chaos_scenario import write_scenario
from robust_plugin.venue.process import run_venue
from tests.integration.live_harness import (
    all_trades_closed,
    exchange_config,
    freqtrade_db,
    live_config,
    plugin_events,
    run_trade,
    venue_state,
)

pytestmark = pytest.mark.integration
KEY, SECRET = "settle-key", "settle-secret"


def run_settle(tmp_path, datadir, scenario: str, plugin: dict, hold: float, until=None, during=None, timeout=120):
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    extra = {"robust_plugin": {"aged": {"enabled": False}, **plugin}, "rehearsal_hold_seconds": hold}
    with run_venue(datadir, api_key=KEY, api_secret=SECRET, scenario=path) as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)

        def finished() -> bool:
            if during is not None:
                during(venue)
            if until is not None:
                return until(tmp_path, venue)
            return all_trades_closed(tmp_path) and not venue_state(venue)["positions"] and settled(tmp_path)

        log = run_trade(config, tmp_path, datadir, "RobustRehearsalStrategy", until=finished, timeout=timeout)
        truth = venue_state(venue)
    return truth, freqtrade_db(tmp_path), plugin_events(tmp_path), log


def settled(workdir) -> bool:
    """Every settlement job started has its outcome recorded (the verdict may come a moment after
    freqtrade closed the trade: stopping the bot then would lose it)."""
    kinds_ = [e["kind"] for e in plugin_events(workdir) if e["kind"].startswith("settlement_")]
    return kinds_.count("settlement_started") == len(kinds_) - kinds_.count("settlement_started")


def kinds(events, kind):
    return [e for e in events if e["kind"] == kind]


def test_position_visible_after_a_few_polls_is_verified_without_alert(tmp_path, sample_datadir):
    truth, db, events, log = run_settle(
        tmp_path, sample_datadir, '[[faults]]\nkind = "position_lag"\nseconds = 5\n', {}, hold=15
    )
    [verified] = kinds(events, "settlement_verified")
    assert 4.0 <= verified["data"]["lag_s"] <= 10.0, verified
    assert verified["data"]["checks"] >= 2
    assert not [e for e in kinds(events, "alert") if "settlement" in e["data"]["subject"]]
    assert not kinds(events, "close_skipped_gone"), "an unseen position was taken for a gone one"
    assert db["trades"][0]["is_open"] == 0 and db["trades"][0]["exit_reason"] == "rehearsal_exit", log[-2000:]


def test_a_long_visibility_lag_is_verified_late_never_rolled_back(tmp_path, sample_datadir):
    # 20 s: beyond the seed system's fixed 6 s window, which would have "rolled back" here
    truth, db, events, log = run_settle(
        tmp_path,
        sample_datadir,
        '[[faults]]\nkind = "position_lag"\nseconds = 20\n',
        {"settlement": {"late_after": "10s"}},
        hold=5,
        timeout=150,
    )
    [late] = kinds(events, "settlement_verified_late")
    assert late["data"]["lag_s"] >= 18
    assert not [e for e in events if e["severity"] == "critical"]
    assert kinds(events, "close_deferred"), "the exit should wait for the position to be visible"
    reduce_only = [o for o in truth["orders"] if o["reduce_only"] and o["origin"] == "api"]
    assert len(reduce_only) == 1 and reduce_only[0]["status"] == "FILLED"  # one close, after verification
    assert db["trades"][0]["exit_reason"] == "rehearsal_exit", log[-2000:]


def test_liquidation_right_after_entry_is_closed_immediately(tmp_path, sample_datadir):
    truth, db, events, log = run_settle(
        tmp_path,
        sample_datadir,
        '[[faults]]\nkind = "liquidate_after_entry"\noccurrences = [1]\n',
        {"settlement": {"late_after": "3s"}},
        hold=300,
    )
    [closed] = kinds(events, "settlement_closed_immediately")
    assert "liquidated" in closed["data"]["detail"]
    assert [e for e in kinds(events, "alert") if e["data"]["subject"] == "entry settlement: closed_immediately"]
    [trade] = db["trades"]
    assert trade["is_open"] == 0, log[-3000:]
    assert not [o for o in truth["orders"] if o["reduce_only"] and o["origin"] == "api"], (
        "no close order for a gone position"
    )


def test_a_position_opened_outside_the_bot_is_reported_as_orphan_and_left_alone(tmp_path, sample_datadir):
    opened = []

    def open_outside(venue):
        if not opened:
            venue.call(
                "POST", "/_venue/external", {"action": "open", "symbol": "ETHUSDT", "side": "SELL", "quantity": "0.05"}
            )
            opened.append(True)

    def orphan_reported(workdir, venue) -> bool:
        return bool(kinds(plugin_events(workdir), "finding_orphan"))

    truth, db, events, log = run_settle(
        tmp_path,
        sample_datadir,
        "",
        {"reconcile": {"interval": "3s"}},
        hold=600,
        until=orphan_reported,
        during=open_outside,
    )
    [orphan] = kinds(events, "finding_orphan")
    assert orphan["severity"] == "critical" and orphan["data"]["exchange_amount"] == 0.05
    assert [e for e in kinds(events, "alert") if e["data"]["subject"] == "reconciliation: orphan"]
    eth = [p for p in truth["positions"] if p["symbol"] == "ETHUSDT"]
    assert eth and float(eth[0]["amount"]) == -0.05, "the orphan must be left alone by default"
    assert len(kinds(events, "finding_orphan")) == 1, "deduplicated until it changes"


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_bot_killed_between_fill_and_verification_resumes_the_job_after_restart(tmp_path, sample_datadir, exchange):
    import signal
    import subprocess
    import sys
    import time

    from tests.integration.live_harness import STRATEGIES

    path = tmp_path / "scenario.toml"
    path.write_text('[[faults]]\nkind = "position_lag"\nseconds = 15\n')
    extra = {
        "robust_plugin": {"aged": {"enabled": False}},
        "rehearsal_hold_seconds": 600,
        "exchange": exchange_config(exchange),
    }
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=path, exchange=exchange) as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)
        command = [
            sys.executable,
            "-m",
            "freqtrade",
            "trade",
            "--config",
            str(config),
            "--userdir",
            str(tmp_path),
            "--datadir",
            str(sample_datadir),
            "--strategy-path",
            str(STRATEGIES),
            "--strategy",
            "RobustRehearsalStrategy",
        ]

        def wait_for(condition, timeout=90):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not condition():
                time.sleep(0.5)
            return condition()

        with (tmp_path / "first.log").open("w") as out:
            first = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            assert wait_for(lambda: kinds(plugin_events(tmp_path), "settlement_started")), (
                tmp_path / "first.log"
            ).read_text()[-2000:]
            first.send_signal(signal.SIGKILL)  # between the fill and its verification (the position is still hidden)
            first.wait()
        assert not [e for e in plugin_events(tmp_path) if e["kind"].startswith("settlement_verified")]
        log = ""
        with (tmp_path / "second.log").open("w") as out:
            second = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            try:
                assert wait_for(
                    lambda: [e for e in plugin_events(tmp_path) if e["kind"].startswith("settlement_verified")]
                )
                time.sleep(3)  # a few more loops: nothing may be reported twice
            finally:
                second.send_signal(signal.SIGINT)
                try:
                    second.wait(timeout=60)
                except subprocess.TimeoutExpired:  # a slow shutdown on a loaded machine is not what this tests
                    second.kill()
                    second.wait()
            log = (tmp_path / "second.log").read_text()
    events = plugin_events(tmp_path)
    outcomes = [e for e in events if e["kind"].startswith("settlement_") and e["kind"] != "settlement_started"]
    assert len(outcomes) == 1, outcomes
    assert outcomes[0]["data"]["order_id"] == kinds(events, "settlement_started")[0]["data"]["order_id"]
    assert len(kinds(events, "settlement_started")) == 1, "the restart started a second job for the same fill"
    assert "resumed 1 settlement job" in log


def test_an_open_trade_whose_position_was_closed_outside_is_reported_as_ghost(tmp_path, sample_datadir):
    closed = []

    def close_outside(venue):
        state = venue_state(venue)
        if not closed and state["positions"] and state["algo_orders"]:  # freqtrade's stop is open: it will not notice
            venue.call("POST", "/_venue/external", {"action": "close", "symbol": "BTCUSDT"})
            closed.append(True)

    def ghost_reported(workdir, venue) -> bool:
        return bool(kinds(plugin_events(workdir), "finding_ghost"))

    truth, db, events, log = run_settle(
        tmp_path,
        sample_datadir,
        "",
        {"reconcile": {"interval": "3s", "grace": "5s"}},
        hold=600,
        until=ghost_reported,
        during=close_outside,
    )
    [ghost] = kinds(events, "finding_ghost")
    assert ghost["trade_id"] == 1 and ghost["data"]["exchange_amount"] == 0.0, log[-2000:]
    assert [e for e in kinds(events, "alert") if e["data"]["subject"] == "reconciliation: ghost"]


def test_an_entry_reported_filled_with_nothing_in_the_history_is_never_filled(tmp_path, sample_datadir):
    """The chaos rehearsal's phantom fill, as its scenario writes it for Binance: answered filled, and
    the order's status query answers filled too, as the exchange does for an order it acknowledged;
    nothing executed. The verdict comes by the deadline, and freqtrade never sits in its own ~35 s
    fetch_order retries every loop (which, with a query answering "does not exist", silenced every
    close in the rehearsal)."""
    args = argparse.Namespace(scenario=None, seed=3, exchange="binance")
    rendered = tomllib.loads(write_scenario(args, tmp_path, ["BTCUSDT", "ETHUSDT"], 120).read_text())
    [phantom] = [f for f in rendered["faults"] if f["kind"] == "phantom_fill"]
    phantom.pop("after")
    scenario = "[[faults]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in phantom.items())

    def decided(workdir, venue) -> bool:
        return bool(kinds(plugin_events(workdir), "settlement_never_filled"))

    settlement = {"settlement": {"deadline": "12s", "late_after": "4s"}}
    truth, db, events, log = run_settle(tmp_path, sample_datadir, scenario, settlement, hold=600, until=decided)
    [never] = kinds(events, "settlement_never_filled")
    assert never["trade_id"] == 1, log[-2000:]
    assert [e for e in kinds(events, "alert") if e["data"]["subject"] == "entry settlement: never_filled"]
    assert not truth["positions"] and not [o for o in truth["orders"] if o["origin"] == "api"], "nothing executed"
    assert "Order does not exist" not in log, log[-3000:]  # freqtrade never retried a fetch it cannot answer


def test_a_position_whose_stop_cannot_be_placed_is_reported_unprotected(tmp_path, sample_datadir):
    def reported(workdir, venue) -> bool:
        return bool(kinds(plugin_events(workdir), "finding_unprotected"))

    scenario = '[[faults]]\nkind = "server_error"\nstatus = 502\nendpoint = "algo.new"\n'  # every stop placement fails
    plugin = {"reconcile": {"interval": "3s", "grace": "3s", "unprotected_after": "6s"}}
    truth, db, events, log = run_settle(tmp_path, sample_datadir, scenario, plugin, hold=600, until=reported)
    [finding] = kinds(events, "finding_unprotected")
    assert finding["trade_id"] == 1 and finding["severity"] == "critical", log[-2000:]
    assert [e for e in kinds(events, "alert") if e["data"]["subject"] == "reconciliation: unprotected"]
    assert truth["positions"], "the plugin reports; it does not close the position"
