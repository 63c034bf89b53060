"""An offline freqtrade backtest environment: the loopback venue for market metadata, plus config.

freqtrade loads markets from the exchange at start-up even for a backtest. Pointed at the venue
(``robust_plugin.venue``) through ``exchange.ccxt_config``, a Binance futures backtest needs nothing
from the internet. Used by the demo, the benchmarks, the chaos rehearsal and the integration tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from robust_plugin.venue.process import RunningVenue

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "config.example.json"


def venue_exchange_config(venue: RunningVenue) -> dict[str, Any]:
    """The ``exchange`` overrides that send every request of freqtrade's ccxt clients to ``venue``,
    over HTTPS with Binance's production error tables (``venue/ccxt_config.py``).
    ``exchange.ccxt_config`` reaches both of freqtrade's clients (sync and async); ``only_from_ccxt``
    keeps freqtrade's own downloader (``data.binance.vision``) off."""
    return {"exchange": {"only_from_ccxt": True, "ccxt_config": venue.ccxt_config()}}


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated recursively with ``extra`` (new dicts; inputs untouched)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def write_override(path: Path, venue: RunningVenue, extra: dict[str, Any] | None = None) -> Path:
    """Write a second config file (for ``--config``) pointing freqtrade at the venue."""
    override = deep_merge(venue_exchange_config(venue), extra or {})
    path.write_text(json.dumps(override, indent=2))
    return path


def freqtrade_log_config(path: Path) -> dict:
    """freqtrade's ``log_config`` that sends its log lines to ``path`` instead of the terminal, where
    they would bury the progress lines and the figures."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"standard": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(path), "formatter": "standard"}},
        "root": {"handlers": ["file"], "level": "INFO"},
    }


def trade_command(config: Path, workdir: Path, datadir: Path, strategy: str, strategy_path: Path) -> list[str]:
    """``freqtrade trade`` in this interpreter, with its config, user folder, candles and strategy."""
    return [
        sys.executable,
        "-m",
        "freqtrade",
        "trade",
        "--config",
        str(config),
        "--userdir",
        str(workdir),
        "--datadir",
        str(datadir),
        "--strategy-path",
        str(strategy_path),
        "--strategy",
        strategy,
    ]
