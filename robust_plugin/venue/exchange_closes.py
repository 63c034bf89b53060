"""Orders the exchange places on an account itself, and what it books there: liquidation (Binance's
``autoclose-`` orders; the margin left goes to the insurance fund), auto-deleveraging
(``adl_autoclose-``), and funding every 8 hours."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from robust_plugin.venue.account import ZERO, Income, Order

if TYPE_CHECKING:
    from robust_plugin.venue.engine import Engine

FUNDING_INTERVAL_MS = 8 * 3_600_000


def liquidate(engine: Engine, symbol: str, now: int, price: Decimal | None = None) -> Order | None:
    """Close the whole position as Binance's liquidation engine does (an ``autoclose-`` order)."""
    position = engine.ledger.position(symbol)
    if not position.amount:
        return None
    spec = engine.spec(symbol)
    if price is None:
        price = engine.liquidation_price(symbol)
    price = (price / spec.tick_size).to_integral_value(
        ROUND_CEILING if position.amount < 0 else ROUND_FLOOR
    ) * spec.tick_size
    engine.liquidations += 1
    side = "SELL" if position.amount > 0 else "BUY"
    margin_left = position.margin
    order = _exchange_close(
        engine,
        f"autoclose-{now}{engine.liquidations:06d}",
        symbol,
        side,
        abs(position.amount),
        price,
        now,
        "liquidation",
    )
    fill = engine.ledger.apply_fill(order, abs(position.amount), price, engine.taker_fee, False, now)
    left = margin_left + fill.realized_pnl  # what remained of the margin goes to the insurance fund
    if left > 0:
        engine.ledger.wallet -= left
        engine.ledger.income.append(Income(symbol, "INSURANCE_CLEAR", -left, now, engine.ledger.new_id()))
    return order


def auto_deleverage(engine: Engine, symbol: str, quantity: Decimal | None, now: int) -> Order | None:
    """Reduce the position by ``quantity`` (None: all of it) at the current price, no fee, as the
    exchange's auto-deleveraging does to the profitable side when a liquidation cannot be filled."""
    position = engine.ledger.position(symbol)
    if not position.amount:
        return None
    qty = abs(position.amount) if quantity is None else min(quantity, abs(position.amount))
    side = "SELL" if position.amount > 0 else "BUY"
    price, _ = engine.bid_ask(symbol, now)
    order = _exchange_close(engine, f"adl_autoclose-{now}", symbol, side, qty, price, now, "adl")
    engine.ledger.apply_fill(order, qty, price, ZERO, False, now)
    return order


def _exchange_close(
    engine: Engine, client_id: str, symbol: str, side: str, qty: Decimal, price: Decimal, now: int, origin: str
) -> Order:
    """A reduce-only IOC order the exchange places itself (liquidation, auto-deleveraging), in the ledger."""
    order = Order(
        engine.ledger.new_id(),
        client_id,
        symbol,
        side,
        "LIMIT",
        qty,
        price,
        "IOC",
        True,
        False,
        now,
        now,
        origin=origin,
    )
    engine.ledger.add_order(order)
    return order


def fund(engine: Engine, start: int, now: int) -> None:
    boundary = start - start % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS
    while boundary <= now:
        for symbol, position in engine.ledger.positions.items():
            if position.amount:
                rate = Decimal(repr(engine.prices.funding_rate(symbol, boundary)))
                fee = -position.amount * engine.price(symbol, boundary) * rate
                engine.ledger.wallet += fee
                engine.ledger.income.append(Income(symbol, "FUNDING_FEE", fee, boundary, engine.ledger.new_id()))
        boundary += FUNDING_INTERVAL_MS
