"""Guards against leaks: every URL a client configured for the venue can reach is on loopback, and
ccxt treats each of them as it treats the Binance URL it stands for."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support
import ccxt.pro
import pytest

from robust_plugin.venue.__main__ import parse_args
from robust_plugin.venue.ccxt_config import venue_ccxt_config
from tests.venue.conftest import freqtrade_binance

PORT = 8443
SECTIONS = ("api", "test", "demo")


def urls_of(client) -> list[str]:
    found: list[str] = []

    def walk(node):
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for section in SECTIONS:
        walk(client.urls.get(section, {}))
    return found


def assert_loopback_only(client, port: int) -> None:
    urls = urls_of(client)
    assert len(urls) > 20, urls
    for url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname, parts.port) in (("https", "127.0.0.1", port), ("wss", "127.0.0.1", port))
        assert parts.username and parts.username.endswith(".venue") and parts.password is None, url
    assert client.hostname == f"venue@127.0.0.1:{port}"


def assert_production_tables(client) -> None:
    """For every REST base URL, ccxt picks the exception tables it picks for the Binance URL it replaces."""
    production = getattr(ccxt, type(client).__name__)()
    for key, url in client.urls["api"].items():
        if not isinstance(url, str):
            continue  # websocket entries: no REST error handling
        real = production.urls["api"][key]
        for kind in ("exact", "broad"):
            assert client.get_exceptions_by_url(url + "/x", kind) == production.get_exceptions_by_url(real + "/x", kind)
    fapi = client.urls["api"]["fapiPrivate"] + "/order"
    assert client.get_exceptions_by_url(fapi, "exact") == client.exceptions["linear"]["exact"]


@pytest.mark.parametrize(
    "cls",
    [ccxt.binance, ccxt.binanceusdm, ccxt.pro.binance, ccxt.pro.binanceusdm],
    ids=["binance", "binanceusdm", "pro.binance", "pro.binanceusdm"],
)
def test_every_url_of_a_client_built_for_the_venue_is_loopback(cls, tmp_path):
    async def build_and_check():  # async clients are made (and closed) inside a running loop
        client = cls(venue_ccxt_config(PORT, tmp_path / "ca.pem"))
        try:
            assert_loopback_only(client, PORT)
            assert_production_tables(client)
            assert client.cafile == client.validateServerSsl == str(tmp_path / "ca.pem")
        finally:
            if hasattr(client, "close") and asyncio.iscoroutinefunction(client.close):
                await client.close()

    asyncio.run(build_and_check())


def test_async_support_clients_get_the_same_urls(tmp_path):
    async def build():
        client = ccxt.async_support.binance(venue_ccxt_config(PORT, tmp_path / "ca.pem"))
        await client.close()
        return client

    assert_loopback_only(asyncio.run(build()), PORT)


def test_freqtrades_own_clients_reach_only_the_venue(venue):
    with freqtrade_binance(venue) as exchange:
        assert exchange._config["exchange"]["only_from_ccxt"] is True  # no data.binance.vision downloads
        for client in (exchange._api, exchange._api_async):
            assert_loopback_only(client, venue.port)
            assert_production_tables(client)
        assert exchange._api.options["defaultType"] == "swap"  # what freqtrade 2026.9 sets for Binance futures
        assert exchange._api.fetch_time() > 0  # and they do reach it, over TLS
        assert exchange.loop.run_until_complete(exchange._api_async.fetch_time()) > 0


def test_the_venue_binds_loopback_only(tmp_path):
    with pytest.raises(SystemExit):
        parse_args(["--data", str(tmp_path), "--host", "0.0.0.0"])
    assert parse_args(["--data", str(tmp_path)]).host == "127.0.0.1"


@pytest.mark.parametrize("option", ["--weight-limit", "--order-limit"])
def test_a_limit_that_is_not_positive_is_refused_naming_the_option(tmp_path, option, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--data", str(tmp_path), option, "0"])
    assert f"{option} must be positive" in capsys.readouterr().err
    assert getattr(parse_args(["--data", str(tmp_path), option, "300"]), option[2:].replace("-", "_")) == 300
