"""The Binance dialect's fault kinds act on the Bybit dialect too, under the same endpoint names, and
the ground truth has the same shape for both."""

from __future__ import annotations

import ccxt
import pytest

from tests.venue.conftest import BTC


def _fault(control, kind: str, **keys):
    lines = [f'kind = "{kind}"'] + [f"{k} = {v!r}".replace("'", '"') for k, v in keys.items()]
    control.faults("[[faults]]\n" + "\n".join(lines) + "\n")


def test_the_ground_truth_has_the_same_shape_for_both_dialects(client, control, bybit_client, bybit_control):
    binance, bybit = control.state(), bybit_control.state()
    assert set(binance) == set(bybit)
    assert {k: type(v) for k, v in binance.items()} == {k: type(v) for k, v in bybit.items()}
    client.fetch_balance()
    bybit_client.fetch_balance()
    [binance_request, bybit_request] = [c.requests()[-1] for c in (control, bybit_control)]
    assert set(binance_request) == set(bybit_request) and binance_request["endpoint"] == bybit_request["endpoint"]


def test_a_lost_response_executes_the_order_unseen(bybit_client, bybit_control):
    _fault(bybit_control, "lost_response", endpoint="order.new", occurrences=[1])
    with pytest.raises(ccxt.RequestTimeout):
        bybit_client.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "bybit-lost"})
    found = bybit_client.fetch_order("", BTC, {"acknowledged": True, "orderLinkId": "bybit-lost"})
    assert (found["status"], found["filled"]) == ("closed", 0.01)
    assert [f["kind"] for f in bybit_control.state()["faults_fired"]][-1] == "lost_response"


def test_gateway_errors_and_dropped_requests(bybit_client, bybit_control):
    _fault(bybit_control, "server_error", endpoint="positionRisk", occurrences=[1], status=503)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        bybit_client.fetch_positions()
    _fault(bybit_control, "disconnect", endpoint="account", occurrences=[1])
    with pytest.raises(ccxt.RequestTimeout, match="10016"):
        bybit_client.fetch_balance()
    assert bybit_client.fetch_balance()["USDT"]["total"] > 0


def test_rejections_by_fault(bybit_client, bybit_control):
    _fault(bybit_control, "insufficient_margin", endpoint="order.new", occurrences=[1])
    with pytest.raises(ccxt.InsufficientFunds, match="110007"):
        bybit_client.create_order(BTC, "market", "buy", 0.01)
    bybit_client.create_order(BTC, "market", "buy", 0.01)
    _fault(bybit_control, "reduce_only_reject", endpoint="order.new", occurrences=[1])
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        bybit_client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    _fault(bybit_control, "rate_limit", endpoint="algo.new", occurrences=[1])  # conditional orders are algo.new
    with pytest.raises(ccxt.RateLimitExceeded):
        bybit_client.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": 1000.0, "reduceOnly": True})


def test_a_partial_fill(bybit_client, bybit_control):
    _fault(bybit_control, "partial_fill", endpoint="order.new", occurrences=[1], ratio=0.5)
    order = bybit_client.create_order(BTC, "market", "buy", 0.02)
    fetched = bybit_client.fetch_order(order["id"], BTC, {"acknowledged": True})
    assert (fetched["filled"], fetched["info"]["orderStatus"]) == (0.01, "PartiallyFilledCanceled")
    assert bybit_client.fetch_positions()[0]["contracts"] == 0.01


def test_a_liquidation_is_reported_as_bybit_reports_it(bybit_client, bybit_control):
    _fault(bybit_control, "liquidate_after_entry", endpoint="order.new", occurrences=[1])
    bybit_client.create_order(BTC, "market", "buy", 0.01)
    assert bybit_client.fetch_positions() == []
    [liquidation] = [o for o in bybit_client.fetch_closed_orders(BTC) if o["info"]["createType"] == "CreateByLiq"]
    assert (liquidation["side"], liquidation["filled"], liquidation["clientOrderId"]) == ("sell", 0.01, None)
    [bust] = bybit_client.fetch_my_trades(BTC, params={"execType": "BustTrade"})
    assert bust["order"] == liquidation["id"] and bust["info"]["createType"] == "CreateByLiq"
    assert liquidation["id"] not in {t["order"] for t in bybit_client.fetch_my_trades(BTC)}  # ccxt asks for Trade
    assert any(o["origin"] == "liquidation" for o in bybit_control.state()["orders"])


def test_position_lag_hides_a_fresh_fill(bybit_client, bybit_control):
    _fault(bybit_control, "position_lag", seconds=60)
    bybit_client.create_order(BTC, "market", "buy", 0.01)
    assert bybit_client.fetch_positions() == []
    assert bybit_client.fetch_positions([BTC])[0]["contracts"] == 0
    assert [float(p["amount"]) for p in bybit_control.state()["positions"]] == [0.01]
    bybit_control.clear_faults()
    assert bybit_client.fetch_positions()[0]["contracts"] == 0.01


def test_a_phantom_fill_leaves_no_trace(bybit_client, bybit_control):
    _fault(bybit_control, "phantom_fill", endpoint="order.new", occurrences=[1])
    order = bybit_client.create_order(BTC, "market", "buy", 0.01)
    with pytest.raises(ccxt.OrderNotFound):
        bybit_client.fetch_order(order["id"], BTC, {"acknowledged": True})
    assert bybit_client.fetch_positions() == []


def test_changes_from_outside_the_bot(bybit_client, bybit_control):
    bybit_control.external(action="open", symbol="BTCUSDT", side="SELL", quantity="0.01")
    [position] = bybit_client.fetch_positions()
    assert (position["side"], position["contracts"]) == ("short", 0.01)
    stop = bybit_client.create_order(
        BTC, "market", "buy", 0.01, None, {"stopLossPrice": 1_000_000.0, "reduceOnly": True}
    )
    bybit_control.external(action="cancel_stops", symbol="BTCUSDT")
    assert bybit_client.fetch_order(stop["id"], BTC, {"acknowledged": True})["status"] == "canceled"
    bybit_control.external(action="close", symbol="BTCUSDT")
    assert bybit_client.fetch_positions() == []


def test_auto_deleveraging_from_outside_on_both_dialects(client, control, bybit_client, bybit_control):
    """One engine: an ADL reduces the position at the market, without a fee; Bybit reports it as an
    AdlTrade execution of a CreateByAdl_PassThrough order, Binance as an adl_autoclose order."""
    bybit_client.create_order(BTC, "market", "buy", 0.02)
    bybit_control.external(action="adl", symbol="BTCUSDT", quantity="0.01")
    assert bybit_client.fetch_positions()[0]["contracts"] == 0.01
    [adl] = bybit_client.fetch_my_trades(BTC, params={"execType": "AdlTrade"})
    assert (adl["side"], adl["amount"], adl["fee"]["cost"]) == ("sell", 0.01, 0)
    order = bybit_client.fetch_order(adl["order"], BTC, {"acknowledged": True})
    assert order["info"]["createType"] == "CreateByAdl_PassThrough" and order["clientOrderId"] is None

    client.create_order(BTC, "market", "sell", 0.01)
    control.external(action="adl", symbol="BTCUSDT")
    assert client.fetch_positions([BTC]) == []
    [binance_adl] = [o for o in control.state()["orders"] if o["origin"] == "adl"]
    assert binance_adl["client_order_id"].startswith("adl_autoclose") and binance_adl["side"] == "BUY"


def test_a_scenario_may_schedule_an_adl():
    from robust_plugin.venue.faults import parse_scenario

    text = '[[faults]]\nkind = "external"\nat = "30s"\naction = "adl"\nsymbols = ["BTCUSDT"]\n'
    [rule] = parse_scenario(text).rules
    assert rule.params == {"at": 30.0, "action": "adl"}
