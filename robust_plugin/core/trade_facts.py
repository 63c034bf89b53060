"""Facts the pure cores need, read from a freqtrade ``Trade`` (or a deep copy of one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from robust_plugin.core.aging import PositionCosts, Side

# ccxt's precision modes, as freqtrade stores them on the trade.
_DECIMAL_PLACES = 2
_SIGNIFICANT_DIGITS = 3
_TICK_SIZE = 4


def position_costs(trade: Any) -> PositionCosts:
    """Entry price, amount, fees and funding of the trade's open position."""
    return PositionCosts(
        side=Side.SHORT if trade.is_short else Side.LONG,
        entry_price=float(trade.open_rate),
        amount=float(trade.amount),
        fee_open=float(trade.fee_open or 0.0),
        fee_close=float(trade.fee_close if trade.fee_close is not None else trade.fee_open or 0.0),
        funding_fees=float(getattr(trade, "funding_fees", 0.0) or 0.0),
    )


def price_tick(trade: Any) -> float | None:
    """The pair's price step, when freqtrade knows it, else ``None`` (no rounding)."""
    precision = getattr(trade, "price_precision", None)
    if precision is None:
        return None
    mode = getattr(trade, "precision_mode_price", None) or getattr(trade, "precision_mode", None)
    if mode == _TICK_SIZE:
        return float(precision)
    if mode == _DECIMAL_PLACES:
        return 10.0 ** -int(precision)
    return None


def trade_age(trade: Any, now: datetime) -> float:
    """Seconds since the trade opened."""
    opened = trade.open_date_utc if hasattr(trade, "open_date_utc") else trade.open_date
    if opened.tzinfo is None:
        opened = opened.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now - opened).total_seconds()
