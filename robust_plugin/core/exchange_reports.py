"""What the exchange boundary tells the core: typed reports, never raw exchange answers.

The adapter's exchange boundary (one dialect per exchange) is the only code that reads ccxt's or
freqtrade's structures; it hands the core these plain values, in the spirit of NautilusTrader's
``PositionStatusReport`` and ``OrderStatusReport``. A market's limits are
:class:`robust_plugin.core.chunking.MarketLimits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from robust_plugin.core.kinds import Side


@dataclass(frozen=True)
class PositionReport:
    """One open position on the exchange (one-way mode: one per pair)."""

    pair: str
    side: Side
    amount: float  # base currency, > 0


class OrderState(str, Enum):
    OPEN = "open"  # resting, possibly partly filled
    FILLED = "filled"
    CANCELED = "canceled"  # cancelled or expired, possibly after a partial fill
    REJECTED = "rejected"


@dataclass(frozen=True)
class OrderReport:
    """One order as the exchange reports it."""

    pair: str
    order_id: str
    client_order_id: str | None
    side: str  # "buy" / "sell"
    state: OrderState
    amount: float
    filled: float
    average: float | None = None
    timestamp: float | None = None  # epoch seconds of the last fill (or of the order)
    liquidation: bool = False  # the exchange's liquidation (or auto-deleverage) closed the position

    @property
    def executed(self) -> bool:
        """Some of it filled: the position changed."""
        return self.filled > 0


class LookupStatus(str, Enum):
    FOUND = "found"
    NOT_FOUND = "not_found"  # the exchange answered: no such order
    FAILED = "failed"  # the exchange could not answer: nothing is known


@dataclass(frozen=True)
class OrderLookup:
    """The answer to "is there an order with this client order id?"."""

    status: LookupStatus
    order: OrderReport | None = None
    error: str | None = None

    @classmethod
    def found(cls, order: OrderReport) -> OrderLookup:
        return cls(LookupStatus.FOUND, order)

    @classmethod
    def not_found(cls) -> OrderLookup:
        return cls(LookupStatus.NOT_FOUND)

    @classmethod
    def failed(cls, error: str) -> OrderLookup:
        return cls(LookupStatus.FAILED, error=error)
