"""A live run against the venue, seen the way an operator sees it: freqtrade's REST API
``/trades/{id}/custom-data`` shows the plugin's state of the trade (aged phase, accepted loss, target,
next step; close attempts with their failure classes; settlement outcome with its lag), and
``robust-plugin status / events / alerts / report`` print it from the same databases."""

from __future__ import annotations

import base64
import json
import math
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from robust_plugin.report.cli import main
from robust_plugin.report.html import aged_trades, trade_steps
from robust_plugin.report.inputs import live_inputs
from robust_plugin.tools.backtest_env import ROOT
from robust_plugin.venue.process import run_venue
from tests.integration.live_harness import (
    DISCONNECT_CLASS,
    all_trades_closed,
    exchange_config,
    freqtrade_db,
    live_config,
    plugin_events,
    run_trade,
)

pytestmark = pytest.mark.integration
KEY, SECRET = "rest-key", "rest-secret"
USER, PASSWORD = "operator", "rest-password"
AGED = {
    "max_age": "15s",
    "grace_period": "10s",
    "step_interval": "5s",
    "loss_step_pct": 0.5,
    "max_loss_pct": 2.0,
    "force_close_after": "45s",
}
# The first close order is lost to a disconnect (Binance -1001, Bybit 10016): one failed attempt, then a retry.
SCENARIO = '[[faults]]\nkind = "disconnect"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [1]\n'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def custom_data(port: int, trade_id: int) -> dict | None:
    """The ``robustplugin`` value through freqtrade's REST API (basic auth), or None if not there yet."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/trades/{trade_id}/custom-data")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None  # the API is not up yet, or the trade does not exist yet (404)
    entries = [entry for item in body for entry in item["custom_data"] if entry["key"] == "robustplugin"]
    return entries[0]["value"] if entries else None


@pytest.fixture(scope="module", params=["binance", "bybit"])
def live_run(request, tmp_path_factory, sample_datadir):
    """One trade of the rehearsal strategy, aged in seconds, closed by the aged policy; REST polled;
    once on each exchange the venue speaks."""
    exchange = request.param
    workdir = tmp_path_factory.mktemp(f"rest-{exchange}")
    port = free_port()
    scenario = workdir / "scenario.toml"
    scenario.write_text(SCENARIO)
    extra = {
        "rehearsal_hold_seconds": 3600,  # the strategy never exits by itself: the aged policy does
        "exchange": exchange_config(exchange),
        "robust_plugin": {
            "aged": AGED,
            "closing": {"backoff_initial": "1s", "backoff_max": "2s", "alert_after_failures": 1},
            "settlement": {"late_after": "30s"},
        },  # a busy test machine is not a slow exchange
        "api_server": {
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": port,
            "verbosity": "error",
            "enable_openapi": False,
            "jwt_secret_key": "rest-test-jwt-secret-of-32-characters-at-least",
            "ws_token": "rest-test-websocket-token",
            "CORS_origins": [],
            "username": USER,
            "password": PASSWORD,
        },
    }
    seen: dict = {"open": None, "closed": None, "status": None}

    def watch() -> bool:
        value = custom_data(port, 1)
        if value is None:
            return False
        db = freqtrade_db(workdir)
        open_ = bool(db["trades"]) and db["trades"][0]["is_open"] == 1
        aged = value.get("aged") or {}
        if open_ and seen["open"] is None and aged.get("phase") in ("grace", "progressive", "capped"):
            seen["open"] = value
            seen["status"] = run_cli("status", "--db", str(workdir / "trades.sqlite"))
        closing = value.get("closing") or {}
        if (
            all_trades_closed(workdir)
            and closing.get("status") == "closed"
            and (value.get("settlement") or {}).get("outcome")
        ):
            seen["closed"] = value
            return True
        return False

    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=scenario, exchange=exchange) as venue:
        config = live_config(venue, workdir, KEY, SECRET, ["BTC/USDT:USDT"], extra)
        log = run_trade(config, workdir, sample_datadir, "RobustRehearsalStrategy", until=watch, timeout=180)
    if not (workdir / "trades.sqlite").exists():
        pytest.fail(f"freqtrade did not start:\n{log[-3000:]}")
    return {
        "exchange": exchange,
        "workdir": workdir,
        "seen": seen,
        "log": log,
        "db": freqtrade_db(workdir),
        "events": plugin_events(workdir),
    }


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "robust_plugin.report.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_rest_api_shows_the_plugins_state_of_a_live_trade(live_run):
    seen, log = live_run["seen"], live_run["log"]
    [trade] = live_run["db"]["trades"]
    assert seen["open"] is not None, f"never saw the open trade aged through the REST API\n{log[-3000:]}"
    assert seen["closed"] is not None, f"never saw the closed trade's state through the REST API\n{log[-3000:]}"

    aged = seen["open"]["aged"]
    assert aged["phase"] in ("grace", "progressive", "capped")
    assert isinstance(aged["accepted_loss_pct"], float) and aged["accepted_loss_pct"] >= 0
    if aged["phase"] == "grace":  # breakeven after both fees: above the entry for a long
        assert aged["accepted_loss_pct"] == 0 and aged["target"] > trade["open_rate"]
    else:
        assert aged["target"] < trade["open_rate"]
    next_step = datetime.fromisoformat(aged["next_step_at"])
    assert next_step > datetime.fromisoformat(aged["since"])
    settlement = seen["open"]["settlement"]
    assert settlement["outcome"] == "verified" and 0 <= settlement["lag_s"] < 30

    assert trade["is_open"] == 0 and trade["exit_reason"].startswith("aged_"), trade
    closing = seen["closed"]["closing"]
    attempts = closing["attempts"]
    assert closing["attempt_count"] == len(attempts) >= 2
    lost = DISCONNECT_CLASS[live_run["exchange"]]
    assert attempts[0]["outcome"] == "failed" and attempts[0]["failure_class"] == lost, attempts
    assert attempts[-1]["outcome"] == "filled" and attempts[-1]["client_order_id"].endswith(f"x{len(attempts)}")
    assert seen["closed"]["settlement"]["outcome"] == "verified"
    assert isinstance(seen["closed"]["settlement"]["lag_s"], float)
    # What the API showed is what the plugin recorded in its own store.
    failed = [e for e in live_run["events"] if e["kind"] == "close_failed"]
    assert [e["data"]["failure_class"] for e in failed] == [lost]


def test_status_events_and_alerts_print_tables_of_the_live_run(live_run, capsys):
    workdir, seen = live_run["workdir"], live_run["seen"]
    status = seen["status"]
    assert status is not None and status.returncode == 0, status
    assert "open trades (1)" in status.stdout and "BTC/USDT:USDT" in status.stdout
    assert seen["open"]["aged"]["phase"] in status.stdout and "verified after" in status.stdout

    store = str(workdir / "robust_plugin.sqlite")
    assert main(["events", "--store", store, "--trade", "1"]) == 0
    events = capsys.readouterr().out
    recorded = {e["kind"] for e in live_run["events"] if e["trade_id"] == 1}
    assert {"aged_stage", "settlement_verified", "close_failed", "close_filled"} <= recorded
    for kind in recorded:
        assert kind in events
    assert main(["alerts", "--store", store]) == 0
    alerts = capsys.readouterr().out
    [alert] = [e for e in live_run["events"] if e["kind"] == "alert" and e["trade_id"] == 1][:1]
    assert "robust_plugin alerts" in alerts and alert["data"]["subject"] in alerts


def test_report_of_the_live_run_shows_settlement_lags_and_close_attempts(live_run, tmp_path):
    workdir = live_run["workdir"]
    page = tmp_path / "live.html"
    done = run_cli(
        "report", "--db", str(workdir / "trades.sqlite"), "--config", str(workdir / "config.json"), "--out", str(page)
    )
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    closing = live_run["seen"]["closed"]["closing"]
    for attempt in closing["attempts"]:
        assert attempt["client_order_id"] in text
    assert DISCONNECT_CLASS[live_run["exchange"]] in text and "Entry settlement" in text and "verified" in text
    assert "Aged trades (1)" in text and text.count('class="plotly-graph-div"') == 1
    # The charted staircase holds every target the plugin recorded live (same policy, same price grid).
    inputs = live_inputs(
        str(workdir / "trades.sqlite"),
        store=None,
        config_path=workdir / "config.json",
        datadir=None,
        now=datetime.now(UTC),
    )
    [trade] = aged_trades(inputs)
    charted = [step.price for step in trade_steps(inputs, trade) if step.price is not None]
    recorded = [e["data"]["target"] for e in live_run["events"] if e["kind"] == "aged_stage"]
    assert recorded and all(any(math.isclose(r, c, rel_tol=1e-9) for c in charted) for r in recorded), (
        recorded,
        charted,
    )
