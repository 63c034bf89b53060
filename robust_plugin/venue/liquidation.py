"""Isolated-margin liquidation prices of one-way positions, as each exchange documents them.

Both take the maintenance margin from the symbol's own brackets: Binance's leverage bracket (rate and
maintenance amount "cum") or Bybit's risk-limit tier (rate and mm deduction), chosen by the position's
notional at its entry price.

Binance USD-M (its FAQ on the liquidation price), one-way mode, isolated margin:
    LP = (WB + cum - side × size × EP) / (size × MMR - side × size), side +1 long, -1 short, WB the isolated margin.
Bybit USDT perpetuals, "Liquidation Price (USDT Contract)", isolated margin:
    LP = EP ∓ (IM + extra margin - MM) / size, MM = size × EP × MMR - mm deduction; the venue's isolated margin
    is the initial margin plus any extra margin.
"""

from __future__ import annotations

from decimal import Decimal

from robust_plugin.venue import binance_rules, bybit_rules
from robust_plugin.venue.account import ZERO, Position
from robust_plugin.venue.markets import MarketSpec


def binance_maintenance(spec: MarketSpec, notional: Decimal) -> tuple[Decimal, Decimal]:
    """(maintenance margin rate, cum) of the leverage bracket for ``notional``."""
    row = binance_rules.bracket_for(spec, notional)
    return Decimal(str(row["maintMarginRatio"])), Decimal(str(row["cum"]))


def bybit_maintenance(spec: MarketSpec, notional: Decimal) -> tuple[Decimal, Decimal]:
    """(maintenance margin rate, mm deduction) of the risk-limit tier for ``notional`` (same tiers for every symbol)."""
    return bybit_rules.maintenance(notional)


def binance_price(position: Position, rate: Decimal, cum: Decimal) -> Decimal:
    size, side = abs(position.amount), (1 if position.amount > 0 else -1)
    price = (position.margin + cum - side * size * position.entry_price) / (size * rate - side * size)
    return max(ZERO, price)


def bybit_price(position: Position, rate: Decimal, deduction: Decimal) -> Decimal:
    size, side = abs(position.amount), (1 if position.amount > 0 else -1)
    maintenance = size * position.entry_price * rate - deduction
    return max(ZERO, position.entry_price - side * (position.margin - maintenance) / size)


RULES = {
    "binance": (binance_maintenance, binance_price),
    "bybit": (bybit_maintenance, bybit_price),
}


def known(exchange: str) -> str:
    """``exchange`` if the venue knows its liquidation price, else ValueError."""
    if exchange not in RULES:
        raise ValueError(f"unknown exchange {exchange!r}; known: {', '.join(RULES)}")
    return exchange


def liquidation_price(exchange: str, spec: MarketSpec, position: Position) -> Decimal:
    """The price at which ``exchange`` liquidates ``position`` (0 for no position)."""
    if not position.amount:
        return ZERO
    maintenance, formula = RULES[exchange]
    rate, amount = maintenance(spec, abs(position.amount) * position.entry_price)
    return formula(position, rate, amount)
