"""The real ccxt client trades against the venue started from the command line, as against Binance."""

from __future__ import annotations

import ccxt
import pytest

from tests.venue.conftest import BTC, make_client


def test_a_full_round_trip_through_ccxt(client, control):
    candles = client.fetch_ohlcv(BTC, "5m", limit=50)
    assert len(candles) == 50
    assert all(later[0] - earlier[0] == 300_000 for earlier, later in zip(candles, candles[1:]))
    assert client.fetch_balance()["USDT"]["free"] == pytest.approx(float(control.state()["wallet_balance"]))

    client.set_leverage(5, BTC)
    entry = client.create_order(BTC, "market", "buy", 0.01, None, {"newClientOrderId": "round-trip-entry"})
    assert entry["status"] == "closed" and entry["filled"] == 0.01
    [position] = client.fetch_positions([BTC])
    assert position["side"] == "long" and position["contracts"] == 0.01
    assert position["leverage"] is None  # positionRisk v3 (ccxt's default) has no leverage, as on Binance
    assert client.fetch_positions([BTC], {"useV2": True})[0]["leverage"] == 5
    assert position["entryPrice"] == pytest.approx(entry["average"])
    assert position["liquidationPrice"] < entry["average"]

    stop = client.create_order(
        BTC,
        "market",
        "sell",
        0.01,
        None,
        {"type": "STOP_MARKET", "stopPrice": round(entry["average"] * 0.8, 1), "reduceOnly": True},
    )
    assert client.fetch_order(stop["id"], BTC, {"trigger": True})["status"] == "open"
    assert [o["id"] for o in client.fetch_open_orders(BTC, params={"trigger": True})] == [stop["id"]]

    close = client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert close["status"] == "closed"
    assert client.fetch_positions([BTC]) == []
    client.cancel_order(stop["id"], BTC, {"trigger": True})

    trades = client.fetch_my_trades(BTC)
    ours = [t for t in trades if t["order"] in (entry["id"], close["id"])]
    assert [(t["side"], t["amount"]) for t in ours] == [("buy", 0.01), ("sell", 0.01)]
    assert all(t["fee"]["cost"] > 0 for t in ours)
    found = client.fetch_order(None, BTC, {"origClientOrderId": "round-trip-entry"})
    assert found["id"] == entry["id"]


def test_stop_market_triggers_when_the_price_crosses_and_is_recorded(client, control):
    entry = client.create_order(BTC, "market", "buy", 0.01)
    trigger = round(entry["average"] * 0.99, 1)
    stop = client.create_order(
        BTC, "market", "sell", 0.01, None, {"type": "STOP_MARKET", "stopPrice": trigger, "closePosition": True}
    )
    control.price("BTCUSDT", entry["average"] * 0.98)
    try:
        algo = client.fetch_order(stop["id"], BTC, {"trigger": True})
        assert algo["status"] == "closed"
        assert client.fetch_positions([BTC]) == []
        actual = algo["info"]["actualOrderId"]
        assert client.fetch_order(actual, BTC)["average"] == pytest.approx(trigger)
    finally:
        control.price("BTCUSDT", None)


def test_reduce_only_that_would_open_a_position_is_rejected(client):
    with pytest.raises(ccxt.InvalidOrder, match="-2022"):
        client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})


def test_exchange_filters_are_enforced_with_binance_codes(client):
    with pytest.raises(ccxt.InvalidOrder, match="-4164"):  # below min notional (100 USDT for BTC)
        client.create_order(BTC, "market", "buy", 0.001)
    with pytest.raises(ccxt.BadRequest, match="-4005"):  # above MARKET_LOT_SIZE
        client.create_order(BTC, "market", "buy", 500)
    with pytest.raises(ccxt.InsufficientFunds, match="-2019"):
        client.create_order(BTC, "market", "buy", 100)
    with pytest.raises(ccxt.BadRequest, match="-1111"):  # not a multiple of the step (ccxt sends it raw)
        client.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0105"})


def test_client_order_ids_are_unique_among_open_orders(client):
    resting = client.create_order(BTC, "limit", "buy", 0.01, 20_000, {"newClientOrderId": "only-once"})
    with pytest.raises(ccxt.InvalidOrder, match="-4116"):
        client.create_order(BTC, "market", "buy", 0.01, None, {"newClientOrderId": "only-once"})
    assert len([o for o in client.fetch_orders(BTC) if o["clientOrderId"] == "only-once"]) == 1
    client.cancel_order(resting["id"], BTC)  # done: as on Binance, its id may be used again
    again = client.create_order(BTC, "limit", "buy", 0.01, 20_000, {"newClientOrderId": "only-once"})
    assert client.fetch_order(None, BTC, {"origClientOrderId": "only-once"})["id"] == again["id"]


def test_wrong_key_or_signature_is_refused_and_the_venue_keeps_serving(venue, client):
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        make_client(venue, key="somebody-else").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        make_client(venue, secret="wrong-secret").fetch_balance()
    with pytest.raises(ccxt.BadRequest, match="-1102"):
        client.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"})
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        client.fapiPrivateGetAllOrders({"symbol": "NOPEUSDT"})
    assert client.fetch_balance()["USDT"]["total"] > 0


def test_the_secret_never_reaches_the_venue_log(venue, client):
    client.fetch_balance()
    assert not any("venue-test-secret" in line for line in venue.output)
    assert "venue-test-secret" not in " ".join(venue.proc.args)
