"""Binance USD-M futures: client ids, lookups, liquidation markers, market-order limits, error codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robust_plugin.adapter.exchange.dialect import Dialect
from robust_plugin.core.client_ids import IdRule
from robust_plugin.core.failures import FailureClass

# https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code
ERROR_CODES: dict[int, FailureClass] = {
    -1003: FailureClass.RATE_LIMIT,  # too many requests
    -1015: FailureClass.RATE_LIMIT,  # too many new orders
    -1001: FailureClass.NETWORK,  # disconnected / unknown status
    -1007: FailureClass.NETWORK,  # timeout waiting for the backend: execution status unknown
    -1006: FailureClass.NETWORK,  # unexpected response: execution status unknown
    -1008: FailureClass.UNAVAILABLE,  # server busy
    -4141: FailureClass.UNAVAILABLE,  # symbol closed / delisted
    -2019: FailureClass.INSUFFICIENT_MARGIN,
    -2018: FailureClass.INSUFFICIENT_MARGIN,
    -2022: FailureClass.POSITION_REJECTED,  # ReduceOnly order is rejected
    -4118: FailureClass.POSITION_REJECTED,  # ReduceOnly order failed
    -1111: FailureClass.LIMITS,  # precision
    -4003: FailureClass.LIMITS,  # quantity below zero
    -4004: FailureClass.LIMITS,  # quantity below minimum
    -4005: FailureClass.LIMITS,  # quantity above maximum
    -4164: FailureClass.LIMITS,  # notional below minimum
    -4131: FailureClass.LIMITS,  # counterparty best price outside PERCENT_PRICE
    -4016: FailureClass.LIMITS,  # limit price above the PERCENT_PRICE band (multiplierUp x mark)
    -4024: FailureClass.LIMITS,  # limit price below the PERCENT_PRICE band (multiplierDown x mark)
    -4014: FailureClass.LIMITS,  # price not a multiple of the tick
    -4023: FailureClass.LIMITS,  # quantity not a multiple of the step
}

LIQUIDATION_PREFIXES = ("autoclose-", "adl_autoclose")
"""Client order ids Binance gives the orders of its liquidation engine and of auto-deleverage."""


class Binance(Dialect):
    name = "binance"
    id_rule = IdRule(36)  # up to 36 of [.A-Z:/a-z0-9_-]; unique among open orders
    error_codes = ERROR_CODES
    verified = True

    def lookup_params(self, client_order_id: str) -> dict[str, Any]:
        return {"origClientOrderId": client_order_id}

    def is_liquidation(self, order: Mapping[str, Any]) -> bool:
        client_id = str(order.get("clientOrderId") or (order.get("info") or {}).get("clientOrderId") or "")
        return client_id.startswith(LIQUIDATION_PREFIXES)
