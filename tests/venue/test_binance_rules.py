"""Binance USD-M's documented rules, each probed with a raw signed request against a running venue.

Every test is one row of a behaviour table: the Binance code, the condition that provokes it, the
answer Binance documents (https://developers.binance.com/docs/derivatives/usds-margined-futures).
The requests are built and signed by hand (no ccxt), so the rule under test is the venue's, not a
client's; parameters a client would add on its own are left out on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from robust_plugin.venue.process import RunningVenue, run_venue
from tests.venue.conftest import API_KEY, API_SECRET, BTC, Control, make_client

PRICE = 50_000  # BTCUSDT pinned: bid 50000.0, ask 50000.1, mark 50000
LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.01",
    "price": "45000",
    "timeInForce": "GTC",
}
MARKET = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01", "newOrderRespType": "RESULT"}


class Answer:
    def __init__(self, status: int, headers, body: str):
        self.status, self.headers, self.text = status, headers, body
        self.json = json.loads(body) if body else None

    @property
    def code(self) -> int | None:
        return self.json.get("code") if isinstance(self.json, dict) else None

    def __repr__(self) -> str:
        return f"{self.status} {self.text[:300]}"


def send(venue: RunningVenue, method: str, path: str, params: dict | None = None, signed: bool = True) -> Answer:
    """One request as a hand-written Binance client sends it: query string, HMAC-SHA256 signature."""
    params = dict(params or {})
    query = urlencode(params)
    if signed:
        query = urlencode({**params, "timestamp": int(time.time() * 1000)})
        query += "&signature=" + hmac.new(API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{venue.base_url}{path}?{query}", method=method)
    if signed:
        request.add_header("X-MBX-APIKEY", API_KEY)
    try:
        with urllib.request.urlopen(request, timeout=10, context=venue.ssl_context) as response:
            return Answer(response.status, response.headers, response.read().decode())
    except urllib.error.HTTPError as refusal:
        return Answer(refusal.code, refusal.headers, refusal.read().decode())


@pytest.fixture(scope="module")
def rules_venue(venue_datadir):
    with run_venue(venue_datadir, api_key=API_KEY, api_secret=API_SECRET) as venue:
        Control(venue).price("BTCUSDT", PRICE)
        yield venue


@pytest.fixture
def v(rules_venue):
    """The venue, flat and without open orders after the test."""
    yield rules_venue
    for symbol in ("BTCUSDT", "SOLUSDT"):
        send(rules_venue, "POST", "/fapi/v1/leverage", {"symbol": symbol, "leverage": 20})
        send(rules_venue, "DELETE", "/fapi/v1/allOpenOrders", {"symbol": symbol})
        for algo in send(rules_venue, "GET", "/fapi/v1/openAlgoOrders", {"symbol": symbol}).json:
            send(rules_venue, "DELETE", "/fapi/v1/algoOrder", {"algoId": algo["algoId"]})
        for row in send(rules_venue, "GET", "/fapi/v2/positionRisk", {"symbol": symbol}).json:
            amount = float(row["positionAmt"])
            if amount:
                close = {"symbol": symbol, "side": "SELL" if amount > 0 else "BUY", "type": "MARKET"}
                send(
                    rules_venue, "POST", "/fapi/v1/order", close | {"quantity": str(abs(amount)), "reduceOnly": "true"}
                )


def order(v, **changes) -> Answer:
    return send(v, "POST", "/fapi/v1/order", {k: x for k, x in {**LIMIT, **changes}.items() if x is not None})


# -- -4116: clientOrderId unique among OPEN orders only -------------------------------------------
def test_4116_reusing_the_id_of_an_open_order_is_refused(v):
    assert order(v, newClientOrderId="rule-open").status == 200
    refused = order(v, newClientOrderId="rule-open")
    assert (refused.status, refused.json) == (400, {"code": -4116, "msg": "ClientOrderId is duplicated."})


def test_4116_reusing_the_id_of_a_done_order_is_accepted_and_lookups_find_the_newest(v):
    first = order(v, newClientOrderId="rule-reuse").json
    send(v, "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": first["orderId"]})
    second = order(v, newClientOrderId="rule-reuse", price="44000")
    assert second.status == 200, second
    assert second.json["orderId"] != first["orderId"]
    found = send(v, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "rule-reuse"}).json
    assert (found["orderId"], found["status"], found["price"]) == (second.json["orderId"], "NEW", "44000")
    filled = order(v, type="MARKET", price=None, timeInForce=None, newClientOrderId="rule-filled").json
    assert filled["status"] in ("NEW", "FILLED")
    again = order(v, newClientOrderId="rule-filled")  # the first one filled at once: the id is free
    assert again.status == 200, again


# -- PERCENT_PRICE: -4016 / -4024 ------------------------------------------------------------------
def test_percent_price_filter_is_published(v):
    info = send(v, "GET", "/fapi/v1/exchangeInfo", signed=False).json
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    rule = next(f for f in btc["filters"] if f["filterType"] == "PERCENT_PRICE")
    assert rule == {
        "filterType": "PERCENT_PRICE",
        "multiplierUp": "1.0500",
        "multiplierDown": "0.9500",
        "multiplierDecimal": "4",
    }


@pytest.mark.parametrize(
    ("side", "price", "status", "answer"),
    [
        ("BUY", "52500.1", 400, {"code": -4016, "msg": "Limit price can't be higher than 52500.0."}),
        ("BUY", "52500.0", 200, None),  # at the cap: accepted (and fills at once, it crosses the ask)
        ("SELL", "47499.9", 400, {"code": -4024, "msg": "Limit price can't be lower than 47500.0."}),
        ("SELL", "55000", 200, None),  # a sell above the mark is not limited by multiplierUp
        ("BUY", "40000", 200, None),  # nor a buy below the mark by multiplierDown
    ],
)
def test_4016_4024_limit_price_outside_percent_price_of_the_mark(v, side, price, status, answer):
    got = order(v, side=side, price=price)
    assert got.status == status, got
    if answer:
        assert got.json == answer


# -- -4048 / -4046: margin type -------------------------------------------------------------------
def margin_type(v, margin: str, symbol: str = "BTCUSDT") -> Answer:
    return send(v, "POST", "/fapi/v1/marginType", {"symbol": symbol, "marginType": margin})


def test_4048_margin_type_cannot_change_with_a_position_or_open_orders(v):
    busy = {"code": -4048, "msg": "Margin type cannot be changed if there exists position."}
    assert order(v, type="MARKET", price=None, timeInForce=None).status == 200  # a position
    assert margin_type(v, "CROSSED").json == busy
    order(v, side="SELL", type="MARKET", price=None, timeInForce=None, reduceOnly="true")
    assert order(v).status == 200  # no position, an open order
    assert margin_type(v, "CROSSED").json == busy
    send(v, "DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"})
    assert margin_type(v, "CROSSED").json == {"code": 200, "msg": "success"}  # flat and no orders
    assert margin_type(v, "CROSSED").json == {"code": -4046, "msg": "No need to change margin type."}
    assert order(v).status == 200
    assert margin_type(v, "CROSSED").json["code"] == -4046  # nothing to change comes first
    assert margin_type(v, "ISOLATED").json == busy
    send(v, "DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"})
    assert margin_type(v, "ISOLATED").json == {"code": 200, "msg": "success"}


def test_setting_the_margin_type_it_already_has_is_no_change_even_with_a_position(v):
    """The venue's symbols start ISOLATED: freqtrade's first "isolated" on a symbol changes nothing, so
    a position opened from outside before it does not make it -4048."""
    assert order(v, symbol="SOLUSDT", type="MARKET", price=None, timeInForce=None, quantity="1").status == 200
    assert margin_type(v, "ISOLATED", "SOLUSDT").json == {"code": 200, "msg": "success"}
    assert margin_type(v, "CROSSED", "SOLUSDT").json["code"] == -4048


# -- -4045: MAX_NUM_ALGO_ORDERS -------------------------------------------------------------------
def stop(v, trigger: str) -> Answer:
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "algoType": "CONDITIONAL"}
    return send(v, "POST", "/fapi/v1/algoOrder", params | {"triggerPrice": trigger, "closePosition": "true"})


def test_4045_the_11th_open_conditional_order_on_a_symbol_is_refused(v):
    info = send(v, "GET", "/fapi/v1/exchangeInfo", signed=False).json
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10} in btc["filters"]
    placed = [stop(v, str(40_000 + i)) for i in range(10)]
    assert all(a.status == 200 for a in placed), placed
    assert stop(v, "39000").json == {"code": -4045, "msg": "Reach max stop order limit."}
    send(v, "DELETE", "/fapi/v1/algoOrder", {"algoId": placed[0].json["algoId"]})
    assert stop(v, "39000").status == 200  # a place is free again


# -- -4028: leverage above the symbol's brackets --------------------------------------------------
def bundled(symbol: str) -> list[dict]:
    """Binance's brackets for ``symbol`` as freqtrade bundles them (a snapshot of leverageBracket)."""
    from robust_plugin.venue.binance_rules import _bundled

    return _bundled()[symbol]


def test_leverage_brackets_are_per_symbol_and_binances_own(v):
    rows = {r["symbol"]: r["brackets"] for r in send(v, "GET", "/fapi/v1/leverageBracket").json}
    assert rows["BTCUSDT"] == bundled("BTC/USDT:USDT")
    assert rows["SOLUSDT"] == bundled("SOL/USDT:USDT")
    assert rows["BTCUSDT"][0]["initialLeverage"] > rows["SOLUSDT"][0]["initialLeverage"] >= 75
    for brackets in rows.values():
        for lower, upper in zip(brackets, brackets[1:], strict=False):
            assert upper["notionalFloor"] == lower["notionalCap"]
            assert upper["initialLeverage"] < lower["initialLeverage"]
            # cum makes the maintenance margin continuous at the bracket boundary
            at_cap = lower["notionalCap"] * lower["maintMarginRatio"] - lower["cum"]
            assert upper["notionalFloor"] * upper["maintMarginRatio"] - upper["cum"] == pytest.approx(at_cap)
    one = send(v, "GET", "/fapi/v1/leverageBracket", {"symbol": "SOLUSDT"}).json
    assert one == [{"symbol": "SOLUSDT", "notionalCoef": 1.0, "brackets": rows["SOLUSDT"]}]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "SOLUSDT"])
def test_4028_leverage_above_the_symbols_max_is_refused(v, symbol):
    brackets = {r["symbol"]: r["brackets"] for r in send(v, "GET", "/fapi/v1/leverageBracket").json}[symbol]
    top = brackets[0]["initialLeverage"]

    def leverage(n: int) -> dict:
        return send(v, "POST", "/fapi/v1/leverage", {"symbol": symbol, "leverage": n}).json

    assert leverage(top) == {"leverage": top, "maxNotionalValue": str(brackets[0]["notionalCap"]), "symbol": symbol}
    assert leverage(top + 1) == {"code": -4028, "msg": f"Leverage {top + 1} is not valid"}
    assert leverage(0) == {"code": -4028, "msg": "Leverage 0 is not valid"}
    cap = max(b["notionalCap"] for b in brackets if b["initialLeverage"] >= 20)
    assert leverage(20) == {"leverage": 20, "maxNotionalValue": str(cap), "symbol": symbol}


def test_symbols_freqtrade_does_not_bundle_get_brackets_by_size():
    from robust_plugin.venue import binance_rules
    from robust_plugin.venue.markets import _spec

    assert binance_rules.brackets(_spec("ZZZ", "USDT", "perpetual", 28.0))[0]["initialLeverage"] == 50
    assert binance_rules.brackets(_spec("ZZZ", "USDT", "perpetual", 0.001))[0]["initialLeverage"] == 20


# -- request weights: X-MBX-USED-WEIGHT-1M, order counts, -1003 as 429 then 418 ------------------
def test_every_answer_carries_the_used_weight_and_orders_their_counts(v):
    before = int(send(v, "GET", "/fapi/v1/time", signed=False).headers["X-MBX-USED-WEIGHT-1M"])
    risk = send(v, "GET", "/fapi/v2/positionRisk")  # weight 5
    used = int(risk.headers["X-MBX-USED-WEIGHT-1M"])
    assert used == before + 5 or used == 5  # unless a new minute began in between
    assert "X-MBX-ORDER-COUNT-1M" not in risk.headers
    placed = order(v)
    assert int(placed.headers["X-MBX-ORDER-COUNT-10S"]) >= 1
    assert int(placed.headers["X-MBX-ORDER-COUNT-1M"]) >= 1
    refused = order(v, price="1e9")  # refusals are counted and answered with the counts too
    assert refused.status == 400 and "X-MBX-USED-WEIGHT-1M" in refused.headers


def test_weights_follow_binances_endpoint_pages():
    from robust_plugin.venue.weights import weight

    assert weight("GET", "/fapi/v1/klines", {"limit": "99"}) == 1
    assert weight("GET", "/fapi/v1/klines", {}) == 5  # default limit 500
    assert weight("GET", "/fapi/v1/klines", {"limit": "1500"}) == 10
    assert weight("GET", "/fapi/v1/depth", {"limit": "1000"}) == 20
    assert weight("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}) == 1
    assert weight("GET", "/fapi/v1/openOrders", {}) == 40
    assert weight("POST", "/fapi/v1/order", {}) == 0
    assert weight("GET", "/fapi/v1/income", {}) == 30
    assert weight("GET", "/api/v3/exchangeInfo", {}) == 0  # spot counts on spot's limit


def test_1003_over_the_weight_limit_is_429_then_418_for_a_client_that_keeps_going(venue_datadir):
    extra = ["--weight-limit", "30"]
    with run_venue(venue_datadir, api_key=API_KEY, api_secret=API_SECRET, extra_args=extra) as limited:
        if time.time() % 60 > 50:  # the minute must not roll over between the requests below
            time.sleep(61 - time.time() % 60)
        answers = [send(limited, "GET", "/fapi/v2/positionRisk") for _ in range(6)]  # 6 x 5 = 30: within
        assert [a.status for a in answers] == [200] * 6
        assert answers[-1].headers["X-MBX-USED-WEIGHT-1M"] == "30"
        over = send(limited, "GET", "/fapi/v1/time", signed=False)
        assert (over.status, over.code) == (429, -1003), over
        assert "current limit of IP(127.0.0.1) is 30 requests per minute" in over.json["msg"]
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        banned = send(limited, "GET", "/fapi/v1/time", signed=False)  # did not wait: banned
        assert (banned.status, banned.code) == (418, -1003), banned
        assert banned.json["msg"].startswith("Way too many requests; IP(127.0.0.1) banned until ")
        assert 60 < int(banned.headers["Retry-After"]) <= 120
        still = send(limited, "GET", "/fapi/v2/balance")
        assert (still.status, still.code) == (418, -1003)


def test_order_counts_over_the_limit_are_refused_1015_and_not_placed():
    from robust_plugin.venue.weights import RequestWeights

    now = [999_960.0]  # a minute (and a 10-second window) starts here
    counts = RequestWeights(clock=lambda: now[0], order_limit=3)
    admit = [counts.admit("POST", "/fapi/v1/order", {}) for _ in range(4)]
    assert admit[:3] == [None] * 3
    assert (admit[3].status, admit[3].code, admit[3].headers) == (429, -1015, {})  # Binance sends no Retry-After
    assert admit[3].msg == "Too many new orders; current limit is 3 orders per 10 SECOND."
    assert counts.orders_10s == 3  # the refused order is not placed, so not counted
    assert counts.admit("GET", "/fapi/v1/order", {}) is None  # reading is not placing
    for _ in range(3):  # three more 10-second windows: 12 orders in the minute, then the minute's limit
        now[0] += 10
        assert [counts.admit("POST", "/fapi/v1/algoOrder", {}) for _ in range(3)] == [None] * 3
    now[0] += 10
    assert counts.admit("POST", "/fapi/v1/order", {}).msg.endswith("limit is 12 orders per 1 MINUTE.")
    now[0] += 20  # a new minute
    assert counts.admit("POST", "/fapi/v1/order", {}) is None
    assert RequestWeights().order_limit is None  # by default counted, never refused


def test_1015_through_the_venue_reaches_ccxt_as_rate_limited_and_places_nothing(venue_datadir):
    import ccxt

    with run_venue(venue_datadir, api_key=API_KEY, api_secret=API_SECRET, extra_args=["--order-limit", "2"]) as lim:
        Control(lim).price("BTCUSDT", PRICE)
        if time.time() % 10 > 7:  # the 10 seconds must not roll over between the orders below
            time.sleep(10.5 - time.time() % 10)
        assert [order(lim, newClientOrderId=f"count-{i}").status for i in range(2)] == [200, 200]
        over = order(lim, newClientOrderId="count-2")
        assert (over.status, over.code) == (429, -1015), over
        assert "Retry-After" not in over.headers
        client = make_client(lim)
        with pytest.raises(ccxt.DDoSProtection):  # ccxt raises this for every 429 from Binance
            client.create_order(BTC, "limit", "buy", 0.01, 45_000)
        assert {o["clientOrderId"] for o in client.fetch_open_orders(BTC)} == {"count-0", "count-1"}


# -- newOrderRespType: ACK by default -------------------------------------------------------------
def test_an_order_without_newOrderRespType_is_answered_ack(v):
    ack = order(v, type="MARKET", price=None, timeInForce=None, newClientOrderId="rule-ack")
    assert ack.status == 200, ack
    assert (ack.json["status"], ack.json["executedQty"], ack.json["cumQuote"]) == ("NEW", "0", "0.00000")
    assert ack.json["clientOrderId"] == "rule-ack" and ack.json["updateTime"] == ack.json["time"]
    after = send(v, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": ack.json["orderId"]}).json
    assert (after["status"], after["executedQty"]) == ("FILLED", "0.01")  # it did fill; ACK just does not say
    result = order(v, side="SELL", type="MARKET", price=None, timeInForce=None, newOrderRespType="RESULT")
    assert (result.json["status"], result.json["executedQty"]) == ("FILLED", "0.01")


def test_ccxt_asks_for_result_on_every_futures_order(rules_venue):
    """freqtrade's orders go through ccxt, which sends RESULT: the ACK default does not reach them."""
    client = make_client(rules_venue)
    for kind, price in (("market", None), ("limit", 45_000)):
        assert client.create_order_request(BTC, kind, "buy", 0.01, price)["newOrderRespType"] == "RESULT"


# -- positionRisk v2 / v3, balance ----------------------------------------------------------------
def test_position_risk_v2_lists_every_symbol_v3_only_open_positions(v):
    assert order(v, type="MARKET", price=None, timeInForce=None, quantity="0.5").status == 200  # 25k notional
    v2 = {r["symbol"]: r for r in send(v, "GET", "/fapi/v2/positionRisk").json}
    info = send(v, "GET", "/fapi/v1/exchangeInfo", signed=False).json
    assert set(v2) == {s["symbol"] for s in info["symbols"]}
    assert float(v2["SOLUSDT"]["positionAmt"]) == 0 and v2["SOLUSDT"]["leverage"] == "20"
    assert float(v2["BTCUSDT"]["positionAmt"]) == 0.5
    assert {"leverage", "marginType", "maxNotionalValue", "isAutoAddMargin"} <= set(v2["BTCUSDT"])
    assert "maintMargin" not in v2["BTCUSDT"]
    assert len(send(v, "GET", "/fapi/v2/positionRisk", {"symbol": "SOLUSDT"}).json) == 1
    v3 = send(v, "GET", "/fapi/v3/positionRisk").json
    assert [r["symbol"] for r in v3] == ["BTCUSDT"]
    assert not {"leverage", "marginType", "maxNotionalValue"} & set(v3[0])
    notional = abs(float(v3[0]["notional"]))
    assert notional == pytest.approx(25_000, rel=0.01)
    first = bundled("BTC/USDT:USDT")[0]  # 25k is in BTCUSDT's first bracket, where cum is 0
    assert notional < first["notionalCap"] and first["cum"] == 0
    assert float(v3[0]["maintMargin"]) == pytest.approx(notional * first["maintMarginRatio"])
    assert send(v, "GET", "/fapi/v3/positionRisk", {"symbol": "SOLUSDT"}).json == []


def test_maint_margin_uses_the_bracket_of_the_notional():
    from decimal import Decimal

    from robust_plugin.venue import binance_rules
    from robust_plugin.venue.markets import _spec

    btc = _spec("BTC", "USDT", "perpetual", 50_000.0)
    second = bundled("BTC/USDT:USDT")[1]
    notional = Decimal(second["notionalFloor"] + 1000)  # inside the second bracket
    expected = notional * Decimal(str(second["maintMarginRatio"])) - Decimal(str(second["cum"]))
    assert binance_rules.maint_margin(btc, -notional) == expected
    assert binance_rules.maint_margin(btc, Decimal(0)) == 0


@pytest.mark.parametrize("path", ["/fapi/v2/balance", "/fapi/v3/balance"])
def test_balance_lists_every_margin_asset(v, path):
    rows = {r["asset"]: r for r in send(v, "GET", path).json}
    assert {"USDT", "USDC", "BNB", "BTC", "ETH", "FDUSD"} <= set(rows)
    assert float(rows["USDT"]["balance"]) > 0
    assert rows["BTC"]["balance"] == rows["BTC"]["availableBalance"] == "0.00000000"
    assert set(rows["BTC"]) == set(rows["USDT"])


# -- market data: klines before the first candle, fundingInfo, aggTrades, symbolConfig -------------
def test_klines_from_before_the_first_candle_start_at_the_first_candle(v):
    params = {"symbol": "BTCUSDT", "interval": "1h", "limit": 3}
    newest = send(v, "GET", "/fapi/v1/klines", {**params, "limit": 1500}, signed=False).json
    first = send(v, "GET", "/fapi/v1/klines", {**params, "startTime": 0}, signed=False).json
    assert len(first) == 3, first
    assert first[0][0] <= newest[0][0]  # the first candle the venue has, not a later one
    assert [r[0] for r in first] == [first[0][0] + i * 3_600_000 for i in range(3)]
    before = send(v, "GET", "/fapi/v1/klines", {**params, "startTime": first[0][0] - 86_400_000}, signed=False)
    assert before.json == first


def test_funding_info_and_agg_trades(v):
    info = send(v, "GET", "/fapi/v1/fundingInfo", signed=False).json
    assert {"symbol": "BTCUSDT", "fundingIntervalHours": 8}.items() <= next(
        r for r in info if r["symbol"] == "BTCUSDT"
    ).items()
    trades = send(v, "GET", "/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "limit": 5}, signed=False)
    assert trades.status == 200 and len(trades.json) == 5
    assert set(trades.json[0]) == {"a", "p", "q", "f", "l", "T", "m"}
    assert [t["T"] for t in trades.json] == sorted(t["T"] for t in trades.json)
    assert float(trades.json[-1]["p"]) == PRICE
    assert trades.headers["X-MBX-USED-WEIGHT-1M"]
    bad = send(v, "GET", "/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "limit": 5000}, signed=False)
    assert bad.code == -1130


def test_symbol_config_shows_margin_type_and_leverage(v):
    assert send(v, "POST", "/fapi/v1/leverage", {"symbol": "SOLUSDT", "leverage": 10}).status == 200
    [row] = send(v, "GET", "/fapi/v1/symbolConfig", {"symbol": "SOLUSDT"}).json
    assert row == {
        "symbol": "SOLUSDT",
        "marginType": "ISOLATED",
        "isAutoAddMargin": "false",
        "leverage": 10,
        "maxNotionalValue": str(max(b["notionalCap"] for b in bundled("SOL/USDT:USDT") if b["initialLeverage"] >= 10)),
    }


def test_views_of_a_symbol_whose_max_is_below_the_default_leverage_still_answer():
    """Binance lists symbols capped below the venue's default leverage (20): reads must not fail."""
    from robust_plugin.venue import binance_rules
    from robust_plugin.venue.markets import _spec

    low = next(s for s, rows in binance_rules._bundled().items() if rows[0]["initialLeverage"] < 20)
    base, quote = low.split(":")[0].split("/")
    spec = _spec(base, quote, "perpetual", 1.0)
    assert binance_rules.notional_cap(spec, 20) == binance_rules.brackets(spec)[0]["notionalCap"]
