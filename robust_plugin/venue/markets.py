"""The venue's markets: which symbols it lists and with what exchange filters.

Every pair found in a freqtrade data directory is listed: ``futures/BTC_USDT_USDT-5m-futures.feather``
becomes the USDT perpetual ``BTCUSDT`` (ccxt ``BTC/USDT:USDT``), and a spot file at the top level such
as ``ETH_BTC-5m.feather`` becomes the spot market ``ETHBTC``. Filters follow Binance's for the well
known symbols and are derived from the price level for the others, so amounts and prices round the
way they round on Binance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

_FUTURES_FILE = re.compile(
    r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)_(?P<settle>[A-Z0-9]+)-(?P<tf>\d+[smhdwM])-futures\.feather$"
)
_SPOT_FILE = re.compile(r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)-(?P<tf>\d+[smhdwM])\.feather$")

# Binance USD-M filters for common perpetuals: tick size, lot step, max qty (limit, market), min notional.
_KNOWN_PERPETUALS: dict[str, tuple[str, str, str, str, str]] = {
    "BTC": ("0.10", "0.001", "1000", "120", "100"),
    "ETH": ("0.01", "0.001", "10000", "2000", "20"),
    "SOL": ("0.0100", "1", "1000000", "5000", "5"),
    "BNB": ("0.010", "0.01", "100000", "2000", "5"),
    "XRP": ("0.0001", "0.1", "10000000", "2000000", "5"),
    "ADA": ("0.00010", "1", "10000000", "2000000", "5"),
    "DOGE": ("0.000010", "1", "50000000", "30000000", "5"),
    "LTC": ("0.01", "0.001", "100000", "5000", "20"),
}


@dataclass(frozen=True)
class MarketSpec:
    """One market the venue lists, with the Binance filters it enforces."""

    symbol: str  # exchange id, e.g. "BTCUSDT"
    base: str
    quote: str
    kind: str  # "perpetual" or "spot"
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    reference_price: float  # last close in the data, for filters and sanity checks

    @property
    def ccxt_symbol(self) -> str:
        if self.kind == "perpetual":
            return f"{self.base}/{self.quote}:{self.quote}"
        return f"{self.base}/{self.quote}"


def _last_close(path: Path) -> float:
    import pyarrow.feather as feather

    table = feather.read_table(path, columns=["close"])
    if table.num_rows == 0:
        raise ValueError(f"{path.name}: no candles")
    return float(table.column("close")[-1].as_py())


def _derived_filters(price: float) -> tuple[str, str, str, str, str]:
    magnitude = math.floor(math.log10(price)) if price > 0 else 0
    tick = Decimal(1).scaleb(magnitude - 4)
    step = Decimal(1).scaleb(max(-3, min(3, -magnitude)))
    return (str(tick), str(step), str(step * 10_000_000), str(step * 1_000_000), "5")


def _spec(base: str, quote: str, kind: str, price: float) -> MarketSpec:
    tick, step, max_qty, market_max, notional = (
        _KNOWN_PERPETUALS.get(base) if kind == "perpetual" and base in _KNOWN_PERPETUALS else _derived_filters(price)
    )
    if kind == "spot":
        notional = "0.0001" if quote in ("BTC", "ETH") else "5"
    return MarketSpec(
        symbol=base + quote,
        base=base,
        quote=quote,
        kind=kind,
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        min_qty=Decimal(step),
        max_qty=Decimal(max_qty),
        market_max_qty=Decimal(market_max),
        min_notional=Decimal(notional),
        reference_price=price,
    )


def discover_markets(data_dir: Path) -> dict[str, MarketSpec]:
    """Markets for every pair with candles in ``data_dir`` (a freqtrade exchange data directory)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory not found: {data_dir}")
    found: dict[str, tuple[str, str, str, Path]] = {}
    for path in sorted((data_dir / "futures").glob("*-futures.feather")):
        match = _FUTURES_FILE.match(path.name)
        if match and match["quote"] == match["settle"]:
            found.setdefault(match["base"] + match["quote"], (match["base"], match["quote"], "perpetual", path))
    for path in sorted(data_dir.glob("*.feather")):
        match = _SPOT_FILE.match(path.name)
        if match:
            found.setdefault(match["base"] + match["quote"] + ":spot", (match["base"], match["quote"], "spot", path))
    markets = {}
    for key, (base, quote, kind, path) in found.items():
        markets[key] = _spec(base, quote, kind, _last_close(path))
    return markets


def with_overrides(spec: MarketSpec, **changes) -> MarketSpec:
    """``spec`` with some filters changed (a scenario may shrink limits to force chunked closes)."""
    return replace(
        spec, **{key: Decimal(str(value)) if key != "reference_price" else value for key, value in changes.items()}
    )


def _precision(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)


def futures_symbol_info(spec: MarketSpec) -> dict:
    """One entry of ``/fapi/v1/exchangeInfo`` ``symbols``, as Binance returns it."""
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.quote,
        "pricePrecision": _precision(spec.tick_size),
        "quantityPrecision": _precision(spec.step_size),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": str(spec.tick_size),
                "maxPrice": "10000000",
                "tickSize": str(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "stepSize": str(spec.step_size),
                "maxQty": str(spec.max_qty),
                "minQty": str(spec.min_qty),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": str(spec.step_size),
                "maxQty": str(spec.market_max_qty),
                "minQty": str(spec.min_qty),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": str(spec.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }


def spot_symbol_info(spec: MarketSpec) -> dict:
    """One entry of ``/api/v3/exchangeInfo`` ``symbols``, as Binance returns it."""
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": str(spec.tick_size),
                "maxPrice": "1000000",
                "tickSize": str(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": str(spec.min_qty),
                "maxQty": str(spec.max_qty),
                "stepSize": str(spec.step_size),
            },
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0", "maxQty": str(spec.market_max_qty), "stepSize": "0"},
            {
                "filterType": "NOTIONAL",
                "minNotional": str(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
    }


def exchange_info(markets: dict[str, MarketSpec], kind: str, server_time_ms: int) -> dict:
    """The whole ``exchangeInfo`` document for ``kind`` ("perpetual", "spot" or "delivery")."""
    info = futures_symbol_info if kind == "perpetual" else spot_symbol_info
    symbols = [info(spec) for spec in markets.values() if spec.kind == kind]
    document = {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "symbols": symbols,
    }
    if kind == "perpetual":
        quotes = sorted({spec.quote for spec in markets.values() if spec.kind == kind})
        document["assets"] = [{"asset": quote, "marginAvailable": True, "autoAssetExchange": None} for quote in quotes]
    return document
