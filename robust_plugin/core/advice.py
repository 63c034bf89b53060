"""Every alert the plugin can raise, in one table: its severity, subject, what the plugin did and
what the trader should do.

A decision in the core names the alert (an :class:`Advice` member) and the facts it is about; the
adapter's alerter turns the pair into the message. The texts take ``{name}`` fields from those
facts; a missing fact shows as ``?`` rather than breaking the alert.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from robust_plugin.core.kinds import Severity


class Advice(str, Enum):
    # closes
    CLOSE_FAILING = "close_failing"
    CLOSE_STUCK = "close_stuck"
    CLOSE_CHUNKED = "close_chunked"
    CLOSE_ORDER_RESTING = "close_order_resting"
    POSITION_GONE = "position_gone"
    POSITION_SMALLER = "position_smaller"
    POSITION_SMALLER_STUCK = "position_smaller_stuck"
    REDUCED_OUTSIDE = "reduced_outside"
    CLOSED_OUTSIDE = "closed_outside"
    LIQUIDATION_EXIT = "liquidation_exit"
    # settlement outcomes
    SETTLEMENT_VERIFIED_LATE = "settlement_verified_late"
    SETTLEMENT_SIZE_MISMATCH = "settlement_size_mismatch"
    SETTLEMENT_CLOSED_IMMEDIATELY = "settlement_closed_immediately"
    SETTLEMENT_NEVER_FILLED = "settlement_never_filled"
    SETTLEMENT_UNKNOWN = "settlement_unknown"
    # reconciliation findings
    FINDING_ORPHAN = "finding_orphan"
    FINDING_GHOST = "finding_ghost"
    FINDING_SIZE_MISMATCH = "finding_size_mismatch"
    FINDING_UNPROTECTED = "finding_unprotected"
    # the entry circuit breaker
    ENTRIES_HELD = "entries_held"
    ENTRIES_RESUMED = "entries_resumed"


@dataclass(frozen=True)
class AdviceText:
    severity: Severity
    subject: str
    happened: str
    plugin_did: str
    you_should: str


_RECONCILE_DID = "told you; it does not act on positions it did not open"

TABLE: dict[Advice, AdviceText] = {
    Advice.CLOSE_FAILING: AdviceText(
        Severity.WARNING,
        "close keeps failing",
        "{failures} close attempts in a row failed; last: {failure_class} ({error})",
        "retries with backoff (next at {next_at}), checking the exchange position before each attempt",
        "check the exchange for the position and the error; close it by hand if it must go now",
    ),
    Advice.CLOSE_STUCK: AdviceText(
        Severity.CRITICAL,
        "close cannot get through",
        "{failures} close attempts in a row failed (closing.max_attempts reached); last: {failure_class} ({error})",
        "keeps trying at the slowest pace (every {wait_s:.0f}s) and alerts again after every {max_attempts} failures",
        "close the position on the exchange by hand now, then check the exchange's status and the error",
    ),
    Advice.CLOSE_ORDER_RESTING: AdviceText(
        Severity.WARNING,
        "close order rests unknown to freqtrade",
        "close order {client_order_id} rests unfilled on the exchange, and freqtrade has no record of it "
        "(the bot stopped while placing it), so freqtrade's unfilled timeout will not cancel it",
        "sends no second close order while it rests, and looks it up again every loop",
        "cancel order {client_order_id} on the exchange (the plugin then closes the trade again), or let it fill",
    ),
    Advice.CLOSE_CHUNKED: AdviceText(
        Severity.WARNING,
        "closing in chunks",
        "a full close cannot go through: {reason}",
        "closes the position in partial exits sized from the market's limits, each confirmed by its fill",
        "nothing unless the chunks stop; watch the position shrink",
    ),
    Advice.POSITION_GONE: AdviceText(
        Severity.WARNING,
        "position already gone",
        "the exchange shows no position for this trade (liquidated, stopped or closed outside the bot)",
        "sent no close order, and sends none while the exchange shows no position",
        "freqtrade records the real exit when its wallet check finds the position gone; if trade {trade_id} "
        "stays open (e.g. while its stop order is still open on the exchange), run /reload_trade {trade_id} so "
        "freqtrade reads the exchange's orders",
    ),
    Advice.POSITION_SMALLER: AdviceText(
        Severity.WARNING,
        "position smaller than the trade",
        "the exchange holds {exchange_amount}, the trade {trade_amount}",
        "held the close back so freqtrade can record the outside change first",
        "check who changed the position (another bot, the web UI)",
    ),
    Advice.POSITION_SMALLER_STUCK: AdviceText(
        Severity.CRITICAL,
        "close waits on an unrecorded outside change",
        "the exchange has held {exchange_amount} for {waited_s:.0f}s while the trade says {trade_amount}; freqtrade "
        "has not recorded the outside order (it does not look while a stop order of the trade is open)",
        "holds the close: closing the trade's amount would not match the exchange",
        "run /reload_trade {trade_id} so freqtrade reads the exchange's orders, or close the position by hand",
    ),
    Advice.REDUCED_OUTSIDE: AdviceText(
        Severity.WARNING,
        "position reduced outside the bot",
        "an order from outside the bot reduced the position by {amount}",
        "closes only what is left; freqtrade recorded the outside order on the trade",
        "check who trades on this account (another bot, the web UI)",
    ),
    Advice.CLOSED_OUTSIDE: AdviceText(
        Severity.WARNING,
        "position closed outside the bot",
        "the exchange closed the position ({exit_reason}) at {price}",
        "sent no close order; freqtrade recorded the exchange's exit on the trade",
        "check the exchange's order history if this was not expected",
    ),
    Advice.LIQUIDATION_EXIT: AdviceText(
        Severity.WARNING,
        "freqtrade exited on its liquidation-price check",
        "freqtrade closed the trade because the rate crossed the liquidation price it had ({liquidation_price}); "
        "the exchange did not liquidate it{young}",
        "recorded it as freqtrade's own exit, not as a liquidation; any leftover on the exchange is reported by "
        "reconciliation as an orphan",
        "check the exchange for a leftover position on this pair and close it; a stale view of the pair's "
        "previous position right after an entry can give freqtrade a wrong liquidation price",
    ),
    Advice.SETTLEMENT_VERIFIED_LATE: AdviceText(
        Severity.INFO,
        "entry settlement: verified_late",
        "{detail}",
        "the exchange is slow to show positions",
        "nothing; watch for it repeating",
    ),
    Advice.SETTLEMENT_SIZE_MISMATCH: AdviceText(
        Severity.WARNING,
        "entry settlement: size_mismatch",
        "{detail}",
        "recorded the real size",
        "check for a partial fill or an outside change",
    ),
    Advice.SETTLEMENT_CLOSED_IMMEDIATELY: AdviceText(
        Severity.WARNING,
        "entry settlement: closed_immediately",
        "{detail}",
        "freqtrade records the exchange's exit on the trade",
        "check the liquidation price and leverage of this strategy",
    ),
    Advice.SETTLEMENT_NEVER_FILLED: AdviceText(
        Severity.WARNING,
        "entry settlement: never_filled",
        "{detail}",
        "left the trade for freqtrade's own recovery",
        "check the order on the exchange",
    ),
    Advice.SETTLEMENT_UNKNOWN: AdviceText(
        Severity.CRITICAL,
        "entry settlement: unknown",
        "{detail}",
        "keeps watching; nothing was closed or rolled back",
        "look at the exchange now: a position may be open without a stop-loss",
    ),
    Advice.FINDING_ORPHAN: AdviceText(
        Severity.CRITICAL,
        "reconciliation: orphan",
        "{detail}",
        _RECONCILE_DID,
        "close or adopt the position on the exchange: no trade of this bot covers it",
    ),
    Advice.FINDING_GHOST: AdviceText(
        Severity.WARNING,
        "reconciliation: ghost",
        "{detail}",
        _RECONCILE_DID,
        "check the exchange; freqtrade's recovery usually records the real exit",
    ),
    Advice.FINDING_SIZE_MISMATCH: AdviceText(
        Severity.WARNING,
        "reconciliation: size_mismatch",
        "{detail}",
        _RECONCILE_DID,
        "compare the trade with the exchange position; an outside order changed it",
    ),
    Advice.FINDING_UNPROTECTED: AdviceText(
        Severity.CRITICAL,
        "reconciliation: unprotected",
        "{detail}",
        _RECONCILE_DID,
        "place a stop on the exchange or close the position now",
    ),
    Advice.ENTRIES_HELD: AdviceText(
        Severity.WARNING,
        "new entries held",
        "{problem}",
        "holds new entries {where} until it is resolved (entry_guard); open trades are managed as usual",
        "resolve it (see the alert about it); entries resume by themselves once it is gone",
    ),
    Advice.ENTRIES_RESUMED: AdviceText(
        Severity.INFO,
        "new entries resumed",
        "resolved: {problem}",
        "lets new entries through again {where}",
        "nothing",
    ),
}


def severity_of(advice: Advice) -> Severity:
    return TABLE[advice].severity


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class _Lenient(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return super().format_field(value, format_spec)
        except (ValueError, TypeError):
            return str(value)


_FORMAT = _Lenient()


@dataclass(frozen=True)
class AlertMessage:
    severity: Severity
    subject: str
    happened: str
    plugin_did: str
    you_should: str


def message(advice: Advice, facts: Mapping[str, Any]) -> AlertMessage:
    """The alert's texts with the facts filled in."""
    row, values = TABLE[advice], _Facts(facts)

    def fill(text: str) -> str:
        return _FORMAT.vformat(text, (), values)

    return AlertMessage(row.severity, row.subject, fill(row.happened), fill(row.plugin_did), fill(row.you_should))
