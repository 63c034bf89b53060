"""Bybit V5 linear (USDT) perpetuals: client ids, lookups, liquidation markers, market-order limits,
error codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robust_plugin.adapter.exchange.dialect import Dialect
from robust_plugin.core.client_ids import IdRule
from robust_plugin.core.failures import FailureClass

# https://bybit-exchange.github.io/docs/v5/error
ERROR_CODES: dict[int, FailureClass] = {
    10006: FailureClass.RATE_LIMIT,  # too many visits
    10018: FailureClass.RATE_LIMIT,  # IP rate limit
    10000: FailureClass.NETWORK,  # server timeout
    10016: FailureClass.UNAVAILABLE,  # internal error / service restarting
    10002: FailureClass.NETWORK,  # request expired (timestamp / recv_window): retry with a fresh clock
    110004: FailureClass.INSUFFICIENT_MARGIN,
    110006: FailureClass.INSUFFICIENT_MARGIN,
    110007: FailureClass.INSUFFICIENT_MARGIN,
    110012: FailureClass.INSUFFICIENT_MARGIN,
    110044: FailureClass.INSUFFICIENT_MARGIN,
    110045: FailureClass.INSUFFICIENT_MARGIN,
    110017: FailureClass.POSITION_REJECTED,  # reduce-only rule not satisfied (position zero or smaller)
    110001: FailureClass.POSITION_REJECTED,  # order does not exist
    10001: FailureClass.LIMITS,  # parameter error: for an order, a quantity outside the lot-size filter
    110094: FailureClass.LIMITS,  # notional below the minimum
    110003: FailureClass.LIMITS,  # price outside the permitted range
    170136: FailureClass.LIMITS,  # quantity below the minimum
    170137: FailureClass.LIMITS,  # quantity has too many decimals
}

LIQUIDATION_CREATE_TYPES = frozenset(
    {"CreateByLiq", "CreateByTakeOver_PassThrough", "CreateByAdl_PassThrough", "CreateByAdl"}
)
"""``createType`` of the orders Bybit's liquidation engine and auto-deleverage create."""


class Bybit(Dialect):
    name = "bybit"
    id_rule = IdRule(36)  # orderLinkId: up to 36 of [A-Za-z0-9_-]
    error_codes = ERROR_CODES
    verified = True  # proven live against the venue's Bybit V5 dialect (tests/integration/test_live_bybit.py)

    def lookup_params(self, client_order_id: str) -> dict[str, Any]:
        return {"orderLinkId": client_order_id}

    def lookup(self, api: Any, symbol: str, client_order_id: str) -> dict | None:
        # ccxt's bybit fetch_order needs an order id; the open-order and history queries take orderLinkId
        params = self.lookup_params(client_order_id)
        for fetch in (api.fetch_open_orders, api.fetch_closed_orders, api.fetch_canceled_orders):
            found = [o for o in fetch(symbol, None, None, params) if o.get("clientOrderId") == client_order_id]
            if found:
                return found[0]
        return None

    def is_liquidation(self, order: Mapping[str, Any]) -> bool:
        info = order.get("info") or {}
        return str(info.get("createType") or "") in LIQUIDATION_CREATE_TYPES

    def largest_market_order(self, market: Mapping[str, Any]) -> float | None:
        lot = ((market.get("info") or {}).get("lotSizeFilter")) or {}
        caps = [lot.get("maxMktOrderQty"), super().largest_market_order(market)]
        caps = [float(c) for c in caps if c]
        return min(caps) if caps else None
