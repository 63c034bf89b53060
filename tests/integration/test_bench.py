"""``make bench``'s live-loop part runs end to end: real freqtrade (live mode) against the venue, with
and without the plugin, printing and writing its figures. Structure and request counts only: speed
is judged by the benchmark itself, never by a timed test."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from robust_plugin.tools.backtest_env import ROOT

pytestmark = pytest.mark.integration  # counts, not timings: it runs beside the other tests


@pytest.mark.parametrize(
    ("exchange", "positions"), [("binance", "GET /fapi/v3/positionRisk"), ("bybit", "GET /v5/position/list")]
)
def test_the_loop_bench_prints_and_writes_its_figures(tmp_path, exchange, positions):
    results = tmp_path / "bench" / "results.json"
    # With stop orders on the exchange (the default): reconciliation's stop check reads nothing itself.
    command = [
        sys.executable,
        "-m",
        "robust_plugin.tools.bench",
        "loop",
        "--quick",
        "--trades",
        "3",
        "--loops",
        "4",
        "--results",
        str(results),
        "--exchange",
        exchange,
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}  # freqtrade configures no logging under pytest
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    out = run.stdout
    assert f"live loop on {exchange}, 3 open trades, 4 loops" in out, out + run.stderr
    assert "plugin's callbacks per loop, p95 ms" in out
    assert "exchange requests per loop added by the plugin" in out
    assert "per-trade reads 0" in out
    # freqtrade's own log lines go to a file beside the results, not between the figures
    log = (results.parent / "freqtrade.log").read_text()
    assert "freqtrade.freqtradebot" in log and "robust_plugin" in log
    assert "freqtrade.freqtradebot" not in out + run.stderr

    figures = json.loads(results.read_text())["loop" if exchange == "binance" else f"loop_{exchange}"]
    assert figures["exchange"] == exchange
    plain, ours = figures["plain"], figures["plugin"]
    for run_ in (plain, ours):
        assert run_["trades_opened"] == run_["trades_open_after"] == 3  # the trades stayed open while measured
        assert run_["plugin_errors"] == 0
    assert ours["strategy"] == "SampleAgedStrategy" and plain["strategy"] == "SamplePlainStrategy"
    # the plugin reads positions (settlement of the 3 entries, reconciliation), in one batched read per loop
    assert isinstance(figures["added_requests"], int)
    assert figures["plugin_requests_per_loop_max"] == 1
    assert set(ours["plugin_requests_by_endpoint"]) == {positions}
    reads = ours["plugin_requests_by_endpoint"][positions]
    assert reads >= 1  # at least the first loop's settlement check
    # the venue saw exactly those reads more than in the plain run (other endpoints may differ by
    # freqtrade's own scheduled work, e.g. funding fees twice an hour)
    assert round(figures["added_requests_by_endpoint"][positions] * 4) == reads
    assert figures["plugin_per_trade_reads"] == 0 and figures["added_symbol_requests_per_loop"] == {}
    assert plain["plugin_requests_by_endpoint"] == {}  # freqtrade's defaults send nothing
    assert figures["plugin_ms_p95"] >= figures["plugin_ms_median"] > 0
    assert (results.parent / "history.jsonl").read_text().count("\n") == 1
