"""Every refusal of the Bybit dialect makes ccxt's ``bybit`` class raise what it raises against Bybit.

The expected class is checked twice: by name (what the task of each case is about) and against
ccxt's own exception table for the retCode in the answer, so the venue answers with the code Bybit
uses, in the envelope ccxt reads (``{"retCode": ..., "retMsg": ...}`` with HTTP 200).
"""

from __future__ import annotations

import json

import ccxt
import pytest

from tests.venue.conftest import API_KEY, API_SECRET, BTC, make_bybit_client

PRICE = 50_000  # BTCUSDT pinned: bid 50000.0, ask 50000.1 (tick 0.1)


@pytest.fixture
def pinned(bybit_client, bybit_control):
    bybit_control.price("BTCUSDT", PRICE)
    yield bybit_client
    bybit_control.price("BTCUSDT", None)


def _raises(client, expected: type, code: int, call):
    with pytest.raises(ccxt.BaseError) as raised:
        call()
    answer = json.loads(client.last_http_response)
    assert answer["retCode"] == code, answer
    assert set(answer) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    assert type(raised.value) is expected, repr(raised.value)
    assert issubclass(client.exceptions["exact"][str(code)], expected) or code == 10016
    return raised.value, answer


def test_a_wrong_signature_or_key_is_an_authentication_error(bybit_venue, bybit_control):
    config = bybit_venue.ccxt_config()
    wrong_secret = ccxt.bybit({"apiKey": API_KEY, "secret": "not-the-secret", **config})
    _raises(wrong_secret, ccxt.AuthenticationError, 10004, wrong_secret.fetch_balance)
    unknown_key = ccxt.bybit({"apiKey": "unknown-key", "secret": API_SECRET, **config})
    _raises(unknown_key, ccxt.AuthenticationError, 10003, unknown_key.fetch_balance)


def test_a_stale_timestamp_is_refused_with_10002(bybit_venue, bybit_control):
    client = make_bybit_client(bybit_venue)
    client.options["timeDifference"] = 30_000  # the client's clock 30 s behind: outside the 5 s window
    _, answer = _raises(client, ccxt.InvalidNonce, 10002, client.fetch_balance)
    assert "recv_window[5000]" in answer["retMsg"]
    client.options["timeDifference"] = 0
    assert client.fetch_balance()["USDT"]["total"] > 0


def test_order_refusals_carry_bybit_codes(pinned, bybit_control):
    client = pinned
    _raises(client, ccxt.InsufficientFunds, 110007, lambda: client.create_order(BTC, "market", "buy", 100))
    _raises(
        client,
        ccxt.InvalidOrder,
        110017,
        lambda: client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True}),
    )
    _raises(client, ccxt.InvalidOrder, 110094, lambda: client.create_order(BTC, "market", "buy", 0.001))
    _raises(client, ccxt.BadRequest, 10001, lambda: client.create_order(BTC, "market", "buy", 500))
    raw = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.0105"}
    _raises(client, ccxt.BadRequest, 10001, lambda: client.privatePostV5OrderCreate(raw))
    client.create_order(BTC, "limit", "buy", 0.01, 25_000, {"clientOrderId": "bybit-duplicate"})
    _raises(
        client,
        ccxt.InvalidOrder,
        110072,
        lambda: client.create_order(BTC, "limit", "buy", 0.01, 25_000, {"clientOrderId": "bybit-duplicate"}),
    )
    _raises(
        client, ccxt.OrderNotFound, 110001, lambda: client.cancel_order("00000000-0000-0000-0000-000000000001", BTC)
    )
    assert [o["status"] for o in bybit_control.state()["orders"] if o["client_order_id"] == "bybit-duplicate"] == [
        "NEW"
    ]


def test_a_stop_already_crossed_is_refused_by_direction(pinned):
    client = pinned
    client.create_order(BTC, "market", "buy", 0.01)
    stop = {"stopLossPrice": PRICE + 100, "reduceOnly": True}  # a sell stop above the market: falls "up"
    _, answer = _raises(
        client, ccxt.InvalidOrder, 110093, lambda: client.create_order(BTC, "market", "sell", 0.01, None, stop)
    )
    assert "expect Falling" in answer["retMsg"]
    take = {"takeProfitPrice": PRICE - 100, "reduceOnly": True}
    _raises(client, ccxt.InvalidOrder, 110092, lambda: client.create_order(BTC, "market", "sell", 0.01, None, take))


def test_a_halted_symbol_refuses_orders(bybit_client, bybit_control):
    bybit_control.halt("BTCUSDT")
    try:
        _raises(bybit_client, ccxt.ExchangeError, 110066, lambda: bybit_client.create_order(BTC, "market", "buy", 0.01))
        assert bybit_client.fetch_markets()[0]["active"] is False
    finally:
        bybit_control.halt("BTCUSDT", False)


def test_a_rate_limit_is_10006_with_bybit_limit_headers(bybit_client, bybit_control):
    bybit_client.fetch_balance()
    headers = {k.lower(): v for k, v in bybit_client.last_response_headers.items()}
    assert {"x-bapi-limit", "x-bapi-limit-status", "x-bapi-limit-reset-timestamp"} <= set(headers)
    bybit_control.faults(
        '[[faults]]\nkind = "rate_limit"\nendpoint = "order.new"\noccurrences = [1]\nretry_after = 3\n'
    )
    _raises(bybit_client, ccxt.RateLimitExceeded, 10006, lambda: bybit_client.create_order(BTC, "market", "buy", 0.01))
    headers = {k.lower(): v for k, v in bybit_client.last_response_headers.items()}
    assert headers["x-bapi-limit-status"] == "0"
    assert int(headers["x-bapi-limit-reset-timestamp"]) > json.loads(bybit_client.last_http_response)["time"]
    assert bybit_client.fetch_open_orders(BTC) == []  # refused before the engine saw it


def test_an_unknown_path_is_10017(bybit_client, bybit_venue):
    url = bybit_client.implode_hostname(bybit_client.urls["api"]["public"]) + "/v5/market/no-such-thing"
    with pytest.raises(ccxt.BadRequest, match="10017"):
        bybit_client.fetch(url, "GET")
