"""A venue process with keys, and real ccxt clients pointed at it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import ccxt
import pytest

from robust_plugin.tools.backtest_env import venue_exchange_config
from robust_plugin.tools.sampledata import generate
from robust_plugin.venue.process import RunningVenue, run_venue

API_KEY, API_SECRET = "venue-test-key", "venue-test-secret"
BTC = "BTC/USDT:USDT"


@pytest.fixture(scope="session")
def venue_datadir(tmp_path_factory):
    path = tmp_path_factory.mktemp("venue-data") / "binance"
    generate(path, days=5, seed=11)
    return path


@pytest.fixture(scope="session")
def venue(venue_datadir):
    with run_venue(venue_datadir, api_key=API_KEY, api_secret=API_SECRET) as running:
        yield running


class Control:
    """The venue's own endpoints: faults, outside changes, prices, ground truth."""

    def __init__(self, venue: RunningVenue):
        self.venue = venue

    def faults(self, toml: str):
        return self.venue.call("POST", "/_venue/faults", toml)

    def clear_faults(self):
        return self.venue.call("DELETE", "/_venue/faults")

    def state(self) -> dict:
        return self.venue.state()

    def requests(self) -> list[dict]:
        return self.venue.call("GET", "/_venue/requests")

    def external(self, **body):
        return self.venue.call("POST", "/_venue/external", body)

    def price(self, symbol: str, price: float | None):
        return self.venue.call("POST", "/_venue/price", {"symbol": symbol, "price": price})

    def halt(self, symbol: str, halted: bool = True):
        return self.venue.call("POST", "/_venue/halt", {"symbol": symbol, "halted": halted})


@pytest.fixture
def control(venue):
    control = Control(venue)
    control.clear_faults()
    yield control
    control.clear_faults()


def make_client(venue: RunningVenue, key: str = API_KEY, secret: str = API_SECRET, **extra) -> ccxt.binanceusdm:
    """A ccxt USD-M client on the venue, over HTTPS with the exception table it uses against Binance."""
    client = ccxt.binanceusdm(
        {"apiKey": key, "secret": secret, **venue.ccxt_config(), "options": {"fetchCurrencies": False}, **extra}
    )
    client.load_markets()
    return client


@pytest.fixture
def client(venue, control):
    client = make_client(venue)
    yield client
    for position in client.fetch_positions():  # leave the account flat for the next test
        side = "sell" if position["side"] == "long" else "buy"
        client.create_order(position["symbol"], "market", side, position["contracts"], None, {"reduceOnly": True})
    for order in client.fetch_open_orders(BTC):
        client.cancel_order(order["id"], BTC)


@contextlib.contextmanager
def freqtrade_binance(venue: RunningVenue, key: str = API_KEY, secret: str = API_SECRET) -> Iterator:
    """freqtrade's own Binance exchange object, live futures, with the exchange config every venue run
    uses (demo, tests, chaos, bench): its ``_api`` (ccxt.binance) and ``_api_async`` (ccxt.pro.binance)
    are built by freqtrade, its futures ``defaultType`` (``swap``) included."""
    from freqtrade.enums import RunMode
    from freqtrade.exchange import Binance

    exchange_config = venue_exchange_config(venue)["exchange"]
    config = {
        "dry_run": False,
        "runmode": RunMode.LIVE,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "timeframe": "5m",
        "exchange": {"name": "binance", "key": key, "secret": secret, "pair_whitelist": [BTC], **exchange_config},
    }
    exchange = Binance(config, validate=False)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)
        yield exchange
    finally:
        exchange.close()


@pytest.fixture(scope="session")
def bybit_venue(venue_datadir):
    """The same venue speaking Bybit V5 (``--exchange bybit``), on the same data."""
    with run_venue(venue_datadir, api_key=API_KEY, api_secret=API_SECRET, exchange="bybit") as running:
        yield running


@pytest.fixture
def bybit_control(bybit_venue):
    control = Control(bybit_venue)
    control.clear_faults()
    yield control
    control.clear_faults()


def make_bybit_client(venue: RunningVenue, key: str = API_KEY, secret: str = API_SECRET, **extra) -> ccxt.bybit:
    """ccxt's own ``bybit`` class on the venue, configured as for Bybit (URLs aside)."""
    client = ccxt.bybit({"apiKey": key, "secret": secret, **venue.ccxt_config(), **extra})
    client.load_markets()
    return client


@pytest.fixture
def bybit_client(bybit_venue, bybit_control):
    client = make_bybit_client(bybit_venue)
    yield client
    bybit_control.clear_faults()  # a failed test may leave a fault that would hide what is left
    for position in client.fetch_positions():  # leave the account flat for the next test
        side = "sell" if position["side"] == "long" else "buy"
        client.create_order(position["symbol"], "market", side, position["contracts"], None, {"reduceOnly": True})
    client.cancel_all_orders(BTC)
