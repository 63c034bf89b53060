"""What reconciliation reads of freqtrade's trades, in one column query per question.

Reconciliation runs every few seconds and needs six facts per open trade (pair, side, amount, open
time, whether a stop order is open, whether an entry order has filled). Loading freqtrade's ``Trade`` objects for that, as
``Trade.get_open_trades()`` does, also loads every order of every trade: most of the plugin's time
in a reconciliation loop. These queries read the six facts straight from freqtrade's tables, in the
session freqtrade uses; trades freqtrade already holds in that session are read from memory, with
changes it has not committed yet. Nothing is written or flushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any


@dataclass(frozen=True)
class TradeRow:
    """One trade, as reconciliation sees it."""

    id: int
    pair: str
    is_short: bool
    amount: float
    open_date_utc: datetime
    has_open_sl_orders: bool
    entered: bool = True  # an entry order has filled, even in part (a resting entry expects no position)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@cache
def _queries() -> tuple[Any, Any]:
    """The two statements, built once (building one costs about as much as running it)."""
    from freqtrade.persistence import Order, Trade
    from sqlalchemy import and_, bindparam, case, exists, select

    stop_open = exists().where(
        and_(Order.ft_trade_id == Trade.id, Order.ft_order_side == "stoploss", Order.ft_is_open.is_(True))
    )
    entry_side = case((Trade.is_short.is_(True), "sell"), else_="buy")
    entered = exists().where(and_(Order.ft_trade_id == Trade.id, Order.ft_order_side == entry_side, Order.filled > 0))
    columns = select(Trade.id, Trade.pair, Trade.is_short, Trade.amount, Trade.open_date, stop_open, entered)
    return (
        columns.where(Trade.is_open.is_(True)),
        columns.where(Trade.is_open.is_(False), Trade.close_date > bindparam("after")),
    )


def has_filled_entry(trade: Any) -> bool:
    """An entry order of ``trade`` has filled, even in part (freqtrade's ``nr_of_successful_entries``
    counts only closed orders; a partly filled entry already holds a position)."""
    return any(o.ft_order_side == trade.entry_side and (o.filled or 0) > 0 for o in trade.orders)


def _rows(query: Any, **params: Any) -> list[TradeRow]:
    """The query's rows; a trade freqtrade holds in its session, orders loaded, is read from there
    instead, so changes it has not committed yet count (its session does not flush before a query)."""
    from freqtrade.persistence import Trade
    from sqlalchemy.orm.util import identity_key

    session = Trade.session
    loaded = session.identity_map
    rows = []
    for id_, pair, short, amount, opened, stop, entered in session.execute(query, params):
        trade = loaded.get(identity_key(Trade, id_))
        if trade is not None and "orders" in trade.__dict__:  # no lazy load: that would be a query per trade
            rows.append(
                TradeRow(
                    trade.id,
                    trade.pair,
                    bool(trade.is_short),
                    float(trade.amount or 0.0),
                    _utc(trade.open_date),
                    trade.has_open_sl_orders,
                    has_filled_entry(trade),
                )
            )
        else:
            rows.append(TradeRow(id_, pair, bool(short), float(amount or 0.0), _utc(opened), bool(stop), bool(entered)))  # type: ignore[arg-type]
    return rows


def open_trade_rows() -> list[TradeRow]:
    """freqtrade's open trades."""
    return _rows(_queries()[0])


def closed_trade_rows(since: float) -> list[TradeRow]:
    """Trades closed after ``since`` (epoch seconds)."""
    after = datetime.fromtimestamp(since, UTC).replace(tzinfo=None)  # freqtrade stores naive UTC
    return _rows(_queries()[1], after=after)


def load_trade(trade_id: int) -> Any | None:
    """freqtrade's ``Trade`` with this id (from the session's identity map when already loaded)."""
    from freqtrade.persistence import Trade

    return Trade.session.get(Trade, trade_id)


def trades_to_resume(closed_since: float) -> list[Any]:
    """freqtrade's open trades and the trades closed after ``closed_since`` (epoch seconds): after a
    restart, an entry's settlement job goes on even when its trade closed before the verdict (closed
    on the exchange while the bot was down, or just before it stopped)."""
    from freqtrade.persistence import Trade

    after = datetime.fromtimestamp(closed_since, UTC).replace(tzinfo=None)  # freqtrade stores naive UTC
    return [*Trade.get_open_trades(), *Trade.get_trades_proxy(is_open=False, close_date=after)]
