"""ccxt ``urls`` overrides that point a Binance client at the venue.

ccxt keeps one base URL per API family under ``urls['api']`` (``fapiPublic``, ``fapiPrivate``,
``public``, ``sapi``, ...). A single string there breaks ccxt, so every key is rewritten: the scheme
and host are replaced by the venue's base URL and the path (``/fapi/v1``, ``/api/v3``, ...) is kept.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def _api_urls() -> dict[str, str]:
    import ccxt  # imported here: the venue's server side never needs ccxt

    urls: dict[str, str] = {}
    for exchange in (ccxt.binance(), ccxt.binanceusdm()):
        for key, value in exchange.urls["api"].items():
            if isinstance(value, str):
                urls.setdefault(key, value)
    return urls


def binance_urls(base_url: str) -> dict[str, str]:
    """Every Binance ``urls['api']`` entry with its host replaced by ``base_url``.

    >>> binance_urls("http://127.0.0.1:8123")["fapiPublic"]
    'http://127.0.0.1:8123/fapi/v1'
    """
    base = base_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise ValueError(f"venue base url must start with http:// or https://, got {base_url!r}")
    return {key: base + urlsplit(url).path for key, url in _api_urls().items()}


def use_futures_error_tables(client) -> None:
    """Make a ccxt Binance client raise, against the venue, the exception classes it raises against Binance.

    ccxt picks Binance's USD-M error table (-2019 → ``InsufficientFunds``, -2022 → ``InvalidOrder``, ...)
    by the request's host (``https://fapi.binance.com/``); pointed at a loopback URL it falls back to the
    generic table, where those codes become a plain ``ExchangeError``. This merges the USD-M table into
    the generic one on ``client`` (a sync or async ccxt instance), which is what a client talking to
    ``fapi.binance.com`` would use. Only for clients pointed at the venue.
    """
    linear = client.exceptions.get("linear", {})
    client.exceptions["exact"] = {**client.exceptions.get("exact", {}), **linear.get("exact", {})}
    client.exceptions["broad"] = {**client.exceptions.get("broad", {}), **linear.get("broad", {})}
