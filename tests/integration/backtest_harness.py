"""Runs freqtrade's real ``Backtesting`` against the loopback venue, in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from freqtrade.configuration import Configuration
from freqtrade.enums import RunMode
from freqtrade.optimize.backtesting import Backtesting

from robust_plugin.tools.backtest_env import EXAMPLE_CONFIG, ROOT, deep_merge, venue_exchange_config
from robust_plugin.venue.process import RunningVenue

STRATEGIES = ROOT / "user_data" / "strategies"


def backtest_config(
    tmp: Path,
    venue: RunningVenue,
    datadir: Path,
    *,
    strategy: str,
    plugin: dict[str, Any] | None,
    pairs: list[str] | None = None,
    timerange: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A freqtrade backtest config: config.example.json, the venue, and the given plugin section
    (``None`` removes the section)."""
    base = json.loads(EXAMPLE_CONFIG.read_text())
    if plugin is None:
        base.pop("robust_plugin")
    else:
        base["robust_plugin"] = plugin
    config = deep_merge(base, venue_exchange_config(venue))
    if pairs:
        config["exchange"]["pair_whitelist"] = pairs
    config = deep_merge(config, extra or {})
    path = tmp / f"config-{strategy}.json"
    path.write_text(json.dumps(config))
    (tmp / "user_data").mkdir(exist_ok=True)
    args = {
        "config": [str(path)],
        "user_data_dir": str(tmp / "user_data"),
        "datadir": str(datadir),
        "strategy": strategy,
        "strategy_path": str(STRATEGIES),
        "export": "none",
        "cache": "none",
    }
    if timerange:
        args["timerange"] = timerange
    return Configuration(args, RunMode.BACKTEST).get_config()


def run_backtest(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the backtest and return freqtrade's result trades."""
    return list(backtest_results(config)["trades"])


def backtest_results(config: dict[str, Any]) -> dict[str, Any]:
    """Run the backtest and return freqtrade's results of the strategy (trades, exit timeouts ...)."""
    backtesting = Backtesting(config)
    try:
        backtesting.start()
        return backtesting.results["strategy"][config["strategy"]]
    finally:
        Backtesting.cleanup()
