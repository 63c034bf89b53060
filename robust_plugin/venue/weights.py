"""Binance's request weights and order counts, with its 429 and 418 answers when a client overdoes it.

Every answer carries ``X-MBX-USED-WEIGHT-1M`` (the weight used in the current minute), order
placements also ``X-MBX-ORDER-COUNT-10S`` and ``X-MBX-ORDER-COUNT-1M``. The weights are those of
Binance's USD-M endpoint pages. With a per-minute limit set (``--weight-limit``), the request that
takes the minute over it is answered 429 / -1003 with ``Retry-After`` (the seconds left in the
minute); a client that keeps sending before then is banned: 418 / -1003 with ``Retry-After`` until
the ban ends. Binance's own limit is 2400; without a limit the venue only counts, so a fast bench
or a test on loopback is never refused. With an order limit set (``--order-limit``, orders per 10
seconds; the minute allows four times as many, as Binance's 300 and 1200), the order over it is
answered 429 / -1015 without ``Retry-After`` and is not placed.
"""

from __future__ import annotations

import math
import time

from robust_plugin.venue.errors import VenueError

BINANCE_LIMIT = 2400  # REQUEST_WEIGHT per minute, as exchangeInfo's rateLimits says
BINANCE_ORDER_LIMIT = 300  # ORDERS per 10 seconds (1200 per minute), as exchangeInfo's rateLimits says
BAN_SECONDS = 120  # Binance's first ban lasts 2 minutes (it grows for repeat offenders)
IP = "127.0.0.1"

# (method, path): weight; "symbol" alternatives are (with symbol, without symbol)
_FIXED: dict[tuple[str, str], int | tuple[int, int]] = {
    ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("GET", "/fapi/v1/time"): 1,
    ("GET", "/fapi/v1/ping"): 1,
    ("GET", "/fapi/v1/premiumIndex"): (1, 10),
    ("GET", "/fapi/v1/fundingRate"): 1,
    ("GET", "/fapi/v1/fundingInfo"): 1,
    ("GET", "/fapi/v1/aggTrades"): 20,
    ("GET", "/fapi/v1/trades"): 5,
    ("GET", "/fapi/v1/ticker/24hr"): (1, 40),
    ("GET", "/fapi/v1/ticker/price"): (1, 2),
    ("GET", "/fapi/v2/ticker/price"): (1, 2),
    ("GET", "/fapi/v1/ticker/bookTicker"): (2, 5),
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
    ("GET", "/fapi/v3/positionRisk"): 5,
    ("POST", "/fapi/v1/order"): 0,  # orders weigh on the order counts, not on the IP weight
    ("GET", "/fapi/v1/order"): 1,
    ("DELETE", "/fapi/v1/order"): 1,
    ("DELETE", "/fapi/v1/allOpenOrders"): 1,
    ("GET", "/fapi/v1/openOrders"): (1, 40),
    ("GET", "/fapi/v1/allOrders"): 5,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v1/income"): 30,
    ("POST", "/fapi/v1/algoOrder"): 0,
    ("GET", "/fapi/v1/algoOrder"): 1,
    ("DELETE", "/fapi/v1/algoOrder"): 1,
    ("GET", "/fapi/v1/openAlgoOrders"): (1, 40),
    ("GET", "/fapi/v1/allAlgoOrders"): 5,
    ("POST", "/fapi/v1/leverage"): 1,
    ("POST", "/fapi/v1/marginType"): 1,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("POST", "/fapi/v1/positionSide/dual"): 1,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
    ("GET", "/fapi/v1/leverageBracket"): 1,
    ("GET", "/fapi/v1/commissionRate"): 20,
    ("GET", "/fapi/v1/symbolConfig"): 5,
}
ORDER_ENDPOINTS = {("POST", "/fapi/v1/order"), ("POST", "/fapi/v1/algoOrder")}
_KLINES = ("/fapi/v1/klines", "/fapi/v1/continuousKlines", "/fapi/v1/markPriceKlines", "/fapi/v1/indexPriceKlines")
_DEPTH = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}


def _limit_param(params: dict, default: int) -> int:
    try:
        return int(params.get("limit") or default)
    except ValueError:
        return default


def weight(method: str, path: str, params: dict) -> int:
    """The IP weight of one request; 0 for paths that are not USD-M (spot and sapi count elsewhere)."""
    if path in _KLINES:
        limit = _limit_param(params, 500)
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    if path == "/fapi/v1/depth":
        return _DEPTH.get(_limit_param(params, 500), 10)
    fixed = _FIXED.get((method, path))
    if fixed is None:
        return 1 if path.startswith("/fapi/") else 0
    if isinstance(fixed, tuple):
        return fixed[0] if params.get("symbol") else fixed[1]
    return fixed


class RequestWeights:
    """The weight used per minute and the orders per 10 s and per minute, for the one client IP."""

    def __init__(
        self, limit: int | None = None, ban_seconds: int = BAN_SECONDS, clock=time.time, order_limit: int | None = None
    ):
        self.limit, self.ban_seconds, self.clock = limit, ban_seconds, clock
        self.order_limit = order_limit  # orders per 10 s; per minute four times as many
        self.minute = self.ten_s = -1
        self.used = self.orders_10s = self.orders_1m = 0
        self.refused_minute = -1  # the minute a 429 was answered in
        self.banned_until = 0.0

    def _roll(self, now: float) -> None:
        if int(now // 60) != self.minute:
            self.minute, self.used, self.orders_1m = int(now // 60), 0, 0
        if int(now // 10) != self.ten_s:
            self.ten_s, self.orders_10s = int(now // 10), 0

    def admit(self, method: str, path: str, params: dict) -> VenueError | None:
        """Count the request; the refusal Binance would answer instead of serving it, if any."""
        now = self.clock()
        self._roll(now)
        if now < self.banned_until:
            return self._banned(now)
        self.used += weight(method, path, params)
        if (method, path) in ORDER_ENDPOINTS:
            refusal = self._order_count_refusal()
            if refusal is not None:
                return refusal
            self.orders_10s += 1
            self.orders_1m += 1
        if self.limit is None or self.used <= self.limit:
            return None
        if self.refused_minute == self.minute:  # told to wait, and did not
            self.banned_until = now + self.ban_seconds
            return self._banned(now)
        self.refused_minute = self.minute
        retry_after = max(1, math.ceil((self.minute + 1) * 60 - now))
        msg = (
            f"Too many requests; current limit of IP({IP}) is {self.limit} requests per minute. "
            "Please use the websocket for live updates to avoid polling the API."
        )
        return VenueError(-1003, msg, 429, {"Retry-After": str(retry_after)})

    def _order_count_refusal(self) -> VenueError | None:
        """-1015 when one more order would go over the 10-second or the minute count (not placed, not counted)."""
        if self.order_limit is None:
            return None
        for count, limit, interval in (
            (self.orders_10s, self.order_limit, "10 SECOND"),
            (self.orders_1m, 4 * self.order_limit, "1 MINUTE"),
        ):
            if count >= limit:
                return VenueError(-1015, f"Too many new orders; current limit is {limit} orders per {interval}.", 429)
        return None

    def _banned(self, now: float) -> VenueError:
        until_ms = int(self.banned_until * 1000)
        msg = f"Way too many requests; IP({IP}) banned until {until_ms}. Please use the websocket for live updates to avoid bans."
        return VenueError(-1003, msg, 418, {"Retry-After": str(max(1, math.ceil(self.banned_until - now)))})

    def headers(self, method: str, path: str) -> dict[str, str]:
        counts = {"X-MBX-USED-WEIGHT-1M": str(self.used)}
        if (method, path) in ORDER_ENDPOINTS:
            counts |= {"X-MBX-ORDER-COUNT-10S": str(self.orders_10s), "X-MBX-ORDER-COUNT-1M": str(self.orders_1m)}
        return counts
