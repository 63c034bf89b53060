"""ccxt's own structure validators over what ``ccxt.binanceusdm`` parses from the venue's answers.

ccxt checks every exchange's unified structures with shared validators (``ccxt/test/exchange/base``:
``test_order``, ``test_position``, ``test_balance`` ...) in its own live test-suite. They run here
over the venue, so a venue answer that parses into a structure ccxt would reject for Binance fails.
Skipped assertions are listed below with the reason each is not the venue's to meet.
"""

from __future__ import annotations

import importlib

from tests.venue.conftest import BTC

STRUCTURES = (
    "balance",
    "funding_rate_history",
    "leverage_tier",
    "market",
    "ohlcv",
    "order",
    "order_book",
    "position",
    "ticker",
    "trade",
    "trading_fee",
)
# ccxt.test.exchange.base re-exports each validator under its module's name: import the modules
CHECK = {
    name: getattr(importlib.import_module(f"ccxt.test.exchange.base.test_{name}"), f"test_{name}")
    for name in STRUCTURES
}
SKIPPED: dict[str, bool] = {}  # nothing skipped for every structure
# positionRisk v3 (ccxt's default, and Binance's current endpoint) carries no leverage: ccxt parses None
POSITION_SKIPPED = {"leverage": True}


def test_markets(client):
    for market in client.markets.values():
        CHECK["market"](client, SKIPPED, "loadMarkets", market)


def test_market_data(client):
    now = client.milliseconds()
    for candle in client.fetch_ohlcv(BTC, "5m", limit=20):
        CHECK["ohlcv"](client, SKIPPED, "fetchOHLCV", candle, BTC, now)
    CHECK["ticker"](client, SKIPPED, "fetchTicker", client.fetch_ticker(BTC), BTC)
    CHECK["order_book"](client, SKIPPED, "fetchOrderBook", client.fetch_order_book(BTC, 5), BTC)
    trades = client.fetch_trades(BTC, limit=20)
    assert trades
    for trade in trades:
        CHECK["trade"](client, SKIPPED, "fetchTrades", trade, BTC, now, True)
    for row in client.fetch_funding_rate_history(BTC, limit=10):
        CHECK["funding_rate_history"](client, SKIPPED, "fetchFundingRateHistory", row, BTC)


def test_account_structures(client):
    CHECK["balance"](client, SKIPPED, "fetchBalance", client.fetch_balance())
    CHECK["trading_fee"](client, SKIPPED, "fetchTradingFee", BTC, client.fetch_trading_fee(BTC))
    for tier in client.fetch_leverage_tiers([BTC])[BTC]:
        CHECK["leverage_tier"](client, SKIPPED, "fetchLeverageTiers", tier)


def test_order_position_and_trade_structures(client):
    now = client.milliseconds()
    resting = client.create_order(BTC, "limit", "buy", 0.01, round(client.fetch_ticker(BTC)["last"] * 0.97, 1))
    CHECK["order"](client, SKIPPED, "createOrder", resting, BTC, now)
    CHECK["order"](client, SKIPPED, "fetchOrder", client.fetch_order(resting["id"], BTC), BTC, now)
    for order in client.fetch_open_orders(BTC):
        CHECK["order"](client, SKIPPED, "fetchOpenOrders", order, BTC, now)
    CHECK["order"](client, SKIPPED, "cancelOrder", client.cancel_order(resting["id"], BTC), BTC, now)
    filled = client.create_order(BTC, "market", "buy", 0.01)
    CHECK["order"](client, SKIPPED, "createOrder", filled, BTC, now)
    for order in client.fetch_orders(BTC):
        CHECK["order"](client, SKIPPED, "fetchOrders", order, BTC, now)
    [position] = client.fetch_positions([BTC])
    CHECK["position"](client, POSITION_SKIPPED, "fetchPositions", position, BTC, now)
    mine = client.fetch_my_trades(BTC)
    assert mine
    for trade in mine:
        CHECK["trade"](client, SKIPPED, "fetchMyTrades", trade, BTC, now, False)
