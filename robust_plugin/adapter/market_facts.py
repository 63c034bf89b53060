"""Facts about a market from freqtrade's exchange object (ccxt market structure), for the adapter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from robust_plugin.core.chunking import MarketLimits


def _market(exchange: Any, pair: str) -> dict | None:
    try:
        return exchange.markets.get(pair)
    except Exception:  # noqa: BLE001 - markets not loaded: no facts
        return None


def market_order_max(exchange: Any, pair: str) -> float | None:
    """The largest amount one market order may have (Binance MARKET_LOT_SIZE), in base currency."""
    market = _market(exchange, pair)
    if not market:
        return None
    size = float(market.get("contractSize") or 1)
    caps = [((market.get("limits") or {}).get(kind) or {}).get("max") for kind in ("market", "amount")]
    caps = [float(c) * size for c in caps if c]
    return min(caps) if caps else None


def market_limits(exchange: Any, pair: str, notional_margin: float = 1.5) -> MarketLimits | None:
    """Limits for chunk plans. The minimum notional gets ``notional_margin`` headroom because
    freqtrade refuses a partial exit whose remainder is below its minimum stake (which includes a
    stoploss reserve)."""
    market = _market(exchange, pair)
    if not market:
        return None
    limits = market.get("limits") or {}
    step = (market.get("precision") or {}).get("amount")
    if not step:
        return None

    def dec(value) -> Decimal | None:
        return Decimal(str(value)) if value else None

    notional = dec((limits.get("cost") or {}).get("min"))
    return MarketLimits(
        step=Decimal(str(step)),
        min_qty=dec((limits.get("amount") or {}).get("min")) or Decimal(0),
        max_qty=dec((limits.get("amount") or {}).get("max")),
        market_max_qty=dec((limits.get("market") or {}).get("max")),
        min_notional=notional * Decimal(str(notional_margin)) if notional else None,
    )
