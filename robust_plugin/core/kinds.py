"""The plugin's named kinds: which side a position is on, how bad a finding is, what an event records.

Every event the plugin writes, every severity it gives and every side it compares is one of these
members; readers (metrics, the report, the chaos checker) match members, never string prefixes.
The members are ``str`` enums, so their values are what the store and the custom data hold.
"""

from __future__ import annotations

from enum import Enum


class Side(str, Enum):
    LONG = "long"
    SHORT = "short"

    @classmethod
    def of(cls, is_short: bool) -> Side:
        return cls.SHORT if is_short else cls.LONG

    @property
    def exit_order_side(self) -> str:
        """The order side that reduces a position on this side (``sell`` closes a long)."""
        return "sell" if self is Side.LONG else "buy"


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class EventKind(str, Enum):
    """What one row of the plugin's event store records."""

    # aged positions
    AGED_STAGE = "aged_stage"
    AGED_EXIT = "aged_exit"
    TRADE_CLOSED = "trade_closed"
    # closes
    CLOSE_ATTEMPT = "close_attempt"
    CLOSE_CHUNK = "close_chunk"
    CLOSE_PLACED = "close_placed"
    CLOSE_FAILED = "close_failed"
    CLOSE_FILLED = "close_filled"
    CLOSE_FOUND_AFTER_LOSS = "close_found_after_loss"
    CLOSE_UNRESOLVED = "close_unresolved"
    CLOSE_SKIPPED_GONE = "close_skipped_gone"
    CLOSE_DEFERRED = "close_deferred"
    CLOSE_ESCALATED = "close_escalated"
    CLOSE_STUCK = "close_stuck"
    CLOSE_HELD_SMALLER = "close_held_smaller"
    SIZE_MISMATCH = "size_mismatch"
    REDUCED_OUTSIDE = "reduced_outside"
    LIQUIDATION_EXIT = "liquidation_exit"
    CLOSED_OUTSIDE = "closed_outside"
    ORDER_FAILED = "order_failed"
    # settlement
    SETTLEMENT_STARTED = "settlement_started"
    SETTLEMENT_VERIFIED = "settlement_verified"
    SETTLEMENT_VERIFIED_LATE = "settlement_verified_late"
    SETTLEMENT_SIZE_MISMATCH = "settlement_size_mismatch"
    SETTLEMENT_CLOSED_IMMEDIATELY = "settlement_closed_immediately"
    SETTLEMENT_NEVER_FILLED = "settlement_never_filled"
    SETTLEMENT_CLOSED_BY_BOT = "settlement_closed_by_bot"
    SETTLEMENT_UNKNOWN = "settlement_unknown"
    # reconciliation
    FINDING_ORPHAN = "finding_orphan"
    FINDING_GHOST = "finding_ghost"
    FINDING_SIZE_MISMATCH = "finding_size_mismatch"
    FINDING_UNPROTECTED = "finding_unprotected"
    FINDING_RESOLVED = "finding_resolved"
    # the entry circuit breaker
    ENTRIES_HELD = "entries_held"
    ENTRIES_RESUMED = "entries_resumed"
    # alerts
    ALERT = "alert"

    @property
    def settlement_verdict(self) -> str | None:
        """The settlement outcome this event reports (``verified``, ``unknown`` ...), else None."""
        return _VERDICTS.get(self)

    @property
    def finding(self) -> str | None:
        """The reconciliation finding kind this event reports (``orphan`` ...), else None."""
        return _FINDINGS.get(self)

    @classmethod
    def for_verdict(cls, outcome: str) -> EventKind:
        return _BY_VERDICT[str(getattr(outcome, "value", outcome))]

    @classmethod
    def for_finding(cls, kind: str) -> EventKind:
        return _BY_FINDING[str(getattr(kind, "value", kind))]

    @classmethod
    def parse(cls, value: str) -> EventKind | None:
        """The member for a stored value, or None for a value this version does not know."""
        try:
            return cls(value)
        except ValueError:
            return None


_VERDICTS = {
    EventKind.SETTLEMENT_VERIFIED: "verified",
    EventKind.SETTLEMENT_VERIFIED_LATE: "verified_late",
    EventKind.SETTLEMENT_SIZE_MISMATCH: "size_mismatch",
    EventKind.SETTLEMENT_CLOSED_IMMEDIATELY: "closed_immediately",
    EventKind.SETTLEMENT_NEVER_FILLED: "never_filled",
    EventKind.SETTLEMENT_CLOSED_BY_BOT: "closed_by_bot",
    EventKind.SETTLEMENT_UNKNOWN: "unknown",
}
_BY_VERDICT = {v: k for k, v in _VERDICTS.items()}
_FINDINGS = {
    EventKind.FINDING_ORPHAN: "orphan",
    EventKind.FINDING_GHOST: "ghost",
    EventKind.FINDING_SIZE_MISMATCH: "size_mismatch",
    EventKind.FINDING_UNPROTECTED: "unprotected",
}
_BY_FINDING = {v: k for k, v in _FINDINGS.items()}

CLOSE_EVENTS = frozenset(
    {
        EventKind.CLOSE_ATTEMPT,
        EventKind.CLOSE_CHUNK,
        EventKind.CLOSE_PLACED,
        EventKind.CLOSE_FAILED,
        EventKind.CLOSE_FILLED,
        EventKind.CLOSE_FOUND_AFTER_LOSS,
        EventKind.CLOSE_UNRESOLVED,
        EventKind.CLOSE_SKIPPED_GONE,
        EventKind.CLOSE_DEFERRED,
        EventKind.CLOSE_ESCALATED,
        EventKind.CLOSE_STUCK,
        EventKind.CLOSE_HELD_SMALLER,
    }
)
"""Events of a close under way (what the chaos checker counts as a close showing signs of life)."""
