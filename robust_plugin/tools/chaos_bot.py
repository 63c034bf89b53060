"""The chaos rehearsal's freqtrade process (restartable, killable) and what it leaves behind: the
plugin's events read while it runs, freqtrade's trades and orders."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from robust_plugin.tools import chaos_check as cc
from robust_plugin.tools.backtest_env import ROOT, trade_command
from robust_plugin.venue.process import stop_process

READY_LINE = "Bot heartbeat"  # freqtrade's worker logs it after the first loop of a (re)started bot


def _ms(value: str | None) -> int | None:
    """A datetime column as SQLite stores it (naive UTC) -> epoch ms."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


class Journal:
    """The plugin's events, read incrementally from its store while the bot runs."""

    def __init__(self, path: Path):
        self.path = path
        self.events: list[cc.Event] = []
        self._last_id = 0

    def read(self) -> list[cc.Event]:
        if not self.path.exists():
            return self.events
        try:
            with sqlite3.connect(self.path, timeout=5) as db:
                rows = db.execute(
                    "select id, kind, trade_id, pair, created_at, data from robust_events where id > ? order by id",
                    (self._last_id,),
                ).fetchall()
        except sqlite3.Error:
            return self.events
        for row_id, kind, trade_id, pair, created, data in rows:
            self._last_id = row_id
            self.events.append(cc.Event(kind, trade_id, pair, _ms(created) or 0, json.loads(data or "{}")))
        return self.events

    def count(self, *kinds: str) -> int:
        return sum(e.kind in kinds for e in self.events)


def open_trades(db_path: Path) -> tuple[tuple[int, str, bool], ...] | None:
    try:
        with sqlite3.connect(db_path, timeout=5) as db:
            return tuple(
                (i, p, bool(s)) for i, p, s in db.execute("select id, pair, is_short from trades where is_open = 1")
            )
    except sqlite3.Error:
        return None


def database(db_path: Path) -> tuple[tuple[cc.Trade, ...], tuple[cc.Order, ...]]:
    with sqlite3.connect(db_path, timeout=5) as db:
        db.row_factory = sqlite3.Row
        trades = [dict(r) for r in db.execute("select * from trades")]
        orders = [dict(r) for r in db.execute("select * from orders")]
    entry_side = {t["id"]: "sell" if t["is_short"] else "buy" for t in trades}
    return (
        tuple(cc.Trade(t["id"], t["pair"], bool(t["is_short"]), bool(t["is_open"])) for t in trades),
        tuple(
            cc.Order(
                o["ft_trade_id"],
                str(o["order_id"]),
                o["ft_order_side"] == entry_side.get(o["ft_trade_id"]),
                float(o["filled"] or 0),
                _ms(o.get("order_filled_date")),
            )
            for o in orders
        ),
    )


class Bot:
    """One ``freqtrade trade`` process at a time, restartable."""

    def __init__(self, config: Path, workdir: Path, datadir: Path, strategy: str):
        self.command = trade_command(config, workdir, datadir, strategy, ROOT / "user_data" / "strategies")
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.workdir / f"freqtrade-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        self.proc = subprocess.Popen(self.command, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def running(self) -> bool:
        """Started and trading (its worker said so)."""
        try:
            return READY_LINE in self.log.read_text(errors="replace")
        except OSError:
            return False

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, signal.SIGINT, timeout=30)  # freqtrade's own clean shutdown first
