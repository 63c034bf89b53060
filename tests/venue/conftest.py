"""A venue process with keys, and real ccxt clients pointed at it."""

from __future__ import annotations

import json
import urllib.request

import ccxt
import pytest

from robust_plugin.tools.sampledata import generate
from robust_plugin.venue.ccxt_urls import binance_urls, use_futures_error_tables
from robust_plugin.venue.process import run_venue

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

    def __init__(self, base_url: str):
        self.base_url = base_url

    def _call(self, method: str, path: str, body: str | None = None, content_type: str = "application/json"):
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=body.encode() if body is not None else None,
            headers={"Content-Type": content_type},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def faults(self, toml: str):
        return self._call("POST", "/_venue/faults", toml, "application/toml")

    def clear_faults(self):
        return self._call("DELETE", "/_venue/faults")

    def state(self) -> dict:
        return self._call("GET", "/_venue/state")

    def external(self, **body):
        return self._call("POST", "/_venue/external", json.dumps(body))

    def price(self, symbol: str, price: float | None):
        return self._call("POST", "/_venue/price", json.dumps({"symbol": symbol, "price": price}))


@pytest.fixture
def control(venue):
    control = Control(venue.base_url)
    control.clear_faults()
    yield control
    control.clear_faults()


def make_client(base_url: str, key: str = API_KEY, secret: str = API_SECRET, **extra) -> ccxt.binanceusdm:
    client = ccxt.binanceusdm(
        {
            "apiKey": key,
            "secret": secret,
            "urls": {"api": binance_urls(base_url)},
            "options": {"fetchCurrencies": False},
            **extra,
        }
    )
    use_futures_error_tables(client)
    client.load_markets()
    return client


@pytest.fixture
def client(venue, control):
    client = make_client(venue.base_url)
    yield client
    for position in client.fetch_positions():  # leave the account flat for the next test
        side = "sell" if position["side"] == "long" else "buy"
        client.create_order(position["symbol"], "market", side, position["contracts"], None, {"reduceOnly": True})
    for order in client.fetch_open_orders(BTC):
        client.cancel_order(order["id"], BTC)
