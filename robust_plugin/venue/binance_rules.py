"""Binance USD-M rules the venue enforces beyond the lot and price filters, with Binance's codes.

https://developers.binance.com/docs/derivatives/usds-margined-futures (exchangeInfo filters, error
codes, "Change Margin Type", "New Algo Order"). Each function raises the :class:`VenueError` Binance
answers, or returns.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

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
