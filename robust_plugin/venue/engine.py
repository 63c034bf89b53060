"""The venue's matching engine: validates orders as Binance does and fills them against the replayed prices.

One-way positions, isolated margin, maker/taker fees, MARKET and LIMIT orders, conditional orders
(STOP_MARKET, TAKE_PROFIT_MARKET) on the algo-order API, reduce-only semantics, exchange filters,
liquidation when the price crosses the liquidation price, funding every 8 hours (the orders and bookings
the exchange makes itself are in :mod:`robust_plugin.venue.exchange_closes`).
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from robust_plugin.venue import binance_rules, errors, exchange_closes, liquidation
from robust_plugin.venue.account import ZERO, AlgoOrder, Ledger, Order, Position
from robust_plugin.venue.markets import MarketSpec
from robust_plugin.venue.prices import PriceReplay

CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
ORDER_TYPES = ("MARKET", "LIMIT")
ALGO_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")


def decimal_param(params: dict, name: str, required: bool = True) -> Decimal | None:
    raw = params.get(name)
    if raw in (None, ""):
        if required:
            raise errors.missing(name)
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise errors.VenueError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if not value.is_finite():
        raise errors.VenueError(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


def bool_param(params: dict, name: str) -> bool:
    raw = str(params.get(name, "false")).lower()
    if raw not in ("true", "false"):
        raise errors.VenueError(-1100, f"Illegal characters found in parameter '{name}'.")
    return raw == "true"


class Engine:
    def __init__(
        self,
        markets: dict[str, MarketSpec],
        prices: PriceReplay,
        wallet: Decimal,
        maker_fee: Decimal = Decimal("0.0002"),
        taker_fee: Decimal = Decimal("0.0005"),
        default_leverage: int = 20,
        exchange: str = "binance",
    ):
        self.exchange = liquidation.known(exchange)  # the dialect whose liquidation price applies
        self.markets = {spec.symbol: spec for spec in markets.values() if spec.kind == "perpetual"}
        self.prices = prices
        self.ledger = Ledger(wallet)
        self.maker_fee, self.taker_fee = maker_fee, taker_fee
        self.default_leverage = default_leverage
        self.halted: set[str] = set()
        self.last_ms = prices.clock.now_ms()
        self.liquidations = 0  # how many this engine has made (their client ids count them)

    # -- market data ------------------------------------------------------------------------
    def spec(self, symbol: str | None) -> MarketSpec:
        if not symbol:
            raise errors.missing("symbol")
        spec = self.markets.get(symbol)
        if spec is None:
            raise errors.invalid_symbol()
        return spec

    def price(self, symbol: str, now: int) -> Decimal:
        return Decimal(repr(self.prices.price(symbol, now)))

    def bid_ask(self, symbol: str, now: int) -> tuple[Decimal, Decimal]:
        tick = self.spec(symbol).tick_size
        bid = (self.price(symbol, now) / tick).to_integral_value(ROUND_FLOOR) * tick
        return bid, bid + tick

    def leverage(self, symbol: str) -> int:
        return self.ledger.leverage.get(symbol, self.default_leverage)

    def liquidation_price(self, symbol: str) -> Decimal:
        """Where the exchange liquidates the symbol's position (isolated, its bracket or tier); 0 when flat."""
        return liquidation.liquidation_price(self.exchange, self.spec(symbol), self.ledger.position(symbol))

    # -- orders -----------------------------------------------------------------------------
    def _client_id(self, params: dict, key: str, now: int) -> str:
        client_id = params.get(key) or f"venue-{now}-{self.ledger.next_id + 1}"
        if not CLIENT_ID.match(client_id):
            raise errors.invalid_client_id()
        taken = (self.ledger.by_client_id.get(client_id), self.ledger.algo_by_client_id.get(client_id))
        if any(o is not None and o.open for o in taken):  # unique among open orders only, as on Binance
            raise errors.duplicate_client_id()
        return client_id

    def _check_filters(
        self, spec: MarketSpec, qty: Decimal, price: Decimal | None, market: bool, reduce_only: bool, reference: Decimal
    ) -> None:
        if qty <= 0:
            raise errors.quantity_below_zero()
        if qty % spec.step_size:
            raise errors.precision("quantity")
        if price is not None and price % spec.tick_size:
            raise errors.precision("price")
        if price is not None and price <= 0:
            raise errors.VenueError(-4001, "Price less than 0.")
        if qty < spec.min_qty:
            raise errors.quantity_below_min()
        if qty > (spec.market_max_qty if market else spec.max_qty):
            raise errors.quantity_above_max()
        if not reduce_only and qty * (price or reference) < spec.min_notional:
            raise errors.min_notional(str(spec.min_notional))

    def _opening_qty(self, position: Position, side: str, qty: Decimal) -> Decimal:
        signed = qty if side == "BUY" else -qty
        if position.amount == 0 or (position.amount > 0) == (signed > 0):
            return qty
        return max(ZERO, qty - abs(position.amount))

    def _check_margin(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> None:
        opening = self._opening_qty(self.ledger.position(symbol), side, qty)
        if opening <= 0:
            return
        needed = opening * price / Decimal(self.leverage(symbol)) + opening * price * self.taker_fee
        available = self.ledger.wallet - self.ledger.used_margin() - self.ledger.reserved_margin(None)
        if needed > available:
            raise errors.insufficient_margin()

    def _reduce_only_qty(self, symbol: str, side: str, qty: Decimal) -> Decimal:
        amount = self.ledger.position(symbol).amount
        if amount == 0 or (amount > 0) == (side == "BUY"):
            raise errors.reduce_only_rejected()
        return min(qty, abs(amount))

    def new_order(self, params: dict, now: int, origin: str = "api", fill_ratio: Decimal | None = None) -> Order:
        """Validate and place a MARKET or LIMIT order; a marketable order fills at once."""
        self.advance(now)
        spec = self.spec(params.get("symbol"))
        side = params.get("side")
        if side not in ("BUY", "SELL"):
            raise errors.VenueError(-1117, "Invalid side.") if side else errors.missing("side")
        order_type = params.get("type")
        if order_type in ALGO_TYPES:
            raise errors.VenueError(
                -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
            )
        if order_type not in ORDER_TYPES:
            raise errors.VenueError(-1116, "Invalid orderType.") if order_type else errors.missing("type")
        if params.get("positionSide", "BOTH") != "BOTH":
            raise errors.VenueError(-4061, "Order's position side does not match user's setting.")
        qty = decimal_param(params, "quantity")
        reduce_only = bool_param(params, "reduceOnly")
        price = decimal_param(params, "price", required=order_type == "LIMIT") if order_type == "LIMIT" else None
        tif = params.get("timeInForce", "GTC" if order_type == "LIMIT" else "GTC")
        if order_type == "LIMIT" and tif not in ("GTC", "IOC", "FOK", "GTX", "GTD"):
            raise errors.VenueError(-1115, "Invalid timeInForce.")
        if spec.symbol in self.halted:
            raise errors.symbol_halted()
        bid, ask = self.bid_ask(spec.symbol, now)
        reference = ask if side == "BUY" else bid
        self._check_filters(spec, qty, price, order_type == "MARKET", reduce_only, reference)
        if price is not None:
            binance_rules.percent_price(spec, side, price, self.price(spec.symbol, now))
        client_id = self._client_id(params, "newClientOrderId", now)
        if reduce_only:
            qty = self._reduce_only_qty(spec.symbol, side, qty)
        marketable = order_type == "MARKET" or (price >= ask if side == "BUY" else price <= bid)
        if marketable and tif == "GTX":
            raise errors.post_only_rejected()
        self._check_margin(spec.symbol, side, qty, price if order_type == "LIMIT" else reference)
        order = Order(
            self.ledger.new_id(),
            client_id,
            spec.symbol,
            side,
            order_type,
            qty,
            price if price is not None else ZERO,
            tif if order_type == "LIMIT" else "GTC",
            reduce_only,
            False,
            now,
            now,
            origin=origin,
        )
        self.ledger.add_order(order)
        if marketable:
            fill_qty = qty if fill_ratio is None else self._partial(spec, qty, fill_ratio)
            if fill_qty > 0:
                self.ledger.apply_fill(order, fill_qty, reference, self.taker_fee, False, now)
            if order.remaining > 0 and (order_type == "MARKET" or tif in ("IOC", "FOK")):
                order.status = "EXPIRED"
        elif tif in ("IOC", "FOK"):
            order.status = "EXPIRED"
        return order

    @staticmethod
    def _partial(spec: MarketSpec, qty: Decimal, ratio: Decimal) -> Decimal:
        return ((qty * ratio) / spec.step_size).to_integral_value(ROUND_FLOOR) * spec.step_size

    def new_algo_order(self, params: dict, now: int, origin: str = "api") -> AlgoOrder:
        self.advance(now)
        spec = self.spec(params.get("symbol"))
        if params.get("algoType", "CONDITIONAL") != "CONDITIONAL":
            raise errors.VenueError(-1116, "Invalid algoType.")
        order_type = params.get("type")
        if order_type not in ALGO_TYPES:
            raise errors.VenueError(-1116, "Invalid orderType.") if order_type else errors.missing("type")
        side = params.get("side")
        if side not in ("BUY", "SELL"):
            raise errors.VenueError(-1117, "Invalid side.") if side else errors.missing("side")
        trigger = decimal_param(params, "triggerPrice")
        if trigger % spec.tick_size or trigger <= 0:
            raise errors.precision("price")
        close_position = bool_param(params, "closePosition")
        reduce_only = bool_param(params, "reduceOnly") or close_position
        qty = ZERO if close_position else decimal_param(params, "quantity")
        if not close_position:
            self._check_filters(spec, qty, None, True, reduce_only, trigger)
        bid, ask = self.bid_ask(spec.symbol, now)
        triggers_now = self._triggered(order_type, side, trigger, bid, ask)
        if triggers_now:
            raise errors.VenueError(-2021, "Order would immediately trigger.")
        binance_rules.algo_order_room(self, spec.symbol)
        algo = AlgoOrder(
            self.ledger.new_id(),
            self._client_id(params, "clientAlgoId", now),
            spec.symbol,
            side,
            order_type,
            qty,
            trigger,
            reduce_only,
            close_position,
            params.get("workingType", "CONTRACT_PRICE"),
            now,
            now,
            origin=origin,
        )
        self.ledger.add_algo(algo)
        return algo

    @staticmethod
    def _triggered(order_type: str, side: str, trigger: Decimal, low: Decimal, high: Decimal) -> bool:
        rises = (order_type == "STOP_MARKET") == (side == "BUY")  # buy stops and sell take-profits fire upwards
        return high >= trigger if rises else low <= trigger

    def find_order(self, symbol: str | None, order_id: str | None, client_id: str | None) -> Order:
        self.spec(symbol)
        if order_id:
            try:
                order = self.ledger.orders.get(int(order_id))
            except ValueError:
                raise errors.bad_value("orderId") from None
        else:
            order = self.ledger.by_client_id.get(client_id or "")
        if isinstance(order, Order) and order.symbol == symbol:
            return order
        raise errors.unknown_order()

    def find_algo(self, algo_id: str | None, client_id: str | None) -> AlgoOrder:
        if algo_id:
            try:
                algo = self.ledger.algo_orders.get(int(algo_id))
            except ValueError:
                raise errors.bad_value("algoId") from None
        else:
            algo = self.ledger.algo_by_client_id.get(client_id or "")
        if isinstance(algo, AlgoOrder):
            return algo
        raise errors.unknown_order()

    def cancel_order(self, symbol: str | None, order_id: str | None, client_id: str | None, now: int) -> Order:
        self.advance(now)
        if not order_id and not client_id:
            raise errors.missing("orderId")
        try:
            order = self.find_order(symbol, order_id, client_id)
        except errors.VenueError:
            raise errors.cancel_rejected() from None
        if not order.open:
            raise errors.cancel_rejected()
        order.status, order.update_time = "CANCELED", now
        return order

    def cancel_algo(self, algo_id: str | None, client_id: str | None, now: int) -> AlgoOrder:
        self.advance(now)
        algo = self.find_algo(algo_id, client_id)
        if not algo.open:
            raise errors.cancel_rejected()
        algo.algo_status, algo.update_time = "CANCELED", now
        return algo

    # -- time passing -----------------------------------------------------------------------
    def advance(self, now: int) -> None:
        """Fill resting orders, trigger conditional orders, liquidate and fund, up to ``now``."""
        if now <= self.last_ms:
            return
        start, self.last_ms = self.last_ms, now
        symbols = {o.symbol for o in self.ledger.open_orders()}
        symbols |= {a.symbol for a in self.ledger.open_algos()}
        symbols |= {s for s, p in self.ledger.positions.items() if p.amount}
        for symbol in sorted(symbols):
            low, high = (Decimal(repr(v)) for v in self.prices.price_range(symbol, start, now))
            self._fill_resting(symbol, low, high, now)
            self._trigger_algos(symbol, low, high, now)
            self._check_liquidation(symbol, low, high, now)
        exchange_closes.fund(self, start, now)

    def _fill_resting(self, symbol: str, low: Decimal, high: Decimal, now: int) -> None:
        for order in self.ledger.open_orders():
            if order.symbol != symbol or not order.open or order.type != "LIMIT":
                continue
            if (order.side == "BUY" and low <= order.price) or (order.side == "SELL" and high >= order.price):
                qty = order.remaining
                if order.reduce_only:
                    amount = self.ledger.position(symbol).amount
                    qty = min(qty, abs(amount)) if amount and (amount > 0) != (order.side == "BUY") else ZERO
                    if qty == 0:
                        order.status, order.update_time = "EXPIRED", now
                        continue
                self.ledger.apply_fill(order, qty, order.price, self.maker_fee, True, now)

    def _trigger_algos(self, symbol: str, low: Decimal, high: Decimal, now: int) -> None:
        for algo in self.ledger.open_algos():
            if algo.symbol != symbol or not algo.open:
                continue
            if not self._triggered(algo.order_type, algo.side, algo.trigger_price, low, high):
                continue
            algo.algo_status, algo.trigger_time, algo.update_time = "FINISHED", now, now
            amount = self.ledger.position(symbol).amount
            qty = abs(amount) if algo.close_position else algo.quantity
            if algo.reduce_only:
                qty = min(qty, abs(amount)) if amount and (amount > 0) != (algo.side == "BUY") else ZERO
            if qty <= 0:
                algo.algo_status = "EXPIRED"
                continue
            order = Order(
                self.ledger.new_id(),
                algo.client_algo_id,
                symbol,
                algo.side,
                "MARKET",
                qty,
                ZERO,
                "GTC",
                algo.reduce_only,
                algo.close_position,
                now,
                now,
                origin="algo",
                stop_price=algo.trigger_price,
                orig_type=algo.order_type,
            )
            self.ledger.add_order(order)
            algo.actual_order_id = order.order_id
            self.ledger.apply_fill(order, qty, algo.trigger_price, self.taker_fee, False, now)

    def _check_liquidation(self, symbol: str, low: Decimal, high: Decimal, now: int) -> None:
        position = self.ledger.position(symbol)
        if not position.amount:
            return
        liq = self.liquidation_price(symbol)
        if (position.amount > 0 and low <= liq) or (position.amount < 0 and high >= liq):
            exchange_closes.liquidate(self, symbol, now, liq)

    # -- outside the bot --------------------------------------------------------------------
    def external_order(
        self, symbol: str, side: str, quantity: Decimal | None, now: int, reduce_only: bool = False
    ) -> Order:
        """An order from someone else on the same account (the web UI, another bot)."""
        position = self.ledger.position(symbol)
        if quantity is None:  # close whatever is there
            quantity, reduce_only = abs(position.amount), True
            side = "SELL" if position.amount > 0 else "BUY"
        params = {
            "symbol": symbol,
            "side": side,
            "type": "MARKET",
            "quantity": str(quantity),
            "reduceOnly": "true" if reduce_only else "false",
            "newClientOrderId": f"web_{now}_{self.ledger.next_id}",
        }
        return self.new_order(params, now, origin="external")

    def cancel_all_algos(self, symbol: str, now: int) -> list[AlgoOrder]:
        cancelled = [a for a in self.ledger.open_algos() if a.symbol == symbol]
        for algo in cancelled:
            algo.algo_status, algo.update_time = "CANCELED", now
        return cancelled
