"""Each scripted fault: ccxt raises what it raises against Binance, and the ground truth records it."""

from __future__ import annotations

import time

import ccxt
import pytest

from tests.venue.conftest import BTC, make_client


def fired(control, kind: str) -> list[dict]:
    return [f for f in control.state()["faults_fired"] if f["kind"] == kind]


def orders_with_client_id(control, client_id: str) -> list[dict]:
    return [o for o in control.state()["orders"] if o["client_order_id"] == client_id]


def test_lost_response_the_order_executes_but_the_client_times_out(client, control):
    control.faults('[[faults]]\nkind = "lost_response"\nendpoint = "order.new"\noccurrences = [1]\n')
    with pytest.raises(ccxt.RequestTimeout):
        client.create_order(BTC, "market", "buy", 0.01, None, {"newClientOrderId": "lost-1"})
    [order] = orders_with_client_id(control, "lost-1")
    assert order["status"] == "FILLED"
    assert client.fetch_order(None, BTC, {"origClientOrderId": "lost-1"})["status"] == "closed"
    assert client.fetch_positions([BTC])[0]["contracts"] == 0.01
    assert len(fired(control, "lost_response")) == 1


def test_rate_limit_answers_429_with_retry_after(client, control):
    control.faults('[[faults]]\nkind = "rate_limit"\nendpoint = "positionRisk"\nretry_after = 3\noccurrences = [1]\n')
    with pytest.raises(ccxt.DDoSProtection, match="429"):
        client.fetch_positions([BTC])
    assert client.last_response_headers["Retry-After"] == "3"
    assert client.fetch_positions([BTC]) == []  # the second request passes
    assert len(fired(control, "rate_limit")) == 1


def test_ip_ban_answers_418(client, control):
    control.faults('[[faults]]\nkind = "rate_limit"\nstatus = 418\nendpoint = "account"\noccurrences = [1]\n')
    with pytest.raises(ccxt.DDoSProtection, match="418"):
        client.fetch_balance()


def test_disconnect_is_binance_minus_1001(client, control):
    control.faults('[[faults]]\nkind = "disconnect"\nendpoint = "order.new"\noccurrences = [1]\n')
    with pytest.raises(ccxt.OperationFailed, match="-1001"):
        client.create_order(BTC, "market", "buy", 0.01, None, {"newClientOrderId": "dc-1"})
    assert orders_with_client_id(control, "dc-1") == []  # refused before execution


def test_server_error_502_is_exchange_not_available(client, control):
    control.faults('[[faults]]\nkind = "server_error"\nstatus = 502\nendpoint = "openOrders"\noccurrences = [1]\n')
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.fetch_open_orders(BTC)
    assert client.fetch_open_orders(BTC) == []


def test_latency_beyond_the_client_timeout_is_a_request_timeout(venue, control):
    slow = make_client(venue, timeout=500)
    control.faults('[[faults]]\nkind = "latency"\nseconds = 2\nendpoint = "ticker"\noccurrences = [1]\n')
    with pytest.raises(ccxt.RequestTimeout):
        slow.fetch_ticker(BTC)
    assert fired(control, "latency")


def test_insufficient_margin_is_injected_without_executing(client, control):
    control.faults('[[faults]]\nkind = "insufficient_margin"\noccurrences = [1]\n')
    with pytest.raises(ccxt.InsufficientFunds, match="-2019"):
        client.create_order(BTC, "market", "buy", 0.01, None, {"newClientOrderId": "im-1"})
    assert orders_with_client_id(control, "im-1") == []


def test_reduce_only_rejection_leaves_the_position(client, control):
    client.create_order(BTC, "market", "buy", 0.01)
    control.faults('[[faults]]\nkind = "reduce_only_reject"\nreduce_only = true\noccurrences = [1]\n')
    with pytest.raises(ccxt.InvalidOrder, match="-2022"):
        client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert client.fetch_positions([BTC])[0]["contracts"] == 0.01


def test_immediate_liquidation_after_entry_is_recorded_as_binance_records_it(client, control):
    control.faults('[[faults]]\nkind = "liquidate_after_entry"\noccurrences = [1]\n')
    entry = client.create_order(BTC, "market", "buy", 0.01)
    assert entry["status"] == "closed"
    assert client.fetch_positions([BTC]) == []
    liquidation = [o for o in client.fetch_orders(BTC) if o["clientOrderId"].startswith("autoclose-")]
    assert len(liquidation) == 1 and liquidation[0]["side"] == "sell" and liquidation[0]["filled"] == 0.01
    assert liquidation[0]["id"] in {t["order"] for t in client.fetch_my_trades(BTC)}
    assert fired(control, "liquidate_after_entry")


def test_partial_fill_expires_the_rest_of_a_market_order(client, control):
    control.faults('[[faults]]\nkind = "partial_fill"\nratio = 0.5\noccurrences = [1]\n')
    order = client.create_order(BTC, "market", "buy", 0.02)
    assert order["filled"] == 0.01 and order["status"] == "expired"
    assert client.fetch_positions([BTC])[0]["contracts"] == 0.01


def test_halted_symbol_refuses_orders_for_a_while(client, control):
    control.faults('[[faults]]\nkind = "halt"\nsymbols = ["BTCUSDT"]\nuntil = "10m"\n')
    with pytest.raises(ccxt.OperationRejected, match="-4141"):
        client.create_order(BTC, "market", "buy", 0.01)
    control.clear_faults()
    assert client.create_order(BTC, "market", "buy", 0.01)["status"] == "closed"


def test_outside_changes_to_positions_and_stops(client, control):
    control.external(action="open", symbol="BTCUSDT", side="SELL", quantity="0.02")
    [position] = client.fetch_positions([BTC])
    assert position["side"] == "short" and position["contracts"] == 0.02
    stop = client.create_order(
        BTC,
        "market",
        "buy",
        0.02,
        None,
        {"type": "STOP_MARKET", "stopPrice": round(position["entryPrice"] * 1.2, 1), "reduceOnly": True},
    )
    control.external(action="cancel_stops", symbol="BTCUSDT")
    assert client.fetch_order(stop["id"], BTC, {"trigger": True})["status"] == "canceled"
    control.external(action="close", symbol="BTCUSDT")
    assert client.fetch_positions([BTC]) == []
    assert [o["origin"] for o in control.state()["orders"] if o["client_order_id"].startswith("web_")][-2:] == [
        "external"
    ] * 2


def test_position_visibility_lag_hides_a_fresh_fill(client, control):
    control.faults('[[faults]]\nkind = "position_lag"\nseconds = 2\n')
    client.create_order(BTC, "market", "buy", 0.01)
    assert client.fetch_positions([BTC]) == []
    assert control.state()["positions"][0]["amount"] == "0.010"  # the truth knows
    time.sleep(2.2)
    assert client.fetch_positions([BTC])[0]["contracts"] == 0.01
    assert fired(control, "position_lag")


def test_probability_faults_replay_identically_for_a_seed(venue, control):
    outcomes = []
    for _ in range(2):
        control.clear_faults()
        control.faults('seed = 5\n[[faults]]\nkind = "server_error"\nendpoint = "time"\nprobability = 0.5\n')
        client = make_client(venue)
        run = []
        for _ in range(12):
            try:
                client.fetch_time()
                run.append(True)
            except ccxt.ExchangeNotAvailable:
                run.append(False)
        outcomes.append(run)
    assert True in outcomes[0] and False in outcomes[0]
    assert outcomes[0] == outcomes[1]


def test_phantom_fill_reports_a_fill_that_never_happened(client, control):
    control.faults('[[faults]]\nkind = "phantom_fill"\noccurrences = [1]\n')
    order = client.create_order(BTC, "market", "buy", 0.01, None, {"newClientOrderId": "phantom-1"})
    assert order["status"] == "closed" and order["filled"] == 0.01
    assert client.fetch_positions([BTC]) == []
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order(None, BTC, {"origClientOrderId": "phantom-1"})
    assert fired(control, "phantom_fill")
