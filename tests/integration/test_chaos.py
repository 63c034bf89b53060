"""Chaos rehearsals of freqtrade in live mode against the venue: a 3-minute run with a fixed seed keeps
every invariant under every fault kind and two SIGKILL restarts; a short run with the order guard
turned off on purpose fails on the row that guard protects (the checker can fail)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from robust_plugin.tools.backtest_env import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.rehearsal]

LOST_ENTRY_RESPONSES = """seed = 5

[[faults]]
kind = "lost_response"
endpoint = "order.new"
reduce_only = false
probability = 0.3
"""


def _chaos(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "robust_plugin.tools.chaos", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _row(output: str, name: str) -> str:
    lines = [line for line in output.splitlines() if name in line]
    assert lines, f"no row {name!r} in:\n{output[-4000:]}"
    return lines[0]


def test_short_chaos_rehearsal_keeps_every_invariant():
    result = _chaos("--minutes", "3", "--seed", "7")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "all invariants hold" in output
    assert "SIGKILL in the middle of a close" in output and "SIGKILL between an entry fill" in output
    for kind in ("lost_response", "rate_limit", "server_error", "position_lag", "external"):
        assert kind in output, f"{kind} never fired"
    for name in (
        "orphan positions at the end",
        "position-seconds without a stop",
        "closes started and then silent",
        "close orders executed twice",
        "executed orders freqtrade never recorded",
        "open trades without a position",
        "findings that deserve an alert",
        "events missing after restarts",
    ):
        assert _row(output, name).rstrip(" │").endswith("yes"), _row(output, name)
    closed = int(_row(output, "trades (closed / open)").split("│")[2].split("/")[0])
    assert closed >= 20, _row(output, "trades (closed / open)")


def test_chaos_with_the_order_guard_broken_fails_on_unrecorded_orders(tmp_path):
    scenario = tmp_path / "lost.toml"
    scenario.write_text(LOST_ENTRY_RESPONSES)
    result = _chaos("--minutes", "1.5", "--seed", "5", "--scenario", str(scenario), "--break", "order_guard")
    output = result.stdout + result.stderr
    assert "breaking order_guard on purpose" in output
    assert result.returncode == 1, output[-4000:]
    row = _row(output, "executed orders freqtrade never recorded")
    assert row.rstrip(" │").endswith("NO"), row
    assert (
        "invariants broken" in output
        and "executed orders freqtrade never recorded" in output.split("invariants broken")[1]
    )


def test_one_cell_of_the_configuration_matrix_keeps_every_invariant():
    """The stop-loss on the exchange, limit exits and add-on entries through adjust_trade_position:
    the configuration the default rehearsal does not run."""
    result = _chaos("--matrix", "stop=on,exit=limit,addon=on", "--minutes", "2", "--pairs", "6", "--seed", "11")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    [row] = [line for line in output.splitlines() if "stop=on,exit=limit,addon=on" in line and "│" in line]
    assert row.rstrip(" │").endswith("all hold"), row
    assert "1 of 1 cells hold every invariant" in output
