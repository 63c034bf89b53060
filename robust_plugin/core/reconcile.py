"""Reconciliation: freqtrade's open trades against the exchange's positions, as named findings.

``orphan``: a position with no open trade; ``ghost``: an open trade with no position (a trade
whose entry order has not filled yet expects none: a resting limit entry is not a ghost);
``size_mismatch``: both, with other sizes or sides; ``unprotected``: a position whose stop order
on the exchange has been missing for too long. Findings are deduplicated by fingerprint: the same
finding is reported once, until it changes or goes away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum


class FindingKind(str, Enum):
    ORPHAN = "orphan"
    GHOST = "ghost"
    SIZE_MISMATCH = "size_mismatch"
    UNPROTECTED = "unprotected"


SEVERITY = {
    FindingKind.ORPHAN: "critical",
    FindingKind.UNPROTECTED: "critical",
    FindingKind.GHOST: "warning",
    FindingKind.SIZE_MISMATCH: "warning",
}


class Scope(str, Enum):
    """Which of the account's positions this bot answers for."""

    ACCOUNT = "account"  # every position on the account (one bot per account)
    PAIRS = "pairs"  # only the pairs this bot trades (its whitelist) and the pairs of its trades


@dataclass(frozen=True)
class TradeView:
    trade_id: int
    pair: str
    side: str
    amount: float
    opened_at: float
    settling: bool = False
    stoploss_on_exchange: bool = False
    stop_order_live: bool = True
    entered: bool = True  # an entry order of the trade has filled, even in part


@dataclass(frozen=True)
class PositionView:
    pair: str
    side: str
    amount: float


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    pair: str
    trade_id: int | None
    trade_amount: float | None
    exchange_amount: float | None
    detail: str

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]

    @property
    def fingerprint(self) -> str:
        def r(x):
            return "-" if x is None else f"{x:.8g}"

        return f"{self.kind.value}|{self.pair}|{self.trade_id}|{r(self.trade_amount)}|{r(self.exchange_amount)}"


def track_missing_stops(trades: Iterable[TradeView], previous: Mapping[int, float], now: float) -> dict[int, float]:
    """Since when each trade has lacked a live stop order (forgotten once the stop is back)."""
    return {
        t.trade_id: previous.get(t.trade_id, now) for t in trades if t.stoploss_on_exchange and not t.stop_order_live
    }


def reconcile(
    trades: Iterable[TradeView],
    positions: Iterable[PositionView],
    now: float,
    size_tolerance_ratio: float = 0.001,
    unprotected_after_s: float = 60.0,
    stop_missing_since: Mapping[int, float] | None = None,
    grace_s: float = 30.0,
) -> list[Finding]:
    trades = list(trades)
    by_pair: dict[str, list[TradeView]] = {}
    for trade in trades:
        by_pair.setdefault(trade.pair, []).append(trade)
    held = {p.pair: p for p in positions if p.amount > 0}
    findings: list[Finding] = []
    for pair, position in sorted(held.items()):
        if pair not in by_pair:
            findings.append(
                Finding(
                    FindingKind.ORPHAN,
                    pair,
                    None,
                    None,
                    position.amount,
                    f"{position.side} {position.amount} on the exchange, no open trade",
                )
            )
    for pair, group in sorted(by_pair.items()):
        settled = [t for t in group if not t.settling and now - t.opened_at >= grace_s]
        if not settled:
            continue
        position = held.get(pair)
        total = sum(t.amount for t in settled)
        ids = settled[0].trade_id if len(settled) == 1 else None
        if position is None:
            if not any(t.entered for t in settled):  # entry orders still open: no position expected yet
                continue
            findings.append(
                Finding(FindingKind.GHOST, pair, ids, total, 0.0, "open trade, no position on the exchange")
            )
            continue
        side_ok = all(t.side == position.side for t in settled)
        if not side_ok or abs(position.amount - total) > total * size_tolerance_ratio:
            detail = f"trade {'/'.join(t.side for t in settled)} {total}, exchange {position.side} {position.amount}"
            findings.append(Finding(FindingKind.SIZE_MISMATCH, pair, ids, total, position.amount, detail))
    missing = stop_missing_since or {}
    for trade in trades:
        since = missing.get(trade.trade_id)
        if (
            trade.stoploss_on_exchange
            and not trade.stop_order_live
            and since is not None
            and now - since >= unprotected_after_s
        ):
            findings.append(
                Finding(
                    FindingKind.UNPROTECTED,
                    trade.pair,
                    trade.trade_id,
                    trade.amount,
                    held[trade.pair].amount if trade.pair in held else None,
                    f"no stop order on the exchange for {now - since:.0f}s",
                )
            )
    return findings


@dataclass(frozen=True)
class FindingDelta:
    new: tuple[Finding, ...]
    resolved: tuple[str, ...]


def diff_findings(previous_fingerprints: Iterable[str], findings: Iterable[Finding]) -> FindingDelta:
    previous = set(previous_fingerprints)
    findings = list(findings)
    current = {f.fingerprint for f in findings}
    return FindingDelta(tuple(f for f in findings if f.fingerprint not in previous), tuple(sorted(previous - current)))


def in_scope(
    positions: Iterable[PositionView],
    scope: Scope,
    bot_pairs: Iterable[str],
    trade_pairs: Iterable[str],
    ignore_pairs: Iterable[str] = (),
) -> list[PositionView]:
    """The positions this bot answers for. A pair one of its trades is on is always its business; a
    pair on the ignore list (traded by hand or by another bot) never is, unless a trade of this bot
    is on it; with ``Scope.PAIRS`` only the pairs it trades are."""
    ours, ignored = set(trade_pairs), set(ignore_pairs)
    allowed = set(bot_pairs) | ours
    return [
        p
        for p in positions
        if p.pair in ours or (p.pair not in ignored and (scope is Scope.ACCOUNT or p.pair in allowed))
    ]


def fingerprint_of(kind: str, pair: str | None, trade_id: int | None, data: Mapping) -> str:
    """The fingerprint of a finding recorded as an event (kind without the ``finding_`` prefix)."""
    try:
        return Finding(
            FindingKind(kind), pair or "", trade_id, data.get("trade_amount"), data.get("exchange_amount"), ""
        ).fingerprint
    except (ValueError, TypeError):
        return f"{kind}|{pair}|{trade_id}"


def open_fingerprints(records: Iterable[tuple[str | None, str | None, int | None, Mapping]]) -> set[str]:
    """The findings still open after a history of recorded findings and resolutions (``(finding kind
    or None for a resolution, pair, trade id, data)``, oldest first): what was already reported, so a
    restart does not report it again."""
    open_: set[str] = set()
    for kind, pair, trade_id, data in records:
        if kind is None:
            open_.discard(str(data.get("fingerprint", "")))
        else:
            open_.add(fingerprint_of(kind, pair, trade_id, data))
    return open_
