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
