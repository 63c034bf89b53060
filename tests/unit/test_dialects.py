"""Exchange dialects against ccxt's own parsers, and client order ids per bot and per exchange."""

from __future__ import annotations

import ccxt
from hypothesis import given
from hypothesis import strategies as st

from robust_plugin.adapter.exchange.boundary import ExchangeBoundary, dialect_for
from robust_plugin.adapter.exchange.dialect import describe
from robust_plugin.core.client_ids import BINANCE_RULE, IdRule, bot_tag, is_valid, make_id
from robust_plugin.core.exchange_reports import OrderState

OKX_RULE = IdRule(32, separator="")  # alphanumeric, up to 32
GATE_RULE = IdRule(28)
HYPERLIQUID_RULE = IdRule(34, hex128=True)


def test_two_bots_with_similar_names_never_share_client_ids():
    one, two = bot_tag("binance-bot-1", "db-a"), bot_tag("binance-bot-2", "db-a")
    assert one != two and one[:4] == two[:4] == "bina"
    assert make_id(one, 1, "x", 1) != make_id(two, 1, "x", 1)


def test_a_replaced_freqtrade_database_never_reuses_an_id():
    """Trade ids start at 1 again in a new database; the database's identity keeps the ids apart."""
    assert bot_tag("bot", "sqlite:///tradesv3.sqlite|2026-01-01") != bot_tag(
        "bot", "sqlite:///tradesv3.sqlite|2026-03-01"
    )


@given(
    st.text(max_size=40), st.text(max_size=40), st.integers(0, 10**12), st.sampled_from("xco"), st.integers(1, 10**13)
)
def test_ids_are_valid_on_every_exchange_rule(name, database, trade_id, kind, number):
    tag = bot_tag(name, database)
    for rule in (BINANCE_RULE, OKX_RULE, GATE_RULE, HYPERLIQUID_RULE):
        cid = make_id(tag, trade_id, kind, number, rule)
        assert is_valid(cid, rule), (rule, cid)
        assert cid == make_id(tag, trade_id, kind, number, rule)  # deterministic: found again after a loss


def test_exchanges_without_a_dialect_send_no_client_ids_and_say_so():
    for name in ("okx", "gate", "hyperliquid", "bitget", "krakenfutures"):
        dialect = dialect_for(name)
        text, attention = describe(dialect)
        assert dialect.id_rule is None and attention
        assert f"robust_plugin on {name}" in text and "order guard" in text and "off" in text
    text, attention = describe(dialect_for("binance"))
    assert not attention and "every capability on" in text


def boundary(name: str, client: ccxt.Exchange) -> ExchangeBoundary:
    from types import SimpleNamespace

    return ExchangeBoundary(SimpleNamespace(_api=client, markets={}), dialect_for(name))


def test_binance_liquidation_orders_are_recognised_from_ccxts_parse():
    client = ccxt.binanceusdm()
    raw = {
        "orderId": 1,
        "symbol": "BTCUSDT",
        "status": "FILLED",
        "clientOrderId": "autoclose-1700000000000123",
        "side": "SELL",
        "origQty": "0.01",
        "executedQty": "0.01",
        "avgPrice": "90000",
        "type": "LIMIT",
        "updateTime": 1700000000000,
    }
    report = boundary("binance", client).order_report(client.parse_order(raw))
    assert report.liquidation and report.state is OrderState.FILLED and report.filled == 0.01


def test_bybit_liquidation_and_adl_orders_are_recognised_from_ccxts_parse():
    client = ccxt.bybit()
    for create_type, liquidation in (("CreateByLiq", True), ("CreateByAdl_PassThrough", True), ("CreateByUser", False)):
        raw = {
            "orderId": "abc",
            "orderLinkId": "",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Market",
            "orderStatus": "Filled",
            "qty": "0.01",
            "cumExecQty": "0.01",
            "avgPrice": "90000",
            "createType": create_type,
            "createdTime": "1700000000000",
            "updatedTime": "1700000000100",
        }
        report = boundary("bybit", client).order_report(client.parse_order(raw))
        assert report.liquidation is liquidation and report.state is OrderState.FILLED


def test_bybit_largest_market_order_comes_from_the_lot_size_filter():
    instrument = {
        "symbol": "BTCUSDT",
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": "BTC",
        "quoteCoin": "USDT",
        "settleCoin": "USDT",
        "priceFilter": {"minPrice": "0.10", "maxPrice": "199999.80", "tickSize": "0.10"},
        "lotSizeFilter": {
            "maxOrderQty": "1190.000",
            "minOrderQty": "0.001",
            "qtyStep": "0.001",
            "maxMktOrderQty": "119.000",
            "minNotionalValue": "5",
        },
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "launchTime": "1584230400000",
        "deliveryTime": "0",
        "fundingInterval": 480,
    }
    # the market structure ccxt's bybit builds in fetch_markets: maxOrderQty becomes limits.amount.max,
    # maxMktOrderQty stays in info only
    market = {"symbol": "BTC/USDT:USDT", "limits": {"amount": {"min": 0.001, "max": 1190.0}}, "info": instrument}
    assert dialect_for("bybit").largest_market_order(market) == 119.0
    assert dialect_for("binance").largest_market_order(market) == 1190.0  # ccxt does not parse maxMktOrderQty


def test_start_up_says_bybit_runs_every_capability_and_okx_runs_without_the_order_guard():
    """Bybit is proven live against the venue's Bybit dialect: no 'not covered' warning any more;
    an exchange without a dialect is told which capability is off and why."""

    text, attention = describe(dialect_for("bybit"))
    assert text == "robust_plugin on bybit: every capability on" and not attention
    text, attention = describe(dialect_for("okx"))
    assert attention and "order guard" in text and "off: no okx dialect" in text


def test_binance_percent_price_refusals_are_limits_not_retried_as_unknown():
    """The venue now enforces PERCENT_PRICE as Binance does (-4016 above the band, -4024 below); both
    are the order's price outside the exchange's limits, not a failure to retry blindly."""
    from robust_plugin.core.failures import FailureClass, classify

    codes = dialect_for("binance").error_codes
    for code in (-4016, -4024):
        error = ccxt.ExchangeError(f'binance {{"code":{code},"msg":"Limit price can\'t be higher than 1.0."}}')
        assert classify(error, None, codes).failure_class is FailureClass.LIMITS
