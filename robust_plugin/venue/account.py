"""The venue's book-keeping: orders, fills, one-way positions with isolated margin, the wallet.

Plain data and the arithmetic of fills; no HTTP, no clock (times are passed in, in ms). The matching
rules (when an order fills, at what price) live in :mod:`robust_plugin.venue.engine`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass
class Order:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    type: str  # MARKET / LIMIT (algo orders become MARKET orders when they trigger)
    orig_qty: Decimal
    price: Decimal
    time_in_force: str
    reduce_only: bool
    close_position: bool
    time: int
    update_time: int
    status: str = "NEW"  # NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    origin: str = "api"  # api, external, liquidation, algo
    stop_price: Decimal = ZERO
    orig_type: str = ""

    @property
    def open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO

    def binance(self) -> dict:
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_order_id,
            "price": str(self.price),
            "avgPrice": f"{self.avg_price:.8f}",
            "origQty": str(self.orig_qty),
            "executedQty": str(self.executed_qty),
            "cumQty": str(self.executed_qty),
            "cumQuote": f"{self.cum_quote:.8f}",
            "timeInForce": self.time_in_force,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": str(self.stop_price),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.orig_type or self.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time,
            "updateTime": self.update_time,
        }


@dataclass
class AlgoOrder:
    """A conditional order (STOP_MARKET, TAKE_PROFIT_MARKET) on Binance's algo-order API."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    trigger_price: Decimal
    reduce_only: bool
    close_position: bool
    working_type: str
    create_time: int
    update_time: int
    algo_status: str = "NEW"  # NEW, TRIGGERED -> FINISHED, CANCELED, EXPIRED
    trigger_time: int = 0
    actual_order_id: int | None = None
    origin: str = "api"

    @property
    def open(self) -> bool:
        return self.algo_status == "NEW"

    def binance(self) -> dict:
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL",
            "orderType": self.order_type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": "BOTH",
            "timeInForce": "GTC",
            "quantity": str(self.quantity),
            "algoStatus": self.algo_status,
            "actualOrderId": str(self.actual_order_id) if self.actual_order_id else "",
            "triggerPrice": str(self.trigger_price),
            "price": "0",
            "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": self.working_type,
            "priceMatch": "NONE",
            "closePosition": self.close_position,
            "priceProtect": False,
            "reduceOnly": self.reduce_only,
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "triggerTime": self.trigger_time,
            "goodTillDate": 0,
        }


@dataclass
class Fill:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    realized_pnl: Decimal
    time: int
    maker: bool
    origin: str

    def binance(self) -> dict:
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "side": self.side,
            "price": str(self.price),
            "qty": str(self.qty),
            "realizedPnl": f"{self.realized_pnl:.8f}",
            "quoteQty": f"{self.price * self.qty:.8f}",
            "commission": f"{self.commission:.8f}",
            "commissionAsset": "USDT",
            "time": self.time,
            "positionSide": "BOTH",
            "buyer": self.side == "BUY",
            "maker": self.maker,
        }


@dataclass
class Position:
    symbol: str
    amount: Decimal = ZERO  # signed: > 0 long, < 0 short
    entry_price: Decimal = ZERO
    margin: Decimal = ZERO  # isolated margin
    update_time: int = 0


@dataclass
class Income:
    symbol: str
    income_type: str  # REALIZED_PNL, COMMISSION, FUNDING_FEE
    income: Decimal
    time: int
    tran_id: int
    trade_id: str = ""

    def binance(self) -> dict:
        return {
            "symbol": self.symbol,
            "incomeType": self.income_type,
            "income": f"{self.income:.8f}",
            "asset": "USDT",
            "info": self.income_type,
            "time": self.time,
            "tranId": self.tran_id,
            "tradeId": self.trade_id,
        }


@dataclass
class Ledger:
    """Everything the account holds and has done; the ground truth."""

    wallet: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    margin_type: dict[str, str] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    algo_orders: dict[int, AlgoOrder] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    position_history: list[dict] = field(default_factory=list)
    next_id: int = 1_000_001
    by_client_id: dict[str, Order] = field(default_factory=dict)  # the most recent order with each id
    algo_by_client_id: dict[str, AlgoOrder] = field(default_factory=dict)  # the most recent algo with each id
    _open_ids: set[int] = field(default_factory=set)
    _open_algo_ids: set[int] = field(default_factory=set)

    def add_order(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self.by_client_id[order.client_order_id] = order
        self._open_ids.add(order.order_id)

    def add_algo(self, algo: AlgoOrder) -> None:
        self.algo_orders[algo.algo_id] = algo
        self.algo_by_client_id[algo.client_algo_id] = algo
        self._open_algo_ids.add(algo.algo_id)

    def open_orders(self) -> list[Order]:
        """Open orders, oldest first (the index forgets orders once they are done)."""
        self._open_ids = {i for i in self._open_ids if self.orders[i].open}
        return [self.orders[i] for i in sorted(self._open_ids)]

    def open_algos(self) -> list[AlgoOrder]:
        self._open_algo_ids = {i for i in self._open_algo_ids if self.algo_orders[i].open}
        return [self.algo_orders[i] for i in sorted(self._open_algo_ids)]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def position(self, symbol: str) -> Position:
        return self.positions.setdefault(symbol, Position(symbol))

    def apply_fill(self, order: Order, qty: Decimal, price: Decimal, fee_rate: Decimal, maker: bool, now: int) -> Fill:
        """Book a fill: position, isolated margin, realized PnL, commission, wallet."""
        position = self.position(order.symbol)
        signed = qty if order.side == "BUY" else -qty
        leverage = Decimal(self.leverage.get(order.symbol, 20))
        realized = ZERO
        if position.amount == 0 or (position.amount > 0) == (signed > 0):
            total = position.amount + signed
            position.entry_price = (position.entry_price * abs(position.amount) + price * qty) / abs(total)
            position.margin += price * qty / leverage
            position.amount = total
        else:
            closing = min(qty, abs(position.amount))
            direction = 1 if position.amount > 0 else -1
            realized = (price - position.entry_price) * closing * direction
            released = position.margin * closing / abs(position.amount)
            position.margin -= released
            position.amount += closing * (1 if signed > 0 else -1)
            opening = qty - closing
            if position.amount == 0:
                position.entry_price = ZERO
                position.margin = ZERO
            if opening > 0:
                position.amount = opening * (1 if signed > 0 else -1)
                position.entry_price = price
                position.margin = price * opening / leverage
        commission = price * qty * fee_rate
        self.wallet += realized - commission
        position.update_time = now
        order.executed_qty += qty
        order.cum_quote += price * qty
        order.update_time = now
        order.status = "FILLED" if order.executed_qty >= order.orig_qty else "PARTIALLY_FILLED"
        fill = Fill(
            self.new_id(),
            order.order_id,
            order.symbol,
            order.side,
            price,
            qty,
            commission,
            realized,
            now,
            maker,
            order.origin,
        )
        self.fills.append(fill)
        if realized:
            self.income.append(Income(order.symbol, "REALIZED_PNL", realized, now, self.new_id(), str(fill.trade_id)))
        self.income.append(Income(order.symbol, "COMMISSION", -commission, now, self.new_id(), str(fill.trade_id)))
        self.record_position(order.symbol, now)
        return fill

    def record_position(self, symbol: str, now: int) -> None:
        position = self.position(symbol)
        self.position_history.append(
            {
                "time": now,
                "symbol": symbol,
                "amount": str(position.amount),
                "entryPrice": str(position.entry_price),
                "margin": str(position.margin),
            }
        )

    def position_as_of(self, symbol: str, at_ms: int) -> tuple[Decimal, Decimal]:
        """(amount, entry price) of ``symbol`` as it was at ``at_ms`` (for position-visibility lag)."""
        amount, entry = ZERO, ZERO
        for row in self.position_history:
            if row["symbol"] == symbol and row["time"] <= at_ms:
                amount, entry = Decimal(row["amount"]), Decimal(row["entryPrice"])
        return amount, entry

    def used_margin(self) -> Decimal:
        return sum((p.margin for p in self.positions.values()), ZERO)

    def reserved_margin(self, price_of) -> Decimal:
        """Margin held by open orders that would increase a position."""
        total = ZERO
        for order in self.open_orders():
            if not order.reduce_only and order.type == "LIMIT":
                total += order.price * order.remaining / Decimal(self.leverage.get(order.symbol, 20))
        return total

    def truth(self, liquidation_price: Callable[[str], Decimal]) -> dict:
        """Everything, plain; ``liquidation_price(symbol)`` is the exchange's price for an open position."""

        def plain(obj) -> dict:
            return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(obj).items()}

        return {
            "wallet_balance": str(self.wallet),
            "positions": [
                plain(p) | {"liquidation_price": str(liquidation_price(p.symbol))}
                for p in self.positions.values()
                if p.amount
            ],
            "position_history": list(self.position_history),
            "orders": [plain(o) for o in self.orders.values()],
            "algo_orders": [plain(a) for a in self.algo_orders.values()],
            "fills": [plain(f) for f in self.fills],
            "income": [plain(i) for i in self.income],
            "leverage": dict(self.leverage),
            "margin_type": dict(self.margin_type),
        }
