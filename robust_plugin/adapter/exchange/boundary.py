"""The exchange boundary: the only code that touches freqtrade's ``Exchange`` object, its ccxt clients
(``_api``) or raw ccxt structures. It reads through freqtrade's own methods where they exist, applies
the exchange's dialect where they do not, and hands the rest of the plugin typed core reports.

Nothing here places or cancels an order; the order guard's wrapper around the ccxt ``create_order``
is installed through :meth:`ExchangeBoundary.wrap_create_order`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from robust_plugin.adapter.exchange.binance import Binance
from robust_plugin.adapter.exchange.bybit import Bybit
from robust_plugin.adapter.exchange.dialect import Dialect, Unsupported
from robust_plugin.core.chunking import MarketLimits
from robust_plugin.core.exchange_reports import OrderLookup, OrderReport, OrderState, PositionReport
from robust_plugin.core.failures import Failure, classify
from robust_plugin.core.kinds import Side

logger = logging.getLogger(__name__)

DIALECTS: dict[str, type[Dialect]] = {"binance": Binance, "binanceusdm": Binance, "bybit": Bybit}

_STATES = {
    "open": OrderState.OPEN,
    "closed": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "cancelled": OrderState.CANCELED,
    "expired": OrderState.CANCELED,
    "rejected": OrderState.REJECTED,
}


def dialect_for(exchange_name: str) -> Dialect:
    """The dialect of a freqtrade exchange name (``exchange.name`` in the config)."""
    name = (exchange_name or "").lower()
    return DIALECTS[name]() if name in DIALECTS else Unsupported(name or "unknown")


def _float(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


class ExchangeBoundary:
    """Typed reads of one freqtrade ``Exchange`` (live), in its exchange's dialect."""

    def __init__(self, exchange: Any, dialect: Dialect | None = None):
        self.exchange = exchange
        self.dialect = dialect or dialect_for(getattr(exchange, "name", "") or getattr(exchange, "id", ""))
        self.position_reads = 0

    @classmethod
    def of_strategy(cls, dataprovider: Any, exchange_name: str) -> ExchangeBoundary:
        """The boundary around the exchange object freqtrade gives a strategy's data provider."""
        return cls(dataprovider._exchange, dialect_for(exchange_name))

    @staticmethod
    def synced_position(wallets: Any, pair: str) -> PositionReport | None:
        """The pair's position as freqtrade's wallet sync last read it (no request of ours); None
        when freqtrade holds no position for the pair."""
        position = wallets.get_all_positions().get(pair) if wallets else None
        if position is None or not float(position.position or 0):
            return None
        side = str(getattr(position, "side", "long") or "long").lower()
        return PositionReport(pair, Side.SHORT if side == "short" else Side.LONG, abs(float(position.position)))

    # -- reports ------------------------------------------------------------------------------
    def order_report(self, raw: dict, in_contracts: bool = True) -> OrderReport:
        """One ccxt order as a core report, amounts in base currency (``in_contracts``: the order
        comes straight from ccxt; freqtrade's own reads have converted contracts already)."""
        size = self._contract_size(raw.get("symbol")) if in_contracts else 1.0
        timestamp = raw.get("lastTradeTimestamp") or raw.get("timestamp")
        return OrderReport(
            pair=str(raw.get("symbol") or ""),
            order_id=str(raw.get("id") or ""),
            client_order_id=raw.get("clientOrderId"),
            side=str(raw.get("side") or ""),
            state=_STATES.get(str(raw.get("status") or "").lower(), OrderState.OPEN),
            amount=_float(raw.get("amount")) * size,
            filled=_float(raw.get("filled")) * size,
            average=_float(raw.get("average")) or None,
            timestamp=timestamp / 1000 if timestamp else None,
            liquidation=self.dialect.is_liquidation(raw),
        )

    def _contract_size(self, symbol: Any) -> float:
        market = self._market(str(symbol or ""))
        return _float((market or {}).get("contractSize")) or 1.0

    def _market(self, pair: str) -> dict | None:
        try:
            return self.exchange.markets.get(pair)
        except Exception:  # noqa: BLE001 - markets not loaded: no facts
            return None

    # -- positions ----------------------------------------------------------------------------
    def positions(self) -> dict[str, PositionReport] | None:
        """Every open position, one batched read; None when the read failed (never "no positions")."""
        self.position_reads += 1
        try:
            raw = self.exchange.fetch_positions()
        except Exception as error:  # noqa: BLE001 - a failed read is "unknown", never "absent"
            logger.warning("robust_plugin: position read failed: %s", error)
            return None
        positions: dict[str, PositionReport] = {}
        for position in raw:
            amount = _float(position.get("contracts")) * (_float(position.get("contractSize")) or 1.0)
            side = str(position.get("side") or "").lower()
            if amount > 0 and side in ("long", "short"):
                positions[position["symbol"]] = PositionReport(position["symbol"], Side(side), amount)
        return positions

    # -- orders -------------------------------------------------------------------------------
    def order_by_client_id(self, pair: str, client_order_id: str) -> OrderLookup:
        """Look an order up by its client order id (two immediate tries; never sleeping)."""
        return self.find_order(pair, client_order_id)[0]

    def find_order(self, pair: str, client_order_id: str) -> tuple[OrderLookup, dict | None]:
        """As :meth:`order_by_client_id`, with the raw ccxt order for freqtrade (the order guard
        returns it to freqtrade as the answer whose response was lost)."""
        import ccxt

        if self.dialect.id_rule is None:
            return OrderLookup.failed(f"{self.dialect.name}: no client order id lookup"), None
        error = ""
        for _ in range(2):
            try:
                raw = self.dialect.lookup(self.exchange._api, pair, client_order_id)
            except ccxt.BaseError as exc:
                error = f"{type(exc).__name__}: {exc}"
                logger.warning("robust_plugin: lookup of order %s failed: %s", client_order_id, error)
                continue
            if raw is None or raw.get("clientOrderId") not in (None, client_order_id):
                return OrderLookup.not_found(), None  # none, or not ours: never take another bot's order
            return OrderLookup.found(self.order_report(raw)), raw
        return OrderLookup.failed(error), None

    def history_since(self, pair: str, since: float) -> list[OrderReport] | None:
        """The pair's orders since an epoch time, through freqtrade's own ``fetch_orders`` (which
        emulates the history on exchanges without one); None when the exchange could not answer."""
        try:
            raw = self.exchange.fetch_orders(pair, datetime.fromtimestamp(since, UTC))
        except Exception as error:  # noqa: BLE001
            logger.warning("robust_plugin: order history read failed for %s: %s", pair, error)
            return None
        return [self.order_report(order, in_contracts=False) for order in raw]

    def classify(self, error: BaseException) -> Failure:
        """An order failure classified by type, then this exchange's code, then text; with the
        ``Retry-After`` of the last response."""
        return classify(error, self.retry_after(), self.dialect.error_codes)

    def retry_after(self) -> float | None:
        api = getattr(self.exchange, "_api", None)
        header = (getattr(api, "last_response_headers", None) or {}).get("Retry-After")
        try:
            return float(header) if header is not None else None
        except (TypeError, ValueError):
            return None

    # -- markets ------------------------------------------------------------------------------
    def largest_market_order(self, pair: str) -> float | None:
        """The largest amount one market order may have, in base currency."""
        market = self._market(pair)
        if not market:
            return None
        cap = self.dialect.largest_market_order(market)
        return cap * (_float(market.get("contractSize")) or 1.0) if cap else None

    def market_limits(self, pair: str, notional_margin: float = 1.5) -> MarketLimits | None:
        """Limits for chunk plans. The minimum notional gets ``notional_margin`` headroom because
        freqtrade refuses a partial exit whose remainder is below its minimum stake (which includes a
        stoploss reserve)."""
        market = self._market(pair)
        if not market:
            return None
        limits = market.get("limits") or {}
        step = (market.get("precision") or {}).get("amount")
        if not step:
            return None

        def dec(value) -> Decimal | None:
            return Decimal(str(value)) if value else None

        notional = dec((limits.get("cost") or {}).get("min"))
        largest = self.dialect.largest_market_order(market)
        return MarketLimits(
            step=Decimal(str(step)),
            min_qty=dec((limits.get("amount") or {}).get("min")) or Decimal(0),
            max_qty=dec((limits.get("amount") or {}).get("max")),
            market_max_qty=dec(largest),
            min_notional=notional * Decimal(str(notional_margin)) if notional else None,
        )

    # -- the order path -----------------------------------------------------------------------
    def wrap_create_order(self, make_wrapper: Callable[[Callable], Callable]) -> bool:
        """Put ``make_wrapper(original)`` in place of the ccxt client's ``create_order`` (the one
        freqtrade's ``Exchange.create_order`` calls). False when it was wrapped already."""
        api = self.exchange._api
        if getattr(api.create_order, "_robust_guard", None) is not None:
            return False
        wrapper = make_wrapper(api.create_order)
        wrapper._robust_guard = True  # type: ignore[attr-defined]
        api.create_order = wrapper
        return True

    def create_order_is_wrapped(self) -> bool:
        api = getattr(self.exchange, "_api", None)
        return getattr(getattr(api, "create_order", None), "_robust_guard", None) is not None
