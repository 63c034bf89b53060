"""freqtrade's own Bybit exchange class, live futures, on the venue's Bybit dialect: it starts as on a
unified account, and each refusal sends it down the branch Bybit's answer sends it down. Every retCode
the dialect can answer is one ccxt's bybit class knows, so none falls through to a generic error."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ccxt
import pytest

import robust_plugin.venue
from robust_plugin.tools.backtest_env import venue_exchange_config
from robust_plugin.venue.bybit_errors import _TRANSLATION
from tests.venue.conftest import API_KEY, API_SECRET, BTC

PRICE = 50_000


@pytest.fixture
def freqtrade_bybit(bybit_venue, bybit_control):
    from freqtrade.enums import RunMode
    from freqtrade.exchange import Bybit

    config = {
        "dry_run": False,
        "runmode": RunMode.LIVE,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "timeframe": "5m",
        "exchange": {
            "name": "bybit",
            "key": API_KEY,
            "secret": API_SECRET,
            "pair_whitelist": [BTC],
            "enable_ws": False,
            **venue_exchange_config(bybit_venue)["exchange"],
        },
    }
    bybit_control.price("BTCUSDT", PRICE)
    exchange = Bybit(config, validate=False)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)
        yield exchange
    finally:
        bybit_control.external(action="cancel_stops", symbol="BTCUSDT")  # flat for the next test
        bybit_control.external(action="close", symbol="BTCUSDT")
        bybit_control.price("BTCUSDT", None)
        exchange.close()


def test_every_ret_code_the_dialect_answers_is_in_ccxts_bybit_table():
    source = "\n".join(p.read_text() for p in Path(robust_plugin.venue.__file__).parent.glob("bybit_*.py"))
    codes = {int(c) for c in re.findall(r"BybitError\(\s*(\d{5,6})\b", source)}
    codes |= {code for code, _ in _TRANSLATION.values()}
    assert {10001, 10002, 10003, 10004, 10006, 110001, 110007, 110017, 110072, 110094} <= codes
    table = ccxt.bybit().exceptions["exact"]
    assert sorted(c for c in codes if str(c) not in table) == []


def test_freqtrade_starts_as_on_a_unified_account_and_takes_bybits_branches(freqtrade_bybit, bybit_control):
    from freqtrade.exceptions import InsufficientFundsError, InvalidOrderException, TemporaryError

    exchange = freqtrade_bybit
    exchange.additional_exchange_init()
    assert exchange.unified_account is True
    with pytest.raises(InsufficientFundsError, match="110007"):
        exchange.create_order(pair=BTC, ordertype="market", side="buy", amount=100, rate=PRICE, leverage=1)
    with pytest.raises(InvalidOrderException, match="110017") as refused:
        exchange.create_order(
            pair=BTC, ordertype="market", side="sell", amount=0.01, rate=PRICE, leverage=1, reduceOnly=True
        )
    assert not isinstance(refused.value, TemporaryError)

    entry = exchange.create_order(pair=BTC, ordertype="market", side="buy", amount=0.01, rate=PRICE, leverage=3)
    assert exchange.fetch_order(entry["id"], BTC)["status"] == "closed"
    # a stop above the market for a long: Bybit's 110093, an invalid order freqtrade answers with an exit
    with pytest.raises(InvalidOrderException, match="110093"):
        exchange.create_stoploss(
            pair=BTC, amount=0.01, stop_price=55_000, order_types={"stoploss": "market"}, side="sell", leverage=3
        )
    stop = exchange.create_stoploss(
        pair=BTC, amount=0.01, stop_price=45_000, order_types={"stoploss": "market"}, side="sell", leverage=3
    )
    fetched = exchange.fetch_stoploss_order(stop["id"], BTC)
    assert (fetched["status"], fetched["stopPrice"], fetched["amount"]) == ("open", 45_000, 0.01)
    exchange.cancel_stoploss_order(stop["id"], BTC)
    assert exchange.fetch_stoploss_order(stop["id"], BTC)["status"] == "canceled"
    exit_ = exchange.create_order(
        pair=BTC, ordertype="market", side="sell", amount=0.01, rate=PRICE, leverage=3, reduceOnly=True
    )
    assert exchange.fetch_order(exit_["id"], BTC)["filled"] == 0.01
    assert not bybit_control.state()["positions"]
    since = datetime.now(UTC) - timedelta(minutes=5)
    [trade] = exchange.get_trades_for_order(entry["id"], BTC, since)
    assert trade["order"] == entry["id"] and trade["amount"] == 0.01
