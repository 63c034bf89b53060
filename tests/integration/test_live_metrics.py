"""The Prometheus exporter during a live run: freqtrade in live mode against the venue with scripted
faults (a lost connection on the first close, a position-visibility lag, a position opened outside
the bot), /metrics scraped every second while it runs."""

from __future__ import annotations

import re
import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from robust_plugin.venue.process import run_venue
from tests.integration.live_harness import (
    DISCONNECT_CLASS,
    all_trades_closed,
    exchange_config,
    live_config,
    plugin_events,
    run_trade,
)

pytestmark = pytest.mark.integration
KEY, SECRET = "metrics-key", "metrics-secret"
SCENARIO = """
[[faults]]
kind = "disconnect"
endpoint = "order.new"
reduce_only = true
occurrences = [1]

[[faults]]
kind = "position_lag"
seconds = 3
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}  # not serving yet
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def values(samples: dict, name: str, **labels: str) -> list[float]:
    return [v for (n, lab), v in samples.items() if n == name and labels.items() <= dict(lab).items()]


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_every_metric_is_served_with_non_zero_values_during_a_live_run_with_faults(tmp_path, sample_datadir, exchange):
    port = free_port()
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    plugin = {
        "aged": {"max_age": "4s", "grace_period": "1h", "step_interval": "1h"},
        "closing": {"backoff_initial": "1s", "backoff_max": "4s"},
        "reconcile": {"interval": "3s"},
        "entry_guard": {"scope": "pair"},  # the orphan is on a pair this bot does not trade
        "metrics": {"enabled": True, "host": "127.0.0.1", "port": port},
    }
    extra = {"robust_plugin": plugin, "rehearsal_hold_seconds": 15, "exchange": exchange_config(exchange)}
    scrapes: list[dict] = []
    opened = []
    scenario = tmp_path / "scenario.toml"
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=scenario, exchange=exchange) as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)

        def seen(name: str, **labels: str) -> bool:
            return any(v > 0 for s in scrapes for v in values(s, name, **labels))

        def everything_seen() -> bool:
            samples = scrape(port)
            scrapes.append(samples)
            if samples and not opened:  # a position no trade covers: an orphan for reconciliation
                venue.call(
                    "POST",
                    "/_venue/external",
                    {"action": "open", "symbol": "ETHUSDT", "side": "SELL", "quantity": "0.05"},
                )
                opened.append(True)
            return (
                all_trades_closed(tmp_path)
                and seen("robust_plugin_close_attempts_total", outcome="failed")
                and seen("robust_plugin_close_attempts_total", outcome="filled")
                and seen("robust_plugin_findings_total")
                and seen("robust_plugin_alerts_total")
                and seen("robust_plugin_settlement_outcomes_total")
                and seen("robust_plugin_aged_trades")
            )

        log = run_trade(config, tmp_path, sample_datadir, "RobustRehearsalStrategy", until=everything_seen, timeout=110)
    assert any(scrapes), log[-3000:]
    last = scrapes[-1]
    pair = {"bot": "rehearsal", "exchange": exchange, "pair": "BTC/USDT:USDT"}

    lost = DISCONNECT_CLASS[exchange]
    failed = values(last, "robust_plugin_close_attempts_total", **pair, outcome="failed", failure_class=lost)
    assert failed == [1.0], log[-3000:]
    assert values(last, "robust_plugin_close_attempts_total", **pair, outcome="filled", failure_class="none") == [1.0]
    assert values(last, "robust_plugin_settlement_lag_seconds_count", **pair) == [1.0]
    assert values(last, "robust_plugin_settlement_lag_seconds_sum", **pair)[0] >= 2.5  # the 3 s visibility lag
    assert sum(values(last, "robust_plugin_settlement_outcomes_total", **pair)) == 1.0
    orphan = {**pair, "pair": "ETH/USDT:USDT", "kind": "orphan"}
    assert values(last, "robust_plugin_findings_total", **orphan) == [1.0]
    # the BTC position, still visible for 3 s after its close, is not an orphan
    assert sum(values(last, "robust_plugin_findings_total", kind="orphan")) == 1.0, log[-3000:]
    assert values(last, "robust_plugin_findings_open", **orphan) == [1.0]  # still there: nobody closed it
    assert values(last, "robust_plugin_alerts_total", **{**pair, "pair": "ETH/USDT:USDT"}, severity="critical") == [1.0]
    assert any(values(s, "robust_plugin_aged_trades", **pair, phase="grace") == [1.0] for s in scrapes)
    assert not values(last, "robust_plugin_aged_trades"), "the closed trade must leave the aged gauge"

    # the metrics count what the store recorded: one recorder feeds both
    events = plugin_events(tmp_path)
    assert len([e for e in events if e["kind"] == "close_failed"]) == 1
    assert len([e for e in events if e["kind"] == "alert"]) == sum(values(last, "robust_plugin_alerts_total"))
    assert [e["data"]["failure_class"] for e in events if e["kind"] == "close_failed"] == [lost]


def test_a_metrics_port_in_use_is_one_error_naming_the_key_and_the_bot_keeps_trading(tmp_path, sample_datadir):
    (tmp_path / "scenario.toml").write_text("")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        plugin = {"aged": {"enabled": False}, "metrics": {"enabled": True, "port": port}}
        extra = {"robust_plugin": plugin, "rehearsal_hold_seconds": 3}
        with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=tmp_path / "scenario.toml") as venue:
            config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"], extra)
            log = run_trade(
                config,
                tmp_path,
                sample_datadir,
                "RobustRehearsalStrategy",
                until=lambda: all_trades_closed(tmp_path),
                timeout=90,
            )
    records = [" ".join(r.split()) for r in re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:)", log)]  # the console wraps lines
    errors = [r for r in records if " - ERROR - " in r]
    assert len(errors) == 1 and "robust_plugin.metrics.port" in errors[0] and str(port) in errors[0], (
        errors or log[-3000:]
    )
    assert all_trades_closed(tmp_path), log[-3000:]
    kinds = [e["kind"] for e in plugin_events(tmp_path)]
    assert "close_attempt" in kinds and "close_filled" in kinds  # events still recorded
