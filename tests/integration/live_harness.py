"""Run ``freqtrade trade`` in live mode (not dry-run) against a venue process."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from robust_plugin.tools.backtest_env import ROOT, deep_merge, trade_command, venue_exchange_config
from robust_plugin.venue.process import RunningVenue, stop_process

STRATEGIES = Path(__file__).parent / "strategies"


def live_config(
    venue: RunningVenue, workdir: Path, key: str, secret: str, pairs: list[str], extra: dict | None = None
) -> Path:
    config = {
        "max_open_trades": 1,
        "stake_currency": "USDT",
        "stake_amount": 100,
        "dry_run": False,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "timeframe": "5m",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True},
        "exchange": {"name": "binance", "key": key, "secret": secret, "pair_whitelist": pairs},
        "pairlists": [{"method": "StaticPairList"}],
        "internals": {"process_throttle_secs": 2},
        "initial_state": "running",
        "db_url": f"sqlite:///{workdir / 'trades.sqlite'}",
        "bot_name": "rehearsal",
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
    }
    config = deep_merge(deep_merge(config, venue_exchange_config(venue)), extra or {})
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def exchange_config(exchange: str) -> dict:
    """The ``exchange`` part of a live config for the venue's dialect (the venue serves no Bybit
    WebSocket stream, so freqtrade's are off there, as the chaos rehearsal runs it)."""
    return {"name": exchange, **({"enable_ws": False} if exchange != "binance" else {})}


# The class of the venue's "disconnect" fault as each dialect reports it: Binance answers -1001 "Internal
# error; unable to process your request", Bybit retCode 10016 "System error" (its server restarting).
DISCONNECT_CLASS = {"binance": "network", "bybit": "unavailable"}


def venue_state(venue: RunningVenue) -> dict:
    return venue.state()


def _command(config: Path, workdir: Path, datadir: Path, strategy: str) -> list[str]:
    return trade_command(config, workdir, datadir, strategy, STRATEGIES)


def run_trade(
    config: Path, workdir: Path, datadir: Path, strategy: str, until: Callable[[], bool], timeout: float = 150.0
) -> str:
    """Run ``freqtrade trade`` until ``until()`` holds (checked every second), then stop it; its log."""
    return run_trades([(config, workdir)], datadir, strategy, until, timeout)[0]


def run_trades(
    bots: list[tuple[Path, Path]], datadir: Path, strategy: str, until: Callable[[], bool], timeout: float = 150.0
) -> list[str]:
    """Run one ``freqtrade trade`` per ``(config, workdir)`` at once (bots sharing an account) until
    ``until()`` holds, then stop them all; their logs."""
    logs = [workdir / "freqtrade.log" for _, workdir in bots]
    outs = [log.open("w") for log in logs]
    procs = [
        subprocess.Popen(_command(config, workdir, datadir, strategy), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        for (config, workdir), out in zip(bots, outs)
    ]
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and all(p.poll() is None for p in procs) and not until():
            time.sleep(1)
    finally:
        for proc in procs:
            stop_process(proc, signal.SIGINT, timeout=30)  # freqtrade's own clean shutdown first
        for out in outs:
            out.close()
    return [log.read_text() for log in logs]


def freqtrade_db(workdir: Path) -> dict[str, list[dict]]:
    with sqlite3.connect(workdir / "trades.sqlite") as db:
        db.row_factory = sqlite3.Row
        return {table: [dict(row) for row in db.execute(f"select * from {table}")] for table in ("trades", "orders")}


def stops_done(state: dict) -> bool:
    """No stop order of the venue's ``state`` is still open: freqtrade cancels its stop on the exchange
    after it has recorded the exit, so a test that asserts the cancel waits for it too."""
    return all(stop["algo_status"] != "NEW" for stop in state["algo_orders"])


def all_trades_closed(workdir: Path, at_least: int = 1) -> bool:
    """freqtrade's database holds ``at_least`` trades and none is open (False while it is being written)."""
    path = workdir / "trades.sqlite"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path, timeout=1) as db:
            total, open_ = db.execute("select count(*), coalesce(sum(is_open), 0) from trades").fetchone()
    except sqlite3.Error:
        return False
    return total >= at_least and open_ == 0


def plugin_events(workdir: Path, kind: str | None = None) -> list[dict]:
    path = workdir / "robust_plugin.sqlite"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path) as db:
            query = "select kind, severity, trade_id, created_at, data from robust_events order by id"
            rows = db.execute(query).fetchall()
    except sqlite3.OperationalError:  # the bot has created the file but not yet its tables
        return []
    events = [
        {"kind": k, "severity": s, "trade_id": t, "created_at": c, "data": json.loads(d)} for k, s, t, c, d in rows
    ]
    return [e for e in events if kind is None or e["kind"] == kind]
