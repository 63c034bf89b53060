"""A trader's own strategy backtested offline: ``python -m robust_plugin.tools.offline_backtest``
starts the venue for freqtrade's markets and runs ``freqtrade backtesting`` with the trader's own
config, user_data directory and strategy (none of them the repository's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from robust_plugin.tools.backtest_env import EXAMPLE_CONFIG, ROOT

pytestmark = pytest.mark.integration

STRATEGY = textwrap.dedent(
    """
    from freqtrade.strategy import IStrategy
    from robust_plugin import RobustMixin


    class MyOwnStrategy(RobustMixin, IStrategy):
        INTERFACE_VERSION = 3
        timeframe = "5m"
        minimal_roi = {"0": 0.03}
        stoploss = -0.25
        startup_candle_count = 48

        def populate_indicators(self, dataframe, metadata):
            dataframe["mean"] = dataframe["close"].rolling(48).mean()
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):
            dataframe.loc[dataframe["close"] < dataframe["mean"] * 0.985, "enter_long"] = 1
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            return dataframe
    """
)


def trader_setup(tmp_path: Path, sample_datadir: Path, exchange: str = "binance", data: bool = True) -> Path:
    """A trader's folder: user_data/config.json, user_data/strategies/, downloaded candles."""
    user_data = tmp_path / "user_data"
    (user_data / "strategies").mkdir(parents=True)
    (user_data / "strategies" / "my_own_strategy.py").write_text(STRATEGY)
    config = json.loads(EXAMPLE_CONFIG.read_text())
    config.pop("$schema")
    config["exchange"]["name"] = exchange
    config["robust_plugin"]["aged"]["max_age"] = "6h"
    (user_data / "config.json").write_text(json.dumps(config))
    if data:
        shutil.copytree(sample_datadir, user_data / "data" / exchange)
    return tmp_path


def offline(folder: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "robust_plugin.tools.offline_backtest", *args]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env["COLUMNS"] = "400"  # freqtrade's rich log handler wraps at the console width (80 without a terminal)
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_traders_own_strategy_backtests_offline_in_one_command(tmp_path, sample_datadir, exchange):
    """On Binance's markets and on Bybit's (the venue's Bybit dialect lists them): aged exits run the
    same on both."""
    folder = trader_setup(tmp_path, sample_datadir, exchange)
    result = offline(
        folder,
        "--config",
        "user_data/config.json",
        "--userdir",
        "user_data",
        "--strategy",
        "MyOwnStrategy",
        "--timerange",
        "20260810-20260820",
        "--export",
        "none",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "markets from the local venue at https://127.0.0.1:" in output
    assert "Could not load markets" not in output
    assert "robust_plugin: aged exits on" in output  # the plugin ran inside the trader's strategy
    assert "MyOwnStrategy" in output and "BACKTESTING REPORT" in output
    assert "aged_" in output  # aged exits in freqtrade's report


def test_an_exchange_the_venue_does_not_speak_is_refused_with_a_message(tmp_path, sample_datadir):
    folder = trader_setup(tmp_path, sample_datadir, exchange="okx")
    (folder / "user_data" / "config.json").rename(folder / "config.json")  # freqtrade's default config file
    result = offline(folder, "--userdir", "user_data", "--strategy", "X")
    assert result.returncode == 2
    assert (
        "the local venue serves Binance and Bybit markets only; the configuration uses exchange 'okx'" in result.stderr
    )


def test_no_downloaded_candles_is_refused_with_a_message(tmp_path, sample_datadir):
    folder = trader_setup(tmp_path, sample_datadir, data=False)
    result = offline(folder, "--config", "user_data/config.json", "--userdir", "user_data", "--strategy", "X")
    assert result.returncode == 2
    assert "no candles in feather format in" in result.stderr and "download-data" in result.stderr
