"""ccxt constructor options that send a Binance client to the venue, with Binance's production error handling.

ccxt chooses Binance's exception table by the request URL: ``binance.get_exceptions_by_url`` gives
the USD-M ("linear") table only to URLs that start with ``https://fapi.`` + ``hostname`` + ``/``
(``hostname`` is a ccxt option, ``binance.com`` by default); any other URL gets the generic table,
where -2019 is a plain ``ExchangeError`` instead of ``InsufficientFunds``. So every URL keeps its
production shape, with the authority replaced:

    https://fapi.binance.com/fapi/v1  ->  https://fapi.venue@127.0.0.1:PORT/fapi/v1
    hostname                          =   venue@127.0.0.1:PORT

``fapi.venue`` is the URL's userinfo: HTTP clients connect to the IP literal 127.0.0.1 (no name is
ever resolved) and aiohttp sends it as an ``Authorization: Basic`` header, which the venue ignores;
ccxt's prefix check reads ``https://fapi.venue@127.0.0.1:PORT/`` and picks the USD-M table, as it
does for ``fapi.binance.com`` (``api.`` gives spot, ``dapi.`` inverse). The scheme must be https,
so the venue serves TLS from a throwaway CA that the clients trust through two options: ``cafile``
(async, aiohttp) and ``validateServerSsl`` (sync, requests: ccxt passes it as ``verify``; the option
``verify`` would not do, as ccxt sends ``verify and validateServerSsl``). Never use a hostname
without the ``@``: ``127.0.0.1:PORT`` would make ``fapi.127.0.0.1`` a DNS name to look up.

Every URL under ``urls.api``, ``urls.test`` and ``urls.demo`` of ccxt's ``binance`` and
``binanceusdm``, ccxt.pro's websocket entries included, is rewritten, so no request can leave
loopback whatever mode a client is switched to. A single string under ``urls.api`` breaks ccxt, hence
one entry per key. All values are JSON, so the dict fits freqtrade's ``exchange.ccxt_config``.

``exchange="bybit"`` does the same for ccxt's ``bybit`` (V5): its URLs are templates such as
``https://api.{hostname}``, so they become ``https://api.venue@127.0.0.1:PORT`` with the same
``hostname``; ccxt's Bybit error table does not depend on the URL, but the shape is kept anyway, and
the ``demotrading`` section is rewritten too.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

LOOPBACK = "127.0.0.1"
USERINFO = "venue"
SECTIONS = ("api", "test", "demo", "demotrading")
CLIENTS = {"binance": ("binance", "binanceusdm"), "bybit": ("bybit",)}
SCHEMES = ("https", "wss")


def venue_hostname(port: int) -> str:
    """ccxt's ``hostname`` option for the venue: ``venue@127.0.0.1:PORT``."""
    if not 0 < int(port) < 65536:
        raise ValueError(f"not a port: {port!r}")
    return f"{USERINFO}@{LOOPBACK}:{int(port)}"


def _rewrite(url: str, hostname: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(f"unexpected ccxt URL {url!r}")
    label = parts.hostname.split(".")[0]
    return urlunsplit((parts.scheme, f"{label}.{hostname}", parts.path, parts.query, parts.fragment))


def _tree(node: Any, hostname: str) -> Any:
    if isinstance(node, str):
        return _rewrite(node, hostname)
    if isinstance(node, dict):
        return {key: _tree(value, hostname) for key, value in node.items()}
    if isinstance(node, list):
        return [_tree(value, hostname) for value in node]
    return node


@functools.cache
def _production_urls(exchange: str = "binance") -> str:
    """``urls.api/test/demo`` of ccxt.pro's clients for ``exchange`` (for Binance: binance and
    binanceusdm; a superset of the sync and async clients' entries), as JSON so callers get fresh copies."""
    import ccxt.pro  # imported here: the venue's server side never needs ccxt

    if exchange not in CLIENTS:
        raise ValueError(f"unknown exchange {exchange!r}; known: {', '.join(CLIENTS)}")
    merged: dict[str, dict] = {}
    for client in (getattr(ccxt.pro, name)() for name in CLIENTS[exchange]):
        for section in SECTIONS:
            for key, value in client.urls.get(section, {}).items():
                merged.setdefault(section, {}).setdefault(key, value)
    return json.dumps(merged)


def venue_urls(port: int, exchange: str = "binance") -> dict[str, dict]:
    """Every ``urls.api/test/demo`` entry of ``exchange`` pointed at the venue on ``port``, path kept.

    >>> venue_urls(8123)["api"]["fapiPrivate"]
    'https://fapi.venue@127.0.0.1:8123/fapi/v1'
    >>> venue_urls(8123, "bybit")["api"]["private"]
    'https://api.venue@127.0.0.1:8123'
    """
    return _tree(json.loads(_production_urls(exchange)), venue_hostname(port))


def venue_ccxt_config(port: int, ca_file: Path | str, exchange: str = "binance") -> dict[str, Any]:
    """The options (for a ccxt constructor, or freqtrade's ``exchange.ccxt_config``) that reach the venue."""
    return {
        "hostname": venue_hostname(port),
        "urls": venue_urls(port, exchange),
        "cafile": str(ca_file),  # async clients: ssl.create_default_context(cafile=...)
        "validateServerSsl": str(ca_file),  # sync clients: requests' verify=<CA file>
    }
