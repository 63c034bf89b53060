"""Reconciliation's column queries read the same facts as freqtrade's own ``Trade`` objects, from
freqtrade's real tables (SQLite): which trades are open, their side, amount and open time, whether a
stop order is open on the exchange, and which trades closed recently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.enums import TradingMode
from freqtrade.persistence import Order, Trade, init_db

from robust_plugin.adapter.trade_rows import (
    TradeRow,
    closed_trade_rows,
    load_trade,
    open_trade_rows,
    trades_to_resume,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 2, 12, tzinfo=UTC)


def _trade(pair: str, *, short: bool = False, is_open: bool = True, closed: datetime | None = None) -> Trade:
    trade = Trade(
        pair=pair,
        base_currency=pair.split("/")[0],
        stake_currency="USDT",
        open_rate=100.0,
        amount=2.0,
        amount_requested=2.0,
        stake_amount=100.0,
        fee_open=0.0005,
        fee_close=0.0005,
        leverage=2.0,
        is_short=short,
        open_date=NOW - timedelta(hours=3),
        exchange="binance",
        trading_mode=TradingMode.FUTURES,
        is_open=is_open,
        close_date=closed,
    )
    Trade.session.add(trade)
    return trade


def _order(trade: Trade, side: str, *, is_open: bool, order_id: str, filled: float | None = None) -> None:
    trade.orders.append(
        Order(
            ft_order_side=side,
            ft_pair=trade.pair,
            ft_is_open=is_open,
            ft_amount=trade.amount,
            ft_price=90.0,
            order_id=order_id,
            status="open" if is_open else "canceled",
            side="sell",
            order_type="stop_market",
            amount=trade.amount,
            filled=filled,
        )
    )


@pytest.fixture
def trades(tmp_path):
    init_db(f"sqlite:///{tmp_path / 'freqtrade.sqlite'}")
    protected = _trade("BTC/USDT:USDT")
    _order(protected, "buy", is_open=False, order_id="entry", filled=2.0)
    _order(protected, "stoploss", is_open=False, order_id="old-stop")  # replaced stop
    _order(protected, "stoploss", is_open=True, order_id="stop")
    bare = _trade("ETH/USDT:USDT", short=True)
    _order(bare, "stoploss", is_open=False, order_id="cancelled-stop")
    _order(bare, "sell", is_open=True, order_id="entry", filled=0.0)  # its entry rests unfilled (a short sells)
    _order(bare, "buy", is_open=True, order_id="exit", filled=1.0)  # an exit fill is no entry; nor a stop
    _trade("SOL/USDT:USDT", is_open=False, closed=NOW - timedelta(seconds=20))
    _trade("XRP/USDT:USDT", is_open=False, closed=NOW - timedelta(hours=2))
    Trade.commit()
    yield protected, bare
    Trade.session.remove()


@pytest.mark.parametrize("held", [True, False], ids=["trades-held-by-freqtrade", "fresh-session"])
def test_open_rows_match_freqtrades_trades(trades, held):
    if not held:
        Trade.session.expunge_all()  # nothing loaded: every fact comes from the columns and the stop query
    rows = {row.id: row for row in open_trade_rows()}
    assert not Trade.session.identity_map or held  # the rows loaded no trade objects
    assert set(rows) == {t.id for t in Trade.get_open_trades()}
    for trade in Trade.get_open_trades():
        assert rows[trade.id] == TradeRow(
            trade.id,
            trade.pair,
            trade.is_short,
            trade.amount,
            trade.open_date_utc,
            trade.has_open_sl_orders,
            any(o.ft_order_side == trade.entry_side and o.filled for o in trade.orders),
        )
    protected, bare = (rows[t.id] for t in sorted(Trade.get_open_trades(), key=lambda t: t.pair))
    assert protected.has_open_sl_orders and not bare.has_open_sl_orders
    assert protected.entered and not bare.entered  # the short's entry has not filled: it expects no position
    assert bare.is_short and bare.open_date_utc.tzinfo is not None


def test_rows_see_freqtrades_changes_not_yet_committed(trades):
    protected, bare = trades
    protected.amount = 1.5  # freqtrade changed the trade this loop; not committed yet
    for order in protected.orders:
        order.ft_is_open = False  # its stop was found cancelled
    rows = {row.id: row for row in open_trade_rows()}
    assert rows[protected.id].amount == 1.5 and not rows[protected.id].has_open_sl_orders


def test_closed_rows_are_the_trades_closed_after_the_given_time(trades):
    recent = closed_trade_rows((NOW - timedelta(minutes=1)).timestamp())
    assert [row.pair for row in recent] == ["SOL/USDT:USDT"]
    assert {row.pair for row in closed_trade_rows((NOW - timedelta(days=1)).timestamp())} == {
        "SOL/USDT:USDT",
        "XRP/USDT:USDT",
    }
    assert closed_trade_rows(NOW.timestamp()) == []


def test_a_restart_resumes_the_open_trades_and_those_closed_since_the_given_time(trades):
    """Settlement jobs live on their trades; a trade closed while its entry settled still owes a verdict."""
    resumed = trades_to_resume((NOW - timedelta(hours=1)).timestamp())
    assert sorted(t.pair for t in resumed) == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert all(isinstance(t, Trade) for t in resumed)  # freqtrade's own, to read and store the jobs on


def test_load_trade_is_freqtrades_trade(trades):
    protected, _ = trades
    assert load_trade(protected.id) is protected
    assert load_trade(10_000) is None
