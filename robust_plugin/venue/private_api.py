"""Signed Binance USD-M endpoints of orders: orders, algo (stop) orders, trades and income; the
account's endpoints are in :mod:`robust_plugin.venue.account_api`, and ``ROUTES`` serves both."""

from __future__ import annotations

from decimal import Decimal

from robust_plugin.venue import binance_rules, errors
from robust_plugin.venue.account import ZERO, AlgoOrder, Order
from robust_plugin.venue.account_api import (
    account,
    balance,
    change_position_side,
    coins,
    commission_rate,
    leverage_bracket,
    multi_assets,
    position_risk,
    position_risk_v2,
    position_side,
    set_leverage,
    set_margin_type,
    symbol_config,
)
from robust_plugin.venue.public_api import _int
from robust_plugin.venue.venue import Venue


def _order_fault_checks(venue: Venue, params: dict, endpoint: str) -> dict:
    symbol, now, elapsed = params.get("symbol"), venue.now_ms(), venue.elapsed_s()
    reduce_only = str(params.get("reduceOnly", "false")).lower() == "true" or params.get("closePosition") == "true"
    halts = venue.plan.active("halt", symbol, elapsed)
    if halts or symbol in venue.engine.halted:
        if halts:
            venue.plan.record(halts[0], endpoint, symbol, now)
        raise errors.symbol_halted()
    if venue.plan.fire(("reduce_only_reject",), endpoint, symbol, elapsed, now, reduce_only) and reduce_only:
        raise errors.reduce_only_rejected()
    if venue.plan.fire(("insufficient_margin",), endpoint, symbol, elapsed, now, reduce_only):
        raise errors.insufficient_margin()
    partial = venue.plan.fire(("partial_fill",), endpoint, symbol, elapsed, now, reduce_only)
    liquidate = venue.plan.fire(("liquidate_after_entry",), endpoint, symbol, elapsed, now, reduce_only)
    return {"ratio": partial[0].params.get("ratio", Decimal("0.5")) if partial else None, "liquidate": liquidate}


def _phantom(venue: Venue, params: dict) -> Order:
    """A fill report for an order that never executed: the exchange has no trace of it afterwards."""
    from robust_plugin.venue.engine import decimal_param

    spec = venue.engine.spec(params.get("symbol"))
    now = venue.now_ms()
    qty = decimal_param(params, "quantity")
    bid, ask = venue.engine.bid_ask(spec.symbol, now)
    price = ask if params.get("side") == "BUY" else bid
    ghost = Order(
        venue.engine.ledger.new_id(),
        params.get("newClientOrderId") or f"phantom-{now}",
        spec.symbol,
        params.get("side", "BUY"),
        params.get("type", "MARKET"),
        qty,
        ZERO,
        "GTC",
        False,
        False,
        now,
        now,
        status="FILLED",
        executed_qty=qty,
        cum_quote=qty * price,
        origin="phantom",
    )
    return ghost


def place_order(venue: Venue, params: dict, endpoint: str = "order.new") -> Order:
    """Place an order with the order faults applied (params in the engine's Binance shape); a phantom
    fill answers an order that is nowhere in the ledger. Shared by every dialect."""
    venue.tick()
    phantom_rules = venue.plan.fire(
        ("phantom_fill",),
        endpoint,
        params.get("symbol"),
        venue.elapsed_s(),
        venue.now_ms(),
        str(params.get("reduceOnly", "false")).lower() == "true",
    )
    if phantom_rules:
        ghost = _phantom(venue, params)
        if phantom_rules[0].params.get("status_query"):
            venue.phantoms[ghost.order_id] = ghost
        return ghost
    faults = _order_fault_checks(venue, params, endpoint)
    position_before = (
        venue.engine.ledger.position(params.get("symbol", "")).amount
        if params.get("symbol") in venue.engine.markets
        else ZERO
    )
    order = venue.engine.new_order(params, venue.now_ms(), fill_ratio=faults["ratio"])
    after = venue.engine.ledger.position(order.symbol).amount
    if faults["liquidate"] and abs(after) > abs(position_before):
        delay = int(faults["liquidate"][0].params.get("seconds", 0) * 1000)
        venue.scheduled.append((venue.now_ms() + delay, "liquidate", order.symbol))
        if delay == 0:
            venue.tick()
    return order


def new_order(venue: Venue, params: dict):
    return binance_rules.order_answer(place_order(venue, params).binance(), params)


def _find(venue: Venue, params: dict):
    order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
    if not order_id and not client_id:
        raise errors.VenueError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    return venue.engine.find_order(params.get("symbol"), order_id, client_id)


def phantom(venue: Venue, order_id, client_id) -> Order | None:
    """A phantom fill whose status query reports it filled, named by its id or its client id."""
    return next(
        (
            p
            for p in venue.phantoms.values()
            if (order_id and str(p.order_id) == str(order_id)) or (client_id and p.client_order_id == client_id)
        ),
        None,
    )


def query_order(venue: Venue, params: dict):
    venue.tick()
    shown = phantom(venue, params.get("orderId"), params.get("origClientOrderId"))
    return shown.binance() if shown is not None else _find(venue, params).binance()


def cancel_order(venue: Venue, params: dict):
    venue.tick()
    order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
    return venue.engine.cancel_order(params.get("symbol"), order_id, client_id, venue.now_ms()).binance()


def cancel_all(venue: Venue, params: dict):
    venue.tick()
    symbol = venue.engine.spec(params.get("symbol")).symbol
    for order in venue.engine.ledger.open_orders():
        if order.symbol == symbol:
            order.status, order.update_time = "CANCELED", venue.now_ms()
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _window(params: dict, rows: list, time_key) -> list:
    start, end = _int(params, "startTime"), _int(params, "endTime")
    limit = min(_int(params, "limit", 500), 1000)
    rows = [r for r in rows if (start is None or time_key(r) >= start) and (end is None or time_key(r) <= end)]
    return rows[:limit] if start is not None else rows[-limit:]


def open_orders(venue: Venue, params: dict):
    venue.tick()
    symbol = venue.engine.spec(params["symbol"]).symbol if params.get("symbol") else None
    return [o.binance() for o in venue.engine.ledger.open_orders() if symbol is None or o.symbol == symbol]


def all_orders(venue: Venue, params: dict):
    venue.tick()
    symbol = venue.engine.spec(params.get("symbol")).symbol
    rows = [o for o in venue.engine.ledger.orders.values() if o.symbol == symbol]
    return [o.binance() for o in _window(params, rows, lambda o: o.time)]


def user_trades(venue: Venue, params: dict):
    venue.tick()
    symbol = venue.engine.spec(params.get("symbol")).symbol
    rows = [f for f in venue.engine.ledger.fills if f.symbol == symbol]
    if params.get("orderId"):
        rows = [f for f in rows if str(f.order_id) == params["orderId"]]
    return [f.binance() for f in _window(params, rows, lambda f: f.time)]


def income(venue: Venue, params: dict):
    venue.tick()
    rows = venue.engine.ledger.income
    if params.get("symbol"):
        rows = [i for i in rows if i.symbol == params["symbol"]]
    if params.get("incomeType"):
        rows = [i for i in rows if i.income_type == params["incomeType"]]
    return [i.binance() for i in _window(params, rows, lambda i: i.time)]


def place_algo(venue: Venue, params: dict) -> AlgoOrder:
    """Place a conditional order with the order faults applied (params in the engine's Binance shape)."""
    venue.tick()
    _order_fault_checks(venue, params, "algo.new")
    return venue.engine.new_algo_order(params, venue.now_ms())


def new_algo(venue: Venue, params: dict):
    return place_algo(venue, params).binance()


def query_algo(venue: Venue, params: dict):
    venue.tick()
    if not params.get("algoId") and not params.get("clientAlgoId"):
        raise errors.missing("algoId")
    return venue.engine.find_algo(params.get("algoId"), params.get("clientAlgoId")).binance()


def cancel_algo(venue: Venue, params: dict):
    venue.tick()
    if not params.get("algoId") and not params.get("clientAlgoId"):
        raise errors.missing("algoId")
    algo = venue.engine.cancel_algo(params.get("algoId"), params.get("clientAlgoId"), venue.now_ms())
    return {"algoId": algo.algo_id, "clientAlgoId": algo.client_algo_id, "code": "200", "msg": "success"}


def open_algos(venue: Venue, params: dict):
    venue.tick()
    symbol = params.get("symbol")
    return [a.binance() for a in venue.engine.ledger.open_algos() if not symbol or a.symbol == symbol]


def all_algos(venue: Venue, params: dict):
    venue.tick()
    symbol = venue.engine.spec(params.get("symbol")).symbol
    rows = [a for a in venue.engine.ledger.algo_orders.values() if a.symbol == symbol]
    return [a.binance() for a in _window(params, rows, lambda a: a.create_time)]


ROUTES = [
    ("GET", "/sapi/v1/capital/config/getall", "account", coins),
    ("GET", "/fapi/v2/balance", "balance", balance),
    ("GET", "/fapi/v3/balance", "balance", balance),
    ("GET", "/fapi/v2/account", "account", account),
    ("GET", "/fapi/v3/account", "account", account),
    ("GET", "/fapi/v2/positionRisk", "positionRisk", position_risk_v2),
    ("GET", "/fapi/v3/positionRisk", "positionRisk", position_risk),
    ("POST", "/fapi/v1/order", "order.new", new_order),
    ("GET", "/fapi/v1/order", "order.query", query_order),
    ("DELETE", "/fapi/v1/order", "order.cancel", cancel_order),
    ("DELETE", "/fapi/v1/allOpenOrders", "order.cancel", cancel_all),
    ("GET", "/fapi/v1/openOrders", "openOrders", open_orders),
    ("GET", "/fapi/v1/allOrders", "allOrders", all_orders),
    ("GET", "/fapi/v1/userTrades", "userTrades", user_trades),
    ("GET", "/fapi/v1/income", "income", income),
    ("POST", "/fapi/v1/algoOrder", "algo.new", new_algo),
    ("GET", "/fapi/v1/algoOrder", "algo.query", query_algo),
    ("DELETE", "/fapi/v1/algoOrder", "algo.cancel", cancel_algo),
    ("GET", "/fapi/v1/openAlgoOrders", "openAlgoOrders", open_algos),
    ("GET", "/fapi/v1/allAlgoOrders", "allAlgoOrders", all_algos),
    ("POST", "/fapi/v1/leverage", "leverage", set_leverage),
    ("POST", "/fapi/v1/marginType", "marginType", set_margin_type),
    ("GET", "/fapi/v1/positionSide/dual", "positionSide", position_side),
    ("POST", "/fapi/v1/positionSide/dual", "positionSide", change_position_side),
    ("GET", "/fapi/v1/multiAssetsMargin", "multiAssetsMargin", multi_assets),
    ("GET", "/fapi/v1/leverageBracket", "leverageBracket", leverage_bracket),
    ("GET", "/fapi/v1/commissionRate", "account", commission_rate),
    ("GET", "/fapi/v1/symbolConfig", "account", symbol_config),
]
