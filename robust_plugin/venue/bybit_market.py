"""Public Bybit V5 endpoints (``/v5/market/*``): instruments, time, candles, funding, tickers, book, risk limits.

The venue lists USDT perpetuals under ``category=linear`` and its spot markets under ``spot``;
``inverse`` and ``option`` answer empty lists, as for an account that trades none.
"""

from __future__ import annotations

from decimal import Decimal

from robust_plugin.venue.bybit_errors import BybitError, params_error
from robust_plugin.venue.bybit_rules import RISK_TIERS
from robust_plugin.venue.markets import MarketSpec
from robust_plugin.venue.venue import Venue

FUNDING_MS = 8 * 3_600_000
INTERVALS = {
    "1": 60_000,
    "3": 180_000,
    "5": 300_000,
    "15": 900_000,
    "30": 1_800_000,
    "60": 3_600_000,
    "120": 7_200_000,
    "240": 14_400_000,
    "360": 21_600_000,
    "720": 43_200_000,
    "D": 86_400_000,
}
CATEGORIES = ("linear", "inverse", "option", "spot")


def integer(params: dict, name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise params_error(f"{name} invalid") from None


def category(params: dict, allowed: tuple[str, ...] = ("linear",)) -> str:
    value = params.get("category")
    if not value:
        raise params_error("category is required")
    if value not in CATEGORIES:
        raise params_error(f"category {value} invalid")
    if value not in allowed:
        raise params_error(f"category only support {', '.join(allowed)}")
    return value


def linear_spec(venue: Venue, params: dict) -> MarketSpec:
    category(params)
    symbol = params.get("symbol")
    if not symbol:
        raise params_error("symbol is required")
    spec = venue.engine.markets.get(symbol) if venue.engine else None
    if spec is None:
        raise BybitError(10001, "Not supported symbols")
    return spec


def _scale(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)


def _linear_instrument(spec: MarketSpec, halted: bool) -> dict:
    return {
        "symbol": spec.symbol,
        "contractType": "LinearPerpetual",
        "status": "Closed" if halted else "Trading",
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(_scale(spec.tick_size)),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": str(spec.tick_size), "maxPrice": "1999999.80", "tickSize": str(spec.tick_size)},
        "lotSizeFilter": {
            "maxOrderQty": str(spec.max_qty),
            "maxMktOrderQty": str(spec.market_max_qty),
            "minOrderQty": str(spec.min_qty),
            "qtyStep": str(spec.step_size),
            "postOnlyMaxOrderQty": str(spec.max_qty),
            "minNotionalValue": str(spec.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": FUNDING_MS // 60_000,
        "settleCoin": spec.quote,
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "displayName": "",
    }


def _spot_instrument(spec: MarketSpec) -> dict:
    return {
        "symbol": spec.symbol,
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": str(spec.step_size),
            "quotePrecision": "0.00000001",
            "minOrderQty": str(spec.min_qty),
            "maxOrderQty": str(spec.max_qty),
            "minOrderAmt": str(spec.min_notional),
            "maxOrderAmt": "2000000",
        },
        "priceFilter": {"tickSize": str(spec.tick_size)},
        "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"},
    }


def instruments(venue: Venue, params: dict):
    kind = category(params, CATEGORIES)
    rows: list[dict] = []
    if params.get("status") not in (None, "", "Trading"):
        rows = []  # PreLaunch and the like: the venue lists none
    elif kind == "linear":
        halted = venue.engine.halted if venue.engine else set()
        rows = [
            _linear_instrument(spec, spec.symbol in halted)
            for spec in venue.markets.values()
            if spec.kind == "perpetual"
        ]
    elif kind == "spot":
        rows = [_spot_instrument(spec) for spec in venue.markets.values() if spec.kind == "spot"]
    if params.get("symbol"):
        rows = [row for row in rows if row["symbol"] == params["symbol"]]
    return {"category": kind, "list": rows, "nextPageCursor": ""}


def server_time(venue: Venue, params: dict):
    now = venue.now_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def _candles(venue: Venue, params: dict, source: str):
    spec = linear_spec(venue, params)
    interval = params.get("interval")
    if interval not in INTERVALS:
        raise params_error("interval invalid")
    limit = integer(params, "limit", 200)
    if not 1 <= limit <= 1000:
        raise params_error("limit invalid")
    try:
        rows = venue.prices.klines(
            spec.symbol, INTERVALS[interval], integer(params, "start"), integer(params, "end"), limit, source
        )
    except ValueError:
        raise params_error("interval invalid") from None
    width = 7 if source == "trade" else 5
    candles = [[str(row[0]), *row[1:5], row[5], row[7]][:width] for row in rows]
    return {"category": "linear", "symbol": spec.symbol, "list": list(reversed(candles))}


def kline(venue: Venue, params: dict):
    return _candles(venue, params, "trade")


def mark_kline(venue: Venue, params: dict):
    return _candles(venue, params, "mark")


def funding_history(venue: Venue, params: dict):
    spec = linear_spec(venue, params)
    now = venue.now_ms()
    limit = min(integer(params, "limit", 200), 200)
    end = min(integer(params, "endTime", now), now)
    start = integer(params, "startTime")
    last = end - end % FUNDING_MS
    first = start + (-start) % FUNDING_MS if start is not None else last - (limit - 1) * FUNDING_MS
    times = list(range(first, last + 1, FUNDING_MS))
    times = times[-limit:] if start is None or integer(params, "endTime") is not None else times[:limit]
    rows = [
        {
            "symbol": spec.symbol,
            "fundingRate": f"{venue.prices.funding_rate(spec.symbol, t):.8f}",
            "fundingRateTimestamp": str(t),
        }
        for t in reversed(times)
    ]
    return {"category": "linear", "list": rows}


def _ticker(venue: Venue, symbol: str, now: int) -> dict:
    engine = venue.engine
    rows = venue.prices.klines(symbol, 3_600_000, now - 24 * 3_600_000, now, 25)
    last = engine.price(symbol, now)
    first = Decimal(rows[0][1]) if rows else last
    high = max([Decimal(r[2]) for r in rows] + [last])
    low = min([Decimal(r[3]) for r in rows] + [last])
    volume = sum((Decimal(r[5]) for r in rows), Decimal(0))
    bid, ask = engine.bid_ask(symbol, now)
    size = str(_level_qty(venue, symbol, bid))
    return {
        "symbol": symbol,
        "lastPrice": str(last),
        "indexPrice": str(last),
        "markPrice": str(last),
        "prevPrice24h": str(first),
        "price24hPcnt": f"{(last - first) / first:.6f}",
        "highPrice24h": str(high),
        "lowPrice24h": str(low),
        "prevPrice1h": str(first),
        "openInterest": "0",
        "openInterestValue": "0",
        "turnover24h": str(volume * last),
        "volume24h": str(volume),
        "fundingRate": f"{venue.prices.funding_rate(symbol, now):.8f}",
        "nextFundingTime": str(now - now % FUNDING_MS + FUNDING_MS),
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "ask1Size": size,
        "bid1Price": str(bid),
        "ask1Price": str(ask),
        "bid1Size": size,
        "basis": "",
    }


def tickers(venue: Venue, params: dict):
    kind = category(params, CATEGORIES)
    if kind != "linear":
        return {"category": kind, "list": []}
    now = venue.now_ms()
    symbols = [linear_spec(venue, params).symbol] if params.get("symbol") else sorted(venue.engine.markets)
    return {"category": "linear", "list": [_ticker(venue, symbol, now) for symbol in symbols]}


def _level_qty(venue: Venue, symbol: str, price: Decimal) -> Decimal:
    spec = venue.engine.spec(symbol)
    qty = (Decimal(50_000) / price / spec.step_size).to_integral_value() * spec.step_size  # ~50k USDT per level
    return max(qty, spec.min_qty)


def orderbook(venue: Venue, params: dict):
    spec = linear_spec(venue, params)
    limit = integer(params, "limit", 25)
    if not 1 <= limit <= 500:
        raise params_error("limit invalid")
    now = venue.now_ms()
    bid, ask = venue.engine.bid_ask(spec.symbol, now)
    qty = str(_level_qty(venue, spec.symbol, bid))
    levels = min(limit, 100)
    return {
        "s": spec.symbol,
        "b": [[str(bid - spec.tick_size * i), qty] for i in range(levels)],
        "a": [[str(ask + spec.tick_size * i), qty] for i in range(levels)],
        "ts": now,
        "u": now,
        "seq": now,
        "cts": now,
    }


def risk_limit(venue: Venue, params: dict):
    category(params)
    symbols = [linear_spec(venue, params).symbol] if params.get("symbol") else sorted(venue.engine.markets)
    rows = [
        {
            "id": i + 1,
            "symbol": symbol,
            "riskLimitValue": str(value),
            "maintenanceMargin": mmr,
            "initialMargin": f"{Decimal(1) / max_leverage:.4f}",
            "isLowestRisk": 1 if i == 0 else 0,
            "maxLeverage": f"{max_leverage:.2f}",
            "mmDeduction": deduction,
        }
        for symbol in symbols
        for i, (max_leverage, value, mmr, deduction) in enumerate(RISK_TIERS)
    ]
    return {"category": "linear", "list": rows, "nextPageCursor": ""}


# (method, path, fault-endpoint name, handler)
ROUTES = [
    ("GET", "/v5/market/time", "time", server_time),
    ("GET", "/v5/market/instruments-info", "exchangeInfo", instruments),
    ("GET", "/v5/market/tickers", "ticker", tickers),
    ("GET", "/v5/market/kline", "klines", kline),
    ("GET", "/v5/market/mark-price-kline", "klines", mark_kline),
    ("GET", "/v5/market/index-price-kline", "klines", mark_kline),
    ("GET", "/v5/market/premium-index-price-kline", "klines", mark_kline),
    ("GET", "/v5/market/funding/history", "fundingRate", funding_history),
    ("GET", "/v5/market/orderbook", "depth", orderbook),
    ("GET", "/v5/market/risk-limit", "leverageBracket", risk_limit),
]
