"""The order guard: deterministic client order ids, and a lookup by that id when a response is lost.

freqtrade 2026.9 places every order through ``Exchange.create_order``, which calls
``self._api.create_order(pair, ordertype, side, amount, rate, params)`` on its synchronous ccxt
client and does not retry it. The guard wraps that one method on that one client (nothing global):

* an order the plugin announced (``expect``: a close attempt, a chunk) carries the attempt's client
  order id; any other market or limit order gets an id derived from pair and time, so it too can be
  found again;
* when placement fails with a network error, timeout or an "unknown status" answer (a
  ``ccxt.NetworkError`` or ``OperationFailed`` that is not a rate limit), the order is looked up by
  its client order id (through the exchange boundary, in the exchange's dialect) before anything else
  happens: found → returned to freqtrade as if the response had arrived; not found → the original
  error;
* every outcome is reported to ``on_result`` (the close desk records attempts from it).

The install is checked by behaviour (:func:`robust_plugin.adapter.compat.check_order_path`): on a
freqtrade whose ``create_order`` no longer passes through ``self._api.create_order`` the guard stays
off and says so, rather than guess.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from robust_plugin.adapter import compat
from robust_plugin.adapter.exchange.boundary import ExchangeBoundary
from robust_plugin.core.client_ids import make_id
from robust_plugin.core.exchange_reports import LookupStatus, OrderReport

logger = logging.getLogger(__name__)

GUARDED_TYPES = ("market", "limit")
INTENT_TTL_S = 60.0


@dataclass(frozen=True)
class Intent:
    """An order the plugin is about to let freqtrade place."""

    pair: str
    side: str  # "buy" / "sell"
    reduce_only: bool
    client_order_id: str
    trade_id: int | None
    purpose: str  # "close", "chunk", "entry"
    created: float


@dataclass(frozen=True)
class Outcome:
    intent: Intent | None
    client_order_id: str
    order: OrderReport | None
    error: BaseException | None
    found_after_loss: bool = False
    lookup_failed: bool = False


class OrderGuard:
    def __init__(self, on_result: Callable[[Outcome], None], tag: str = "rp", clock: Callable[[], float] = time.time):
        self.on_result = on_result
        self.tag = tag
        self.clock = clock
        self._pending: dict[tuple[str, str, bool], Intent] = {}
        self.boundary: ExchangeBoundary | None = None
        self._original: Callable | None = None
        self._counter = 0

    def install(self, boundary: ExchangeBoundary, check_freqtrade: bool = True) -> bool:
        """Wrap the exchange's ccxt ``create_order``. Off (and says so) where freqtrade does not place
        orders the way the guard expects, or where the exchange has no client order id rule."""
        if boundary.dialect.id_rule is None:
            logger.warning(
                "robust_plugin: order guard off: %s has no dialect with client order id rules", boundary.dialect.name
            )
            return False
        if check_freqtrade:
            supported, why = compat.check_order_path(boundary.exchange)
            if not supported:
                logger.warning("robust_plugin: order guard off: %s", why)
                return False
        else:
            why = "freqtrade not checked"
        self.boundary = boundary

        def wrap(original: Callable) -> Callable:
            self._original = original

            def create_order(symbol, type, side, amount, price=None, params=None):
                return self._create_order(symbol, type, side, amount, price, dict(params or {}))

            return create_order

        boundary.wrap_create_order(wrap)
        logger.info("robust_plugin: order guard installed (%s, %s)", boundary.dialect.name, why)
        return True

    def expect(self, intent: Intent) -> None:
        self._pending[(intent.pair, intent.side, intent.reduce_only)] = intent

    def _take_intent(self, symbol: str, side: str, reduce_only: bool) -> Intent | None:
        intent = self._pending.pop((symbol, side, reduce_only), None)
        if intent is not None and self.clock() - intent.created > INTENT_TTL_S:
            return None
        return intent

    def _default_id(self) -> str:
        """An id for an order the plugin did not announce (entries, freqtrade's own exits)."""
        self._counter += 1
        number = (int(self.clock() * 1000) % 10**11) * 100 + self._counter % 100
        assert self.boundary is not None and self.boundary.dialect.id_rule is not None
        return make_id(self.tag, 0, "o", number, self.boundary.dialect.id_rule)

    def _create_order(self, symbol, order_type, side, amount, price, params):
        assert self._original is not None and self.boundary is not None
        if str(order_type).lower() not in GUARDED_TYPES:
            return self._original(symbol, order_type, side, amount, price, params)
        reduce_only = bool(params.get("reduceOnly", False))
        intent = self._take_intent(symbol, side, reduce_only)
        client_id = params.get("clientOrderId") or (intent.client_order_id if intent else self._default_id())
        params["clientOrderId"] = client_id
        import ccxt

        try:
            order = self._original(symbol, order_type, side, amount, price, params)
        except (ccxt.NetworkError, ccxt.OperationFailed) as error:  # outcome unknown: it may have executed
            if isinstance(error, ccxt.DDoSProtection):  # refused before execution: nothing to look up
                self._report(Outcome(intent, client_id, None, error))
                raise
            lookup, raw = self.boundary.find_order(symbol, client_id)
            if lookup.status is LookupStatus.FOUND and lookup.order is not None:
                logger.warning(
                    "robust_plugin: %s order %s for %s: response lost (%s), order found by client id",
                    side,
                    client_id,
                    symbol,
                    type(error).__name__,
                )
                self._report(Outcome(intent, client_id, lookup.order, error, found_after_loss=True))
                return raw
            failed = lookup.status is LookupStatus.FAILED
            self._report(Outcome(intent, client_id, None, error, lookup_failed=failed))
            raise
        except Exception as error:
            self._report(Outcome(intent, client_id, None, error))
            raise
        self._report(Outcome(intent, client_id, self.boundary.order_report(order), None))
        return order

    def _report(self, outcome: Outcome) -> None:
        try:
            self.on_result(outcome)
        except Exception:  # the plugin's bookkeeping must never break order placement
            logger.exception("robust_plugin: recording an order outcome failed")
