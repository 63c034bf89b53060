"""Public Binance endpoints: markets, time, candles, mark prices, funding, tickers, order book."""

from __future__ import annotations

from decimal import Decimal

from robust_plugin.venue import errors
from robust_plugin.venue.markets import exchange_info
from robust_plugin.venue.prices import timeframe_ms
from robust_plugin.venue.venue import Venue

FUNDING_MS = 8 * 3_600_000
INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")


def _int(params: dict, name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_value(name) from None


def _symbol(venue: Venue, params: dict) -> str:
    return venue.engine.spec(params.get("symbol")).symbol


def server_time(venue: Venue, params: dict):
    return {"serverTime": venue.now_ms()}


def spot_info(venue: Venue, params: dict):
    return exchange_info(venue.markets, "spot", venue.now_ms())


def futures_info(venue: Venue, params: dict):
    document = exchange_info(venue.markets, "perpetual", venue.now_ms())
    halted = venue.engine.halted if venue.engine else set()
    for entry in document["symbols"]:
        if entry["symbol"] in halted:
            entry["status"] = "BREAK"
    return document


def delivery_info(venue: Venue, params: dict):
    return exchange_info(venue.markets, "delivery", venue.now_ms())


def _klines(venue: Venue, params: dict, source: str):
    symbol = _symbol(venue, params)
    interval = params.get("interval")
    if not interval:
        raise errors.missing("interval")
    if interval not in INTERVALS:
        raise errors.VenueError(-1120, "Invalid interval.")
    limit = _int(params, "limit", 500)
    if not 1 <= limit <= 1500:
        raise errors.VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    try:
        return venue.prices.klines(
            symbol, timeframe_ms(interval), _int(params, "startTime"), _int(params, "endTime"), limit, source
        )
    except ValueError:
        raise errors.VenueError(-1120, "Invalid interval.") from None


def klines(venue: Venue, params: dict):
    return _klines(venue, params, "trade")


def mark_klines(venue: Venue, params: dict):
    return _klines(venue, params, "mark")


def _premium(venue: Venue, symbol: str, now: int) -> dict:
    price = venue.engine.price(symbol, now)
    next_funding = now - now % FUNDING_MS + FUNDING_MS
    return {
        "symbol": symbol,
        "markPrice": str(price),
        "indexPrice": str(price),
        "estimatedSettlePrice": str(price),
        "lastFundingRate": f"{venue.prices.funding_rate(symbol, now):.8f}",
        "interestRate": "0.00010000",
        "nextFundingTime": next_funding,
        "time": now,
    }


def premium_index(venue: Venue, params: dict):
    now = venue.now_ms()
    if params.get("symbol"):
        return _premium(venue, _symbol(venue, params), now)
    return [_premium(venue, symbol, now) for symbol in venue.engine.markets]


def funding_rate(venue: Venue, params: dict):
    symbols = [_symbol(venue, params)] if params.get("symbol") else list(venue.engine.markets)
    now = venue.now_ms()
    limit = min(_int(params, "limit", 100), 1000)
    end = min(_int(params, "endTime", now), now)
    start = _int(params, "startTime")
    first = (start + (-start) % FUNDING_MS) if start is not None else end - end % FUNDING_MS - (limit - 1) * FUNDING_MS
    rows = []
    for symbol in symbols:
        t = first
        while t <= end and len(rows) < limit * len(symbols):
            rows.append(
                {
                    "symbol": symbol,
                    "fundingTime": t,
                    "fundingRate": f"{venue.prices.funding_rate(symbol, t):.8f}",
                    "markPrice": str(venue.engine.price(symbol, t)),
                }
            )
            t += FUNDING_MS
    return rows[-limit:] if start is None else rows[:limit]


def _ticker(venue: Venue, symbol: str, now: int) -> dict:
    rows = venue.prices.klines(symbol, 3_600_000, now - 24 * 3_600_000, now, 25)
    last = venue.engine.price(symbol, now)
    first = Decimal(rows[0][1]) if rows else last
    high = max([Decimal(r[2]) for r in rows] + [last])
    low = min([Decimal(r[3]) for r in rows] + [last])
    volume = sum((Decimal(r[5]) for r in rows), Decimal(0))
    return {
        "symbol": symbol,
        "priceChange": str(last - first),
        "priceChangePercent": f"{(last - first) / first * 100:.3f}",
        "weightedAvgPrice": str(last),
        "lastPrice": str(last),
        "lastQty": "1",
        "openPrice": str(first),
        "highPrice": str(high),
        "lowPrice": str(low),
        "volume": str(volume),
        "quoteVolume": str(volume * last),
        "openTime": now - 24 * 3_600_000,
        "closeTime": now,
        "firstId": 1,
        "lastId": 2,
        "count": 2,
    }


def ticker_24hr(venue: Venue, params: dict):
    now = venue.now_ms()
    if params.get("symbol"):
        return _ticker(venue, _symbol(venue, params), now)
    return [_ticker(venue, symbol, now) for symbol in venue.engine.markets]


def ticker_price(venue: Venue, params: dict):
    now = venue.now_ms()
    symbols = [_symbol(venue, params)] if params.get("symbol") else list(venue.engine.markets)
    rows = [{"symbol": s, "price": str(venue.engine.price(s, now)), "time": now} for s in symbols]
    return rows[0] if params.get("symbol") else rows


def book_ticker(venue: Venue, params: dict):
    now = venue.now_ms()
    symbols = [_symbol(venue, params)] if params.get("symbol") else list(venue.engine.markets)
    rows = []
    for symbol in symbols:
        bid, ask = venue.engine.bid_ask(symbol, now)
        size = str(_level_qty(venue, symbol, bid))
        rows.append(
            {
                "symbol": symbol,
                "bidPrice": str(bid),
                "bidQty": size,
                "askPrice": str(ask),
                "askQty": size,
                "time": now,
                "lastUpdateId": now,
            }
        )
    return rows[0] if params.get("symbol") else rows


def _level_qty(venue: Venue, symbol: str, price: Decimal) -> Decimal:
    spec = venue.engine.spec(symbol)
    qty = (Decimal(50_000) / price / spec.step_size).to_integral_value() * spec.step_size  # ~50k USDT per level
    return max(qty, spec.min_qty)


def depth(venue: Venue, params: dict):
    symbol = _symbol(venue, params)
    limit = _int(params, "limit", 500)
    if limit not in (5, 10, 20, 50, 100, 500, 1000):
        raise errors.VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    now = venue.now_ms()
    bid, ask = venue.engine.bid_ask(symbol, now)
    tick = venue.engine.spec(symbol).tick_size
    levels = min(limit, 100)
    qty = str(_level_qty(venue, symbol, bid))
    return {
        "lastUpdateId": now,
        "E": now,
        "T": now,
        "bids": [[str(bid - tick * i), qty] for i in range(levels)],
        "asks": [[str(ask + tick * i), qty] for i in range(levels)],
    }


def funding_info(venue: Venue, params: dict):
    from robust_plugin.venue.binance_views import funding_info as rows

    return rows(venue.engine)


def agg_trades(venue: Venue, params: dict):
    from robust_plugin.venue.binance_views import agg_trades as rows

    limit = _int(params, "limit", 500)
    if not 1 <= limit <= 1000:
        raise errors.VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    now = venue.now_ms()
    return rows(venue.engine, _symbol(venue, params), now, _int(params, "startTime"), _int(params, "endTime"), limit)


def margin_pairs(venue: Venue, params: dict):
    """Spot margin pairs (ccxt asks while loading currencies): the venue has none."""
    return []


ROUTES = [
    ("GET", "/sapi/v1/margin/allPairs", "exchangeInfo", margin_pairs),
    ("GET", "/sapi/v1/margin/isolated/allPairs", "exchangeInfo", margin_pairs),
    ("GET", "/api/v3/exchangeInfo", "exchangeInfo", spot_info),
    ("GET", "/fapi/v1/exchangeInfo", "exchangeInfo", futures_info),
    ("GET", "/dapi/v1/exchangeInfo", "exchangeInfo", delivery_info),
    ("GET", "/fapi/v1/time", "time", server_time),
    ("GET", "/api/v3/time", "time", server_time),
    ("GET", "/fapi/v1/klines", "klines", klines),
    ("GET", "/fapi/v1/continuousKlines", "klines", klines),
    ("GET", "/fapi/v1/markPriceKlines", "klines", mark_klines),
    ("GET", "/fapi/v1/indexPriceKlines", "klines", mark_klines),
    ("GET", "/fapi/v1/premiumIndex", "premiumIndex", premium_index),
    ("GET", "/fapi/v1/fundingRate", "fundingRate", funding_rate),
    ("GET", "/fapi/v1/ticker/24hr", "ticker", ticker_24hr),
    ("GET", "/fapi/v1/ticker/price", "ticker", ticker_price),
    ("GET", "/fapi/v2/ticker/price", "ticker", ticker_price),
    ("GET", "/fapi/v1/ticker/bookTicker", "ticker", book_ticker),
    ("GET", "/fapi/v1/depth", "depth", depth),
    ("GET", "/fapi/v1/fundingInfo", "fundingRate", funding_info),
    ("GET", "/fapi/v1/aggTrades", "ticker", agg_trades),
]
