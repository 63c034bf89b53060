"""A short chaos rehearsal (3 minutes, fixed seed): the invariants hold under every fault kind and
two SIGKILL restarts of freqtrade in live mode against the venue."""

from __future__ import annotations

import subprocess
import sys

import pytest

from robust_plugin.tools.backtest_env import ROOT

pytestmark = pytest.mark.integration


def test_short_chaos_rehearsal_keeps_every_invariant():
    result = subprocess.run([sys.executable, "-m", "robust_plugin.tools.chaos", "--minutes", "3", "--seed", "7"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "all invariants hold" in output
    assert "SIGKILL in the middle of a close" in output and "SIGKILL between an entry fill" in output
    for kind in ("lost_response", "rate_limit", "server_error", "position_lag", "external"):
        assert kind in output, f"{kind} never fired"
