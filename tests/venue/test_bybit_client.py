"""ccxt's real ``bybit`` class trades against the venue speaking Bybit V5, as against Bybit.

The venue runs with ``--exchange bybit`` on the same engine as the Binance dialect; these tests go
through ccxt's own request signing and parsers over HTTPS, and compare with the ground truth.
"""

from __future__ import annotations

import time

import pytest

from tests.venue.conftest import BTC

ORDER_FIELDS = ("id", "clientOrderId", "timestamp", "symbol", "type", "side", "amount", "filled", "remaining", "status")
TRADE_FIELDS = ("id", "order", "timestamp", "symbol", "side", "price", "amount", "cost", "fee", "takerOrMaker")


def _entry(client, amount=0.01, link=None):
    params = {"clientOrderId": link} if link else {}
    order = client.create_order(BTC, "market", "buy", amount, None, params)
    return client.fetch_order(order["id"], BTC, {"acknowledged": True})


def test_markets_time_balance_and_account_kind(bybit_client, bybit_control):
    market = bybit_client.market(BTC)
    assert (market["id"], market["type"], market["linear"], market["settle"]) == ("BTCUSDT", "swap", True, "USDT")
    assert (market["precision"]["amount"], market["precision"]["price"]) == (0.001, 0.1)
    assert market["limits"]["cost"]["min"] == 100 and market["limits"]["leverage"]["max"] == 100
    assert abs(bybit_client.fetch_time() - time.time() * 1000) < 5000
    assert bybit_client.is_unified_enabled() == [False, True]  # a unified trading account, as freqtrade expects
    balance = bybit_client.fetch_balance()
    assert balance["USDT"]["total"] == pytest.approx(float(bybit_control.state()["wallet_balance"]))
    assert balance["USDT"]["free"] == balance["USDT"]["total"]


def test_a_full_round_trip_through_ccxt(bybit_client, bybit_control):
    client = bybit_client
    client.set_margin_mode("isolated", BTC, {"leverage": 5})
    client.set_leverage(5, BTC)
    created = client.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "bybit-round-trip"})
    assert created["clientOrderId"] == "bybit-round-trip"
    entry = client.fetch_order(created["id"], BTC, {"acknowledged": True})
    assert all(entry[field] is not None for field in ORDER_FIELDS)
    assert (entry["status"], entry["filled"], entry["remaining"], entry["type"]) == ("closed", 0.01, 0, "market")
    assert entry["fee"]["currency"] == "USDT" and entry["fee"]["cost"] > 0

    [position] = client.fetch_positions([BTC])
    assert (position["side"], position["contracts"], position["leverage"]) == ("long", 0.01, 5)
    assert position["entryPrice"] == pytest.approx(entry["average"])
    assert 0 < position["liquidationPrice"] < entry["average"]
    assert [p["symbol"] for p in client.fetch_positions()] == [BTC]

    stop_price = round(entry["average"] * 0.8, 1)
    stop = client.create_order(
        BTC,
        "market",
        "sell",
        0.01,
        None,
        {"stopLossPrice": stop_price, "reduceOnly": True, "clientOrderId": "bybit-sl"},
    )
    [listed] = client.fetch_open_orders(BTC, params={"trigger": True})
    assert (listed["id"], listed["status"], listed["triggerPrice"], listed["reduceOnly"]) == (
        stop["id"],
        "open",
        stop_price,
        True,
    )
    assert listed["info"]["orderStatus"] == "Untriggered" and listed["info"]["triggerDirection"] == 2
    by_link = client.fetch_order("", BTC, {"acknowledged": True, "orderLinkId": "bybit-sl"})
    assert by_link["id"] == stop["id"]
    assert client.fetch_open_orders(BTC, params={"orderFilter": "Order"}) == []

    client.cancel_order(stop["id"], BTC, {"trigger": True})
    assert client.fetch_order(stop["id"], BTC, {"acknowledged": True})["status"] == "canceled"
    assert client.fetch_open_orders(BTC) == []

    close = client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    [flat] = client.fetch_positions([BTC])  # Bybit answers a named symbol even when flat
    assert flat["contracts"] == 0 and client.fetch_positions() == []

    closed = client.fetch_closed_orders(BTC)
    assert {o["id"] for o in closed} >= {entry["id"], close["id"]}
    assert all(o["status"] == "closed" for o in closed)
    assert stop["id"] in [o["id"] for o in client.fetch_canceled_and_closed_orders(BTC, params={"trigger": True})]

    trades = [t for t in client.fetch_my_trades(BTC) if t["order"] in (entry["id"], close["id"])]
    assert sorted((t["side"], t["amount"]) for t in trades) == [("buy", 0.01), ("sell", 0.01)]
    assert all(all(t[field] is not None for field in TRADE_FIELDS) and t["fee"]["cost"] > 0 for t in trades)

    truth = bybit_control.state()
    [ledger_entry] = [o for o in truth["orders"] if o["client_order_id"] == "bybit-round-trip"]
    assert ledger_entry["status"] == "FILLED" and truth["leverage"]["BTCUSDT"] == 5
    assert truth["margin_type"]["BTCUSDT"] == "ISOLATED"
    assert not truth["positions"]


def test_a_stop_triggers_when_the_price_crosses(bybit_client, bybit_control):
    entry = _entry(bybit_client)
    trigger = round(entry["average"] * 0.99, 1)
    stop = bybit_client.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": trigger, "reduceOnly": True})
    bybit_control.price("BTCUSDT", entry["average"] * 0.98)
    try:
        fired = bybit_client.fetch_order(stop["id"], BTC, {"acknowledged": True})
        assert (fired["status"], fired["filled"], fired["average"]) == ("closed", 0.01, pytest.approx(trigger))
        assert bybit_client.fetch_positions() == []
        [execution] = bybit_client.fetch_order_trades(stop["id"], BTC)
        assert execution["order"] == stop["id"] and execution["info"]["stopOrderType"] == "Stop"
    finally:
        bybit_control.price("BTCUSDT", None)


def test_leverage_not_modified_and_one_way_mode(bybit_client):
    import ccxt

    bybit_client.set_leverage(7, BTC)
    with pytest.raises(ccxt.BadRequest, match="110043"):
        bybit_client.set_leverage(7, BTC)
    assert bybit_client.set_position_mode(False)["retCode"] == 0
    with pytest.raises(ccxt.BadRequest, match="110029"):
        bybit_client.set_position_mode(True)


def test_an_open_limit_order_is_listed_amended_and_cancelled(bybit_client):
    price = round(bybit_client.fetch_ticker(BTC)["bid"] * 0.9, 1)
    order = bybit_client.create_order(BTC, "limit", "buy", 0.01, price, {"clientOrderId": "bybit-limit"})
    [listed] = bybit_client.fetch_open_orders(BTC)
    assert (listed["id"], listed["price"], listed["remaining"], listed["timeInForce"]) == (
        order["id"],
        price,
        0.01,
        "GTC",
    )
    bybit_client.edit_order(order["id"], BTC, "limit", "buy", 0.02, price - 10)
    amended = bybit_client.fetch_order(order["id"], BTC, {"acknowledged": True})
    assert (amended["amount"], amended["price"], amended["status"]) == (0.02, price - 10, "open")
    bybit_client.cancel_order(order["id"], BTC)
    [cancelled] = bybit_client.fetch_canceled_orders(BTC)
    assert cancelled["id"] == order["id"] and cancelled["info"]["orderStatus"] == "Cancelled"


def test_candles_funding_book_tickers_and_tiers(bybit_client):
    candles = bybit_client.fetch_ohlcv(BTC, "5m", limit=50)
    assert len(candles) == 50
    assert all(later[0] - earlier[0] == 300_000 for earlier, later in zip(candles, candles[1:]))
    assert all(low <= min(o, c) and high >= max(o, c) for _, o, high, low, c, _ in candles)
    since = candles[0][0]
    assert bybit_client.fetch_ohlcv(BTC, "5m", since=since, limit=5)[0][0] == since
    mark = bybit_client.fetch_ohlcv(BTC, "1h", limit=5, params={"price": "mark"})
    assert len(mark) == 5
    rates = bybit_client.fetch_funding_rate_history(BTC, limit=6)
    assert len(rates) == 6 and all(r["timestamp"] % (8 * 3_600_000) == 0 for r in rates)
    assert [r["timestamp"] for r in rates] == sorted(r["timestamp"] for r in rates)
    book = bybit_client.fetch_order_book(BTC, 5)
    assert len(book["bids"]) == 5 and book["bids"][0][0] < book["asks"][0][0]
    ticker = bybit_client.fetch_ticker(BTC)
    assert ticker["bid"] == pytest.approx(book["bids"][0][0], rel=0.01) and ticker["ask"] > ticker["bid"]
    assert set(bybit_client.fetch_tickers()) >= {BTC}
    tiers = bybit_client.fetch_leverage_tiers([BTC])[BTC]
    assert tiers[0]["maxLeverage"] == 100 and tiers[0]["minNotional"] == 0


@pytest.mark.parametrize("module", ["ccxt", "ccxt.async_support", "ccxt.pro"])
def test_every_bybit_url_a_client_can_reach_is_on_loopback(module, tmp_path):
    import asyncio
    import importlib
    from urllib.parse import urlsplit

    from robust_plugin.venue.ccxt_config import venue_ccxt_config

    port = 8443
    client = importlib.import_module(module).bybit(venue_ccxt_config(port, tmp_path / "ca.pem", "bybit"))
    try:
        for demo in (False, True):  # demo trading swaps urls.api for urls.demotrading
            client.enable_demo_trading(demo)
            found = [
                client.implode_hostname(url)
                for s in ("api", "test", "demotrading")
                for url in _urls(client.urls.get(s))
            ]
            assert len(found) >= 10, found
            for url in found:
                parts = urlsplit(url)
                assert (parts.hostname, parts.port, parts.scheme in ("https", "wss")) == ("127.0.0.1", port, True), url
                assert parts.username.endswith(".venue") and parts.password is None, url
    finally:
        if module != "ccxt":
            asyncio.run(client.close())


def _urls(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [url for value in node.values() for url in _urls(value)]
    return []


def test_a_stop_is_amended_and_refused_when_the_new_trigger_is_crossed(bybit_client):
    import ccxt

    entry = _entry(bybit_client)
    first, moved = round(entry["average"] * 0.9, 1), round(entry["average"] * 0.95, 1)
    stop = bybit_client.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": first, "reduceOnly": True})
    bybit_client.edit_order(stop["id"], BTC, "market", "sell", None, None, {"triggerPrice": moved})
    amended = bybit_client.fetch_order(stop["id"], BTC, {"acknowledged": True})
    assert (amended["triggerPrice"], amended["status"]) == (moved, "open")
    crossed = round(entry["average"] * 1.1, 1)
    with pytest.raises(ccxt.InvalidOrder, match="110093"):
        bybit_client.edit_order(stop["id"], BTC, "market", "sell", None, None, {"triggerPrice": crossed})
    bybit_client.cancel_order(stop["id"], BTC)
    with pytest.raises(ccxt.OrderNotFound, match="110001"):
        bybit_client.edit_order(stop["id"], BTC, "market", "sell", None, None, {"triggerPrice": moved})
