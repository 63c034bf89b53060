"""Binance USD-M rules the venue enforces beyond the lot and price filters, with Binance's codes.

https://developers.binance.com/docs/derivatives/usds-margined-futures (exchangeInfo filters, error
codes, "Change Margin Type", "New Algo Order"). Each function raises the :class:`VenueError` Binance
answers, or returns.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from robust_plugin.venue.errors import VenueError
from robust_plugin.venue.markets import MarketSpec

# PERCENT_PRICE as Binance publishes it for the majors (multiplierDecimal 4)
MULTIPLIER_UP = Decimal("1.0500")
MULTIPLIER_DOWN = Decimal("0.9500")
MAX_ALGO_ORDERS = 10  # MAX_NUM_ALGO_ORDERS: open conditional orders per symbol


def _bound(value: Decimal, spec: MarketSpec, rounding: str) -> Decimal:
    tick = spec.tick_size.normalize()
    return ((value / tick).to_integral_value(rounding) * tick).quantize(tick)


def percent_price(spec: MarketSpec, side: str, price: Decimal, mark: Decimal) -> None:
    """A LIMIT buy may not be above mark × multiplierUp, a sell not below mark × multiplierDown."""
    if side == "BUY":
        cap = _bound(mark * MULTIPLIER_UP, spec, ROUND_FLOOR)
        if price > cap:
            raise VenueError(-4016, f"Limit price can't be higher than {cap}.")
    else:
        floor = _bound(mark * MULTIPLIER_DOWN, spec, ROUND_CEILING)
        if price < floor:
            raise VenueError(-4024, f"Limit price can't be lower than {floor}.")


def margin_type_change(engine, symbol: str) -> None:
    """Binance refuses to switch ISOLATED/CROSSED while the symbol has a position or open orders."""
    ledger = engine.ledger
    busy = ledger.position(symbol).amount != 0
    busy = busy or any(o.symbol == symbol for o in ledger.open_orders())
    busy = busy or any(a.symbol == symbol for a in ledger.open_algos())
    if busy:
        raise VenueError(-4048, "Margin type cannot be changed if there exists position.")


def algo_order_room(engine, symbol: str) -> None:
    """At most MAX_NUM_ALGO_ORDERS open conditional orders per symbol: the next one is -4045."""
    if sum(1 for a in engine.ledger.open_algos() if a.symbol == symbol) >= MAX_ALGO_ORDERS:
        raise VenueError(-4045, "Reach max stop order limit.")


# Leverage brackets for symbols freqtrade's bundle lacks, in /fapi/v1/leverageBracket's terms: (initial
# leverage, notional cap, maintenance margin rate) per tier; floors and "cum" follow from them.
_TIERS_125 = ((125, 50_000, "0.004"), (100, 600_000, "0.005"), (50, 3_000_000, "0.01"), (20, 12_000_000, "0.025"),
              (10, 70_000_000, "0.05"), (5, 100_000_000, "0.1"), (4, 230_000_000, "0.125"),
              (3, 480_000_000, "0.15"), (2, 600_000_000, "0.25"), (1, 800_000_000, "0.5"))  # fmt: skip
_TIERS_75 = ((75, 10_000, "0.005"), (50, 80_000, "0.0065"), (25, 400_000, "0.01"), (20, 2_000_000, "0.02"),
             (10, 4_000_000, "0.05"), (5, 10_000_000, "0.1"), (4, 20_000_000, "0.125"),
             (2, 40_000_000, "0.25"), (1, 60_000_000, "0.5"))  # fmt: skip
_TIERS_50 = ((50, 5_000, "0.01"), (25, 25_000, "0.02"), (20, 100_000, "0.025"), (10, 250_000, "0.05"),
             (5, 1_000_000, "0.1"), (4, 2_000_000, "0.125"), (2, 5_000_000, "0.25"), (1, 10_000_000, "0.5"))  # fmt: skip
_TIERS_20 = ((20, 5_000, "0.025"), (10, 25_000, "0.05"), (5, 100_000, "0.1"), (4, 250_000, "0.125"),
             (2, 1_000_000, "0.25"), (1, 3_000_000, "0.5"))  # fmt: skip
_TIERS_BY_BASE = {"BTC": _TIERS_125, "ETH": _TIERS_125, "BNB": _TIERS_75, "SOL": _TIERS_75, "XRP": _TIERS_75,
                  "DOGE": _TIERS_75, "ADA": _TIERS_75, "LTC": _TIERS_75}  # fmt: skip
MID_CAP_PRICE = 1.0  # symbols not listed above: 50x from this price level up, 20x below (the small caps)


@functools.cache
def _bundled() -> dict[str, list[dict]]:
    """Binance's own brackets as freqtrade bundles them (``binance_leverage_tiers.json``, a snapshot of
    ``/fapi/v1/leverageBracket``, what freqtrade's backtesting uses), by ccxt symbol; {} without it."""
    found = importlib.util.find_spec("freqtrade")
    if found is None or not found.submodule_search_locations:
        return {}
    path = Path(next(iter(found.submodule_search_locations))) / "exchange" / "binance_leverage_tiers.json"
    try:
        tiers = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {symbol: [tier["info"] for tier in rows] for symbol, rows in tiers.items()}


def brackets(spec: MarketSpec) -> list[dict]:
    """The symbol's brackets in Binance's shape: bracket, initialLeverage, notionalCap/Floor, ratio, cum.
    Binance's own for the symbols freqtrade bundles, else tables by the symbol's size."""
    bundled = _bundled().get(spec.ccxt_symbol)
    if bundled:
        return [dict(row) for row in bundled]
    tiers = _TIERS_BY_BASE.get(spec.base) or (_TIERS_50 if spec.reference_price >= MID_CAP_PRICE else _TIERS_20)
    rows, floor, cum, previous = [], 0, Decimal(0), Decimal(0)
    for number, (leverage, cap, rate) in enumerate(tiers, 1):
        rate = Decimal(rate)
        cum += floor * (rate - previous)
        rows.append(
            {
                "bracket": number,
                "initialLeverage": leverage,
                "notionalCap": cap,
                "notionalFloor": floor,
                "maintMarginRatio": float(rate),
                "cum": float(cum),
            }
        )
        floor, previous = cap, rate
    return rows


def bracket_for(spec: MarketSpec, notional: Decimal) -> dict:
    """The bracket a position of ``notional`` (absolute) falls in."""
    rows = brackets(spec)
    return next((b for b in rows if abs(notional) <= b["notionalCap"]), rows[-1])


def maint_margin(spec: MarketSpec, notional: Decimal) -> Decimal:
    """Maintenance margin as Binance computes it: |notional| × the bracket's rate − its cum."""
    if not notional:
        return Decimal(0)
    row = bracket_for(spec, notional)
    return abs(notional) * Decimal(str(row["maintMarginRatio"])) - Decimal(str(row["cum"]))


def notional_cap(spec: MarketSpec, leverage: int) -> int:
    """The largest notional ``leverage`` allows (the first bracket's for a leverage above the max)."""
    rows = brackets(spec)
    return max((b["notionalCap"] for b in rows if b["initialLeverage"] >= leverage), default=rows[0]["notionalCap"])


def leverage_allowed(spec: MarketSpec, leverage: int) -> int:
    """Check a requested leverage (-4028 unless 1..max of the symbol); the notional cap it allows."""
    if not 1 <= leverage <= brackets(spec)[0]["initialLeverage"]:
        raise VenueError(-4028, f"Leverage {leverage} is not valid")
    return notional_cap(spec, leverage)


def order_answer(result: dict, params: dict) -> dict:
    """``POST /fapi/v1/order`` answers the order as placed (ACK, Binance's default for futures) unless
    ``newOrderRespType=RESULT`` asks for its state after matching (ccxt always asks for RESULT)."""
    if str(params.get("newOrderRespType", "ACK")).upper() == "RESULT":
        return result
    return result | {
        "status": "NEW",
        "avgPrice": "0.00",
        "executedQty": "0",
        "cumQty": "0",
        "cumQuote": "0.00000",
        "updateTime": result["time"],
    }
