"""Every error the venue answers makes ccxt raise the class it raises for that answer from Binance.

Each case below provokes one answer on a running venue through three real clients: freqtrade's own
``ccxt.binance`` (sync) and ``ccxt.pro.binance`` (async), built by freqtrade for live futures, and a
``ccxt.binanceusdm`` built from the same options. The expected class is not written here: it is what
ccxt's own ``handle_errors`` (and then ``handle_http_status_code``, as ccxt's ``fetch`` does) raises
for the same status and body at the production URL, ``https://fapi.binance.com/...``. A last test
holds the cases to the error codes written in the venue's source, so a new code needs a case.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ccxt
import pytest

import robust_plugin.venue
from robust_plugin.venue.ccxt_config import LOOPBACK, USERINFO
from robust_plugin.venue.process import run_venue
from tests.venue.conftest import API_KEY, API_SECRET, BTC, Control, freqtrade_binance

PRICE = 50_000  # BTCUSDT pinned: bid 50000.0, ask 50000.1 (tick 0.1)
DUPLICATE_ID = "fidelity-resting"
ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.01",
    "price": "25000",
    "timeInForce": "GTC",
}
STOP = {
    "symbol": "ETHUSDT",
    "side": "SELL",
    "type": "STOP_MARKET",
    "algoType": "CONDITIONAL",
    "triggerPrice": "0.01",
    "closePosition": "true",
}
SCENARIO = '[[markets]]\nsymbol = "ETHUSDT"\nmin_qty = 1\n'  # so that a step-aligned quantity can be below min


@dataclass(frozen=True)
class Case:
    label: str
    code: int | None  # the Binance code in the answer; None for a gateway page without one
    call: Any  # client -> result (sync) or coroutine (async)
    fault: str | None = None  # posted to the venue just before


def api(method: str, **params):
    return lambda client: getattr(client, method)(params)


def order(**changes):
    return api("fapiPrivatePostOrder", **{k: v for k, v in {**ORDER, **changes}.items() if v is not None})


def raw(key: str | None):
    """A request to a signed endpoint built by hand: ``key`` (None: no key header), a bad signature."""

    def call(client):
        url = f"{client.urls['api']['fapiPrivateV2']}/balance?timestamp={int(time.time() * 1000)}&signature={'0' * 64}"
        headers = {"X-MBX-APIKEY": key} if key else {}
        client.set_last_request({"url": url, "headers": headers, "body": None})  # as fetch2 does before fetch
        return client.fetch(url, "GET", headers, None)

    return call


def fault(kind: str, **params) -> str:
    lines = [f'kind = "{kind}"', 'endpoint = "time"', "occurrences = [1]"] + [f"{k} = {v}" for k, v in params.items()]
    return "[[faults]]\n" + "\n".join(lines) + "\n"


TIME = api("fapiPublicGetTime")
CASES = [
    Case("unknown path", -1000, api("fapiPublicGetIndexInfo")),
    Case("method not allowed", -1000, api("fapiPrivatePutOrder", symbol="BTCUSDT", orderId="1")),
    Case("disconnect", -1001, TIME, fault("disconnect")),
    Case("rate limit 429", -1003, TIME, fault("rate_limit", retry_after=1)),
    Case("ip ban 418", -1003, TIME, fault("rate_limit", status=418, retry_after=1)),
    Case("stale timestamp", -1021, api("fapiPrivateGetOpenOrders", timestamp=int(time.time() * 1000) - 600_000)),
    Case("bad signature", -1022, raw(API_KEY)),
    Case("illegal value", -1100, api("fapiPrivateGetOrder", symbol="BTCUSDT", orderId="abc")),
    Case("missing parameter", -1102, order(side=None)),
    Case("quantity precision", -1111, order(type="MARKET", price=None, timeInForce=None, quantity="0.0105")),
    Case("time in force", -1115, order(timeInForce="XYZ")),
    Case("order type", -1116, order(type="FOO")),
    Case("side", -1117, order(side="UP")),
    Case("kline interval", -1120, api("fapiPublicGetKlines", symbol="BTCUSDT", interval="7m")),
    Case("unknown symbol", -1121, api("fapiPrivateGetAllOrders", symbol="NOPEUSDT")),
    Case("kline limit", -1130, api("fapiPublicGetKlines", symbol="BTCUSDT", interval="5m", limit=5000)),
    Case("recv window", -1131, api("fapiPrivateGetOpenOrders", recvWindow=70_000)),
    Case("cancel unknown order", -2011, api("fapiPrivateDeleteOrder", symbol="BTCUSDT", orderId="999999999")),
    Case("unknown order", -2013, api("fapiPrivateGetOrder", symbol="BTCUSDT", orderId="999999999")),
    Case("no api key", -2014, raw(None)),
    Case("unknown api key", -2015, raw("somebody-else")),
    Case("insufficient margin", -2019, order(type="MARKET", price=None, timeInForce=None, quantity="100")),
    Case(
        "stop would trigger at once",
        -2021,
        api(
            "fapiPrivatePostAlgoOrder",
            symbol="BTCUSDT",
            side="SELL",
            type="STOP_MARKET",
            algoType="CONDITIONAL",
            triggerPrice="55000",
            closePosition="true",
        ),
    ),
    Case(
        "reduce-only rejected",
        -2022,
        order(side="SELL", type="MARKET", price=None, timeInForce=None, reduceOnly="true"),
    ),
    Case("price below zero", -4001, order(price="-0.1")),
    Case("quantity zero", -4003, order(quantity="0")),
    Case("quantity below min", -4004, order(symbol="ETHUSDT", quantity="0.5", price="3000")),
    Case("quantity above market max", -4005, order(type="MARKET", price=None, timeInForce=None, quantity="500")),
    Case("price tick", -4014, order(price="25000.05")),
    Case("client order id invalid", -4015, order(newClientOrderId="not valid!")),
    Case("limit buy above PERCENT_PRICE", -4016, order(price="60000")),
    Case("limit sell below PERCENT_PRICE", -4024, order(side="SELL", price="40000")),
    Case("leverage", -4028, api("fapiPrivatePostLeverage", symbol="BTCUSDT", leverage=1000)),
    Case("eleventh conditional order", -4045, api("fapiPrivatePostAlgoOrder", **STOP)),
    Case("margin type unchanged", -4046, api("fapiPrivatePostMarginType", symbol="BTCUSDT", marginType="ISOLATED")),
    Case(
        "margin type with open orders", -4048, api("fapiPrivatePostMarginType", symbol="BTCUSDT", marginType="CROSSED")
    ),
    Case("position side unchanged", -4059, api("fapiPrivatePostPositionSideDual", dualSidePosition="false")),
    Case("position side", -4061, order(positionSide="LONG")),
    Case("hedge mode", -4068, api("fapiPrivatePostPositionSideDual", dualSidePosition="true")),
    Case("client order id reused", -4116, order(newClientOrderId=DUPLICATE_ID)),
    Case("conditional type on the order endpoint", -4120, order(type="STOP_MARKET", stopPrice="45000")),
    Case("symbol halted", -4141, order(symbol="SOLUSDT", type="MARKET", price=None, timeInForce=None, quantity="1")),
    Case("min notional", -4164, order(type="MARKET", price=None, timeInForce=None, quantity="0.001")),
    Case("post only would take", -5022, order(price="50100", timeInForce="GTX")),
    Case("gateway 502", None, TIME, fault("server_error", status=502)),
    Case("gateway 503", None, TIME, fault("server_error", status=503)),
    Case("gateway 504", None, TIME, fault("server_error", status=504)),
]
# answers the venue can give that no client request provokes
UNPROVOKED = {-1000: "500: only when a venue handler fails (a venue bug)"}
# answers that need a venue started with other options, each with the test that provokes it there
ELSEWHERE = {
    -1015: "test_binance_rules.py::test_1015_through_the_venue_reaches_ccxt_as_rate_limited_and_places_nothing",
}


@pytest.fixture(scope="module")
def fidelity_venue(venue_datadir, tmp_path_factory):
    scenario = tmp_path_factory.mktemp("fidelity") / "scenario.toml"
    scenario.write_text(SCENARIO)
    with run_venue(venue_datadir, api_key=API_KEY, api_secret=API_SECRET, scenario=scenario) as venue:
        control = Control(venue)
        control.price("BTCUSDT", PRICE)
        control.halt("SOLUSDT")
        with freqtrade_binance(venue) as exchange:
            usdm = ccxt.binanceusdm({"apiKey": API_KEY, "secret": API_SECRET, **venue.ccxt_config()})
            usdm.load_markets()
            usdm.fapiPrivatePostMarginType({"symbol": "BTCUSDT", "marginType": "ISOLATED"})
            usdm.fapiPrivatePostOrder({**ORDER, "newClientOrderId": DUPLICATE_ID})  # rests: its id is taken
            for _ in range(10):  # ETHUSDT's open conditional orders at their limit
                usdm.fapiPrivatePostAlgoOrder(STOP)
            clients = {
                "freqtrade binance sync": (exchange._api, lambda result: result),
                "freqtrade binance async": (exchange._api_async, exchange.loop.run_until_complete),
                "binanceusdm sync": (usdm, lambda result: result),
            }
            yield venue, control, clients, exchange


def production_url(url: str) -> str:
    """The URL the same request has against Binance: https://fapi.venue@127.0.0.1:P/x -> https://fapi.binance.com/x."""
    parts = urlsplit(url)
    label, userinfo = parts.username.split(".", 1)
    assert (userinfo, parts.hostname) == (USERINFO, LOOPBACK), url
    return urlunsplit((parts.scheme, f"{label}.binance.com", parts.path, parts.query, parts.fragment))


def production_class(client, url: str, method: str, status: int, headers, body: str):
    """What ccxt raises for this answer at the production URL: ``handle_errors``, then the HTTP status."""
    twin = getattr(ccxt, type(client).__name__)()  # the sync class of the same exchange, production URLs
    twin.options = client.options
    reason = HTTPStatus(status).phrase
    prod = production_url(url)
    try:
        if not twin.handle_errors(status, reason, prod, method, headers, body, twin.parse_json(body), {}, None):
            twin.handle_http_status_code(status, reason, prod, method, body)
    except ccxt.BaseError as error:
        return type(error)
    return None


@pytest.mark.parametrize("client_name", ["freqtrade binance sync", "freqtrade binance async", "binanceusdm sync"])
@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_ccxt_raises_the_class_it_raises_against_binance(fidelity_venue, client_name, case):
    venue, control, clients, _ = fidelity_venue
    client, run = clients[client_name]
    control.clear_faults()
    if case.fault:
        control.faults(case.fault)
    client.last_request_url = None
    with pytest.raises(ccxt.BaseError) as raised:
        run(case.call(client))
    answer = control.requests()[-1]
    url = client.last_request_url
    assert answer["path"] == urlsplit(url).path
    body = client.last_http_response
    if case.code is not None:
        assert f'"code":{case.code},' in body, body  # the venue gave the answer this case is about
    expected = production_class(client, url, answer["method"], answer["status"], client.last_response_headers, body)
    assert expected is not None
    assert type(raised.value) is expected, f"{answer['status']} {body}: {raised.value!r}"


def test_freqtrade_takes_the_branches_it_takes_on_binance(fidelity_venue):
    from freqtrade.exceptions import InsufficientFundsError, InvalidOrderException, TemporaryError

    *_, exchange = fidelity_venue
    # -2019: execute_trade_exit catches this one (looks for the lost order) instead of failing the loop
    with pytest.raises(InsufficientFundsError, match="-2019"):
        exchange.create_order(pair=BTC, ordertype="market", side="buy", amount=100, rate=PRICE, leverage=1)
    # -2022: an invalid order, not a temporary error
    with pytest.raises(InvalidOrderException, match="-2022") as refused:
        exchange.create_order(
            pair=BTC, ordertype="market", side="sell", amount=0.01, rate=PRICE, leverage=1, reduceOnly=True
        )
    assert not isinstance(refused.value, TemporaryError)
    # -2021 on a stop: create_stoploss_order answers an InvalidOrderException with an emergency exit
    with pytest.raises(InvalidOrderException, match="-2021"):
        exchange.create_stoploss(
            pair=BTC, amount=0.01, stop_price=55_000, order_types={"stoploss": "market"}, side="sell", leverage=1
        )


def test_every_error_code_in_the_venue_has_a_case():
    source = "\n".join(p.read_text() for p in Path(robust_plugin.venue.__file__).parent.glob("*.py"))
    codes = {int(code) for code in re.findall(r'(?:VenueError\(\s*|"code":\s*)(-\d{4})\b', source)}
    assert len(codes) > 30
    assert codes == {case.code for case in CASES if case.code is not None} | set(ELSEWHERE)
    assert set(UNPROVOKED) <= codes
    for where in ELSEWHERE.values():
        path, name = where.split("::")
        assert f"def {name}(" in (Path(__file__).parent / path).read_text(), where
