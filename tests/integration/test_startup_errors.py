"""A bad robust_plugin section stops `freqtrade backtesting` with one clear message, no traceback."""

from __future__ import annotations

import os
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
    return _run(command)


def _run(command: list[str]) -> subprocess.CompletedProcess:
    wide = {**os.environ, "COLUMNS": "400"}  # freqtrade's console log wraps long lines at the terminal width
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, env=wide)


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


@pytest.mark.parametrize(
    "extra",
    [
        # no db_url: freqtrade's defaults (tradesv3.sqlite live, tradesv3.dryrun.sqlite dry-run)
        {"robust_plugin": {"store": {"url": "sqlite:///tradesv3.sqlite"}}},
        {"robust_plugin": {"store": {"url": "sqlite:///./user_data/../tradesv3.dryrun.sqlite"}}},
        # db_url given, spelt another way (relative to the working directory, as freqtrade resolves it)
        {"db_url": "sqlite:///bot-a.sqlite", "robust_plugin": {"store": {"url": f"sqlite:///{ROOT / 'bot-a.sqlite'}"}}},
    ],
)
def test_a_store_at_freqtrades_database_is_refused_in_backtesting_too(tmp_path, sample_venue, sample_datadir, extra):
    result = _freqtrade_backtest(tmp_path, sample_venue, sample_datadir, extra)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "robust_plugin.store.url" in output and "is freqtrade's own database" in output, output
    assert "Traceback" not in output, output
    assert not (ROOT / "bot-a.sqlite").exists()


def _freqtrade_dry_run(tmp_path, venue, datadir, extra) -> subprocess.CompletedProcess:
    """``freqtrade trade`` in dry-run; these configs stop it at start-up."""
    override = write_override(tmp_path / "override.json", venue, extra)
    command = [
        sys.executable,
        "-m",
        "freqtrade",
        "trade",
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
    ]
    return _run(command)


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " - ERROR - " in line]


def test_dry_run_refuses_a_store_that_is_freqtrades_database_or_not_a_database(tmp_path, sample_venue, sample_datadir):
    import sqlite3

    trades = tmp_path / "trades.sqlite"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    for store, words in (
        (f"sqlite:///{trades}", "is freqtrade's own database"),
        (f"sqlite:///{notes}", "not a SQLite database"),
    ):
        extra = {"db_url": f"sqlite:///{trades}", "robust_plugin": {"store": {"url": store}}}
        result = _freqtrade_dry_run(tmp_path, sample_venue, sample_datadir, extra)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        [error] = _error_lines(output)
        assert "robust_plugin.store.url" in error and words in error, output
        assert store.removeprefix("sqlite:///") in error, error
        assert "Traceback" not in output, output
    assert notes.read_text() == "not a database\n"
    if trades.exists():
        with sqlite3.connect(trades) as db:
            tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        assert not {t for t in tables if t.startswith("robust")}, tables
