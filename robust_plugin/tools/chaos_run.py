"""What a chaos rehearsal recorded, as plain data for its checker: the venue's ground truth, freqtrade's
trades and orders, the plugin's events, the runner's samples and restarts, and the position timelines
and up-time arithmetic the checks share (pure: no I/O, no clock).

Times are epoch milliseconds throughout. Time while freqtrade is down (from a SIGKILL until the
restarted bot runs its loop) counts towards no duration: nothing can report anything then.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The plugin's configured limits, and the slack of a live loop (loops, requests, sampling)."""

    reconcile_interval_s: float
    reconcile_grace_s: float
    unprotected_after_s: float
    settlement_deadline_s: float
    alert_min_interval_s: float
    close_backoff_max_s: float = 300.0
    stops_on_exchange: bool = True  # freqtrade's stoploss_on_exchange: a position must have a stop order
    slack_s: float = 10.0

    @property
    def ghost_limit_ms(self) -> int:
        """An open trade without a position this long must have been reported."""
        return int((self.reconcile_interval_s + self.reconcile_grace_s + self.slack_s) * 1000)

    @property
    def unprotected_limit_ms(self) -> int:
        """A position without a stop order this long must have been reported: reconciliation leaves trades
        younger than its grace to settlement, then reports a stop missing for ``unprotected_after``
        at its next run."""
        return int(
            (self.reconcile_grace_s + self.unprotected_after_s + self.reconcile_interval_s + self.slack_s) * 1000
        )

    @property
    def stall_limit_ms(self) -> int:
        """A close that has started shows an attempt, a failure or an alert at least this often."""
        return int((self.close_backoff_max_s + 3 * self.slack_s) * 1000)


@dataclass(frozen=True)
class Trade:
    id: int
    pair: str
    is_short: bool
    is_open: bool


@dataclass(frozen=True)
class Order:
    """One row of freqtrade's orders table."""

    trade_id: int
    exchange_id: str
    entry: bool  # the trade's entry side
    filled: float
    filled_ms: int | None


@dataclass(frozen=True)
class Event:
    kind: str
    trade_id: int | None
    pair: str | None
    at_ms: int
    data: dict


@dataclass(frozen=True)
class Sample:
    """freqtrade's open trades as the runner saw them at one moment: (trade id, pair, is_short)."""

    at_ms: int
    open_trades: tuple[tuple[int, str, bool], ...]


@dataclass(frozen=True)
class Restart:
    kind: str  # "close" (killed in the middle of a close) or "settlement" (between entry fill and verification)
    killed_ms: int
    ready_ms: int  # the restarted bot runs its loop again


@dataclass(frozen=True)
class Run:
    truth: dict  # GET /_venue/state at the end
    trades: tuple[Trade, ...]
    orders: tuple[Order, ...]
    events: tuple[Event, ...]
    samples: tuple[Sample, ...]
    restarts: tuple[Restart, ...]
    limits: Limits
    expected_restarts: tuple[str, ...] = ("close", "settlement")
    stopped_ms: int | None = None  # when the runner stopped freqtrade at the end (SIGINT)
    kill_window_ms: int = (
        5000  # an order sent this shortly before a SIGKILL or the stop may die unrecorded with the bot
    )


@dataclass(frozen=True)
class Row:
    check: str
    value: str
    ok: bool | None = None  # None: a figure, not an invariant


@dataclass(frozen=True)
class Episode:
    key: str  # a symbol, or a trade id
    pair: str
    start_ms: int
    end_ms: int
    up_ms: int  # of which freqtrade was running


def symbol_of(pair: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    base, rest = pair.split("/", 1)
    return base + rest.split(":", 1)[0]


def pair_of(symbol: str, quote: str = "USDT") -> str:
    return f"{symbol[: -len(quote)]}/{quote}:{quote}"


class Timeline:
    """A symbol's signed position amount over time, from the venue's position history."""

    def __init__(self, rows: list[tuple[int, float]]):
        rows = sorted(rows, key=lambda r: r[0])  # stable: equal times keep their order
        self.times = [t for t, _ in rows]
        self.amounts = [a for _, a in rows]

    def at(self, t_ms: int) -> float:
        i = bisect_right(self.times, t_ms)
        return self.amounts[i - 1] if i else 0.0

    def segments(self, end_ms: int) -> list[tuple[int, int, float]]:
        """(start, end, amount) pieces of constant amount up to ``end_ms``."""
        out = []
        for i, (t, amount) in enumerate(zip(self.times, self.amounts, strict=True)):
            nxt = self.times[i + 1] if i + 1 < len(self.times) else end_ms
            if nxt > t:
                out.append((t, min(nxt, end_ms), amount))
        return out


def timelines(truth: dict) -> dict[str, Timeline]:
    rows: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in truth.get("position_history", []):
        rows[row["symbol"]].append((int(row["time"]), float(row["amount"])))
    return {symbol: Timeline(r) for symbol, r in rows.items()}


def _downtime(run: Run) -> list[tuple[int, int]]:
    return [(r.killed_ms, max(r.ready_ms, r.killed_ms)) for r in run.restarts]


def up_ms(start: int, end: int, downtime: list[tuple[int, int]]) -> int:
    """Milliseconds of [start, end) during which freqtrade was running."""
    down = sum(max(0, min(end, b) - max(start, a)) for a, b in downtime)
    return max(0, end - start - down)


def _subtract(interval: tuple[int, int], covers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of ``interval`` that no cover overlaps."""
    start, end = interval
    gaps, cursor = [], start
    for a, b in sorted(covers):
        if b <= cursor or a >= end:
            continue
        if a > cursor:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps
