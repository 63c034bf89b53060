"""A bad robust_plugin section stops `freqtrade backtesting` with one clear message, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from robust_plugin.tools.backtest_env import EXAMPLE_CONFIG, ROOT, write_override
from tests.integration.backtest_harness import STRATEGIES

pytestmark = pytest.mark.integration


def _freqtrade_backtest(tmp_path, venue, datadir, extra) -> subprocess.CompletedProcess:
    override = write_override(tmp_path / "override.json", venue, extra)
    command = [
        sys.executable,
        "-m",
        "freqtrade",
        "backtesting",
        "--config",
        str(EXAMPLE_CONFIG),
        "--config",
        str(override),
        "--userdir",
        str(tmp_path),
        "--datadir",
        str(datadir),
        "--strategy-path",
        str(STRATEGIES),
        "--strategy",
        "SampleAgedStrategy",
        "--export",
        "none",
        "--timerange",
        "20260820-20260821",
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize(
    ("aged", "expected"),
    [
        ({"max_age": "-2h"}, "robust_plugin.aged.max_age: a duration cannot be negative"),
        ({"grace_period": 6}, "robust_plugin.aged.grace_period: expected a duration string"),
        ({"loss_step_pct": "half"}, "robust_plugin.aged.loss_step_pct: expected a number"),
        ({"enabled": "sure"}, "robust_plugin.aged.enabled: Input should be a valid boolean"),
        ({"max_loss_pct": 0.2, "loss_step_pct": 0.5}, "robust_plugin.aged.max_loss_pct: the cap"),
        ({"maxage": "1h"}, "robust_plugin.aged.maxage: unknown key"),
        ({"step_interval": "1 hour"}, "robust_plugin.aged.step_interval: expected a duration"),
        ({"force_close_after": "soon"}, "robust_plugin.aged.force_close_after: expected a duration"),
        ({"max_age": "2h", "force_close_after": "1h"}, "robust_plugin.aged.force_close_after: is shorter"),
    ],
)
def test_bad_config_stops_startup_with_the_key_path(tmp_path, sample_venue, sample_datadir, aged, expected):
    result = _freqtrade_backtest(tmp_path, sample_venue, sample_datadir, {"robust_plugin": {"aged": aged}})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output
    assert "Traceback" not in output, output


def test_disabled_exit_signal_is_refused_because_the_policy_would_be_inert(tmp_path, sample_venue, sample_datadir):
    result = _freqtrade_backtest(tmp_path, sample_venue, sample_datadir, {"use_exit_signal": False})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "'use_exit_signal' is false" in output, output
    assert "Traceback" not in output, output
