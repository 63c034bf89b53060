"""Run ``freqtrade trade`` in live mode (not dry-run) against a venue process."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from robust_plugin.tools.backtest_env import ROOT, deep_merge, venue_exchange_config

STRATEGIES = Path(__file__).parent / "strategies"


def live_config(base_url: str, workdir: Path, key: str, secret: str, pairs: list[str], extra: dict | None = None) -> Path:
    config = {
        "max_open_trades": 1, "stake_currency": "USDT", "stake_amount": 100, "dry_run": False,
        "trading_mode": "futures", "margin_mode": "isolated", "timeframe": "5m",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True},
        "exchange": {"name": "binance", "key": key, "secret": secret, "pair_whitelist": pairs},
        "pairlists": [{"method": "StaticPairList"}],
        "internals": {"process_throttle_secs": 2},
        "initial_state": "running", "db_url": f"sqlite:///{workdir / 'trades.sqlite'}", "bot_name": "rehearsal",
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
    }  # fmt: skip
    config = deep_merge(deep_merge(config, venue_exchange_config(base_url)), extra or {})
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def venue_state(base_url: str) -> dict:
    with urllib.request.urlopen(base_url + "/_venue/state", timeout=10) as response:
        return json.loads(response.read())


def run_trade(config: Path, workdir: Path, datadir: Path, strategy: str, until: Callable[[], bool],
              timeout: float = 150.0) -> str:  # fmt: skip
    """Run ``freqtrade trade`` until ``until()`` holds (checked every second), then stop it; its log."""
    log = workdir / "freqtrade.log"
    command = [sys.executable, "-m", "freqtrade", "trade", "--config", str(config), "--userdir", str(workdir),
               "--datadir", str(datadir), "--strategy-path", str(STRATEGIES), "--strategy", strategy]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and proc.poll() is None and not until():
                time.sleep(1)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return log.read_text()


def freqtrade_db(workdir: Path) -> dict[str, list[dict]]:
    with sqlite3.connect(workdir / "trades.sqlite") as db:
        db.row_factory = sqlite3.Row
        return {table: [dict(row) for row in db.execute(f"select * from {table}")] for table in ("trades", "orders")}
