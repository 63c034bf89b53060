"""Bybit V5's answers: the ``{retCode, retMsg, result, retExtInfo, time}`` envelope and its error codes.

The engine refuses requests with Binance codes (it is shared by both dialects); :func:`translate` turns
each into the retCode Bybit answers for the same refusal, so ccxt's ``bybit`` class raises the class it
raises against Bybit. Bybit answers refusals with HTTP 200; only the envelope tells.
"""

from __future__ import annotations

import re

from robust_plugin.venue.errors import VenueError


class BybitError(Exception):
    """A request the venue refuses, as Bybit refuses it."""

    def __init__(self, ret_code: int, msg: str, status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(f"{ret_code}: {msg}")
        self.ret_code = ret_code
        self.msg = msg
        self.status = status
        self.headers = headers or {}


def envelope(result, now_ms: int, ret_code: int = 0, msg: str = "OK") -> dict:
    return {"retCode": ret_code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms}


def error_body(error: BybitError, now_ms: int) -> dict:
    return envelope({}, now_ms, error.ret_code, error.msg)


def params_error(detail: str) -> BybitError:
    return BybitError(10001, f"params error: {detail}")


def order_not_found(action: str = "cancel") -> BybitError:
    return BybitError(110001, f"order not exists or too late to {action}")


def rate_limited(now_ms: int, retry_after_s: float, limit: int = 10) -> BybitError:
    """retCode 10006 with the per-endpoint limit headers Bybit sends on every private answer."""
    headers = limit_headers(limit, 0, now_ms + int(retry_after_s * 1000))
    return BybitError(10006, "Too many visits. Exceeded the API Rate Limit.", 200, headers)


def limit_headers(limit: int, left: int, reset_ms: int) -> dict[str, str]:
    return {
        "X-Bapi-Limit": str(limit),
        "X-Bapi-Limit-Status": str(left),
        "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
    }


def request_timeout() -> BybitError:
    """Bybit's answer when its back end did not process the request (ccxt: RequestTimeout, retried)."""
    return BybitError(10016, "Request timeout, please try again later")


# Binance code from the engine -> (Bybit retCode, retMsg); "{msg}" is the engine's message.
_TRANSLATION: dict[int, tuple[int, str]] = {
    -1100: (10001, "params error: {msg}"),
    -1102: (10001, "params error: {msg}"),
    -1111: (10001, "Qty invalid: the quantity is not a multiple of qtyStep"),
    -1115: (10001, "params error: timeInForce invalid"),
    -1116: (10001, "params error: orderType invalid"),
    -1117: (10001, "params error: side invalid"),
    -1121: (10001, "params error: symbol invalid"),
    -2011: (110001, "order not exists or too late to cancel"),
    -2013: (110001, "order not exists or too late to cancel"),
    -2019: (110007, "ab not enough for new order"),
    -2022: (110017, "current position is zero, cannot fix reduce-only order qty"),
    -4001: (10001, "params error: price invalid"),
    -4003: (10001, "The number of contracts exceeds minimum limit allowed"),
    -4004: (10001, "The number of contracts exceeds minimum limit allowed"),
    -4005: (10001, "The number of contracts exceeds maximum limit allowed"),
    -4014: (10001, "params error: price is not a multiple of tickSize"),
    -4015: (10001, "params error: orderLinkId invalid"),
    -4061: (10001, "position idx not match position mode"),
    -4116: (110072, "OrderLinkedID is duplicate"),
    -4141: (110066, "No trading is allowed at the current time"),
    -4164: (110094, "Order does not meet minimum order value {notional}USDT"),
    -5022: (10001, "params error: PostOnly order would take liquidity"),
}


def translate(error: VenueError) -> BybitError:
    """The Bybit refusal for an engine refusal (one in Binance's shape)."""
    found = re.search(r"smaller than ([0-9.]+)", error.msg)
    notional = found.group(1) if found else "5"
    if error.code == -1003:
        return BybitError(10006, "Too many visits. Exceeded the API Rate Limit.", 200, error.headers)
    if error.code == -1001:
        return request_timeout()
    ret_code, template = _TRANSLATION.get(error.code, (10001, "params error: {msg}"))
    return BybitError(ret_code, template.format(msg=error.msg, notional=notional))


def would_trigger(rising: bool, trigger: str, current: str) -> BybitError:
    """110092/110093: a conditional order whose trigger price is already crossed."""
    if rising:
        return BybitError(110092, f"expect Rising, but trigger_price[{trigger}] <= current[{current}]??LastPrice")
    return BybitError(110093, f"expect Falling, but trigger_price[{trigger}] >= current[{current}]??LastPrice")
