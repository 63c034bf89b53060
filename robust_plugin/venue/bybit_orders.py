"""Bybit V5 orders (``/v5/order/*``) on the shared engine: create, amend, cancel, open orders, history.

Bybit keeps plain and conditional orders in one list: a conditional order (``triggerPrice``) is the
engine's algo order, shown ``Untriggered`` until it fires, then with the status and fills of the
market order it became, under its own id (the engine's triggered order is never shown apart).
Order ids are UUIDs made from the engine's ids, so either maps back to the other.
"""

from __future__ import annotations

import re
from decimal import Decimal

from robust_plugin.venue import errors
from robust_plugin.venue.account import ZERO, AlgoOrder, Order
from robust_plugin.venue.bybit_errors import order_not_found, params_error, translate, would_trigger
from robust_plugin.venue.bybit_market import category, integer, linear_spec
from robust_plugin.venue.engine import decimal_param
from robust_plugin.venue.private_api import phantom, place_algo, place_order
from robust_plugin.venue.venue import Venue

ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
SIDES = {"Buy": "BUY", "Sell": "SELL"}
TIME_IN_FORCE = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "PostOnly": "GTX"}
CREATE_TYPES = {
    "liquidation": "CreateByLiq",
    "adl": "CreateByAdl_PassThrough",
    "algo": "CreateByStopOrder",
}
ENGINE_ORIGINS = ("liquidation", "adl")  # orders the exchange places itself: market orders without an orderLinkId
STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled", "REJECTED": "Rejected"}


def bybit_id(number: int) -> str:
    digits = f"{number:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def engine_id(text: str | None) -> int | None:
    try:
        return int(str(text).replace("-", ""), 16)
    except ValueError:
        return None


def truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


def _side(order) -> str:
    return "Buy" if order.side == "BUY" else "Sell"


def _status(order: Order) -> str:
    if order.status in ("CANCELED", "EXPIRED"):
        return "PartiallyFilledCanceled" if order.executed_qty else "Cancelled"
    return STATUS.get(order.status, "Rejected")


def _fees(venue: Venue, order_id: int) -> Decimal:
    return sum((f.commission for f in venue.engine.ledger.fills if f.order_id == order_id), ZERO)


def render(venue: Venue, item: Order | AlgoOrder) -> dict:
    """One entry of ``/v5/order/realtime`` or ``/v5/order/history``."""
    if isinstance(item, AlgoOrder):
        return _render_algo(venue, item)
    link = "" if item.origin in ENGINE_ORIGINS else item.client_order_id
    market = item.type == "MARKET" or item.origin in ENGINE_ORIGINS
    view = _base(venue, item, bybit_id(item.order_id), link)
    view.update(
        price=str(item.avg_price if item.type == "MARKET" else item.price),
        orderStatus=_status(item),
        orderType="Market" if market else "Limit",
        timeInForce="IOC" if market else {"GTX": "PostOnly"}.get(item.time_in_force, item.time_in_force),
        createType=CREATE_TYPES.get(item.origin, "CreateByUser"),
        cancelType="CancelByUser" if item.status == "CANCELED" else "UNKNOWN",
    )
    return view


def _base(venue: Venue, order: Order | None, order_id: str, link: str) -> dict:
    qty = order.orig_qty if order else ZERO
    executed = order.executed_qty if order else ZERO
    open_ = order is not None and order.open
    return {
        "orderId": order_id,
        "orderLinkId": link,
        "blockTradeId": "",
        "symbol": order.symbol if order else "",
        "price": "0",
        "qty": str(qty),
        "side": _side(order) if order else "",
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": "",
        "cancelType": "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": str(order.avg_price) if order and executed else "",
        "leavesQty": str(qty - executed) if open_ else "0",
        "leavesValue": str((qty - executed) * order.price) if open_ else "0",
        "cumExecQty": str(executed),
        "cumExecValue": str(order.cum_quote) if order else "0",
        "cumExecFee": str(_fees(venue, order.order_id)) if order and executed else "0",
        "cumFeeDetail": {"USDT": str(_fees(venue, order.order_id))} if order and executed else {},
        "timeInForce": "GTC",
        "orderType": "Market",
        "stopOrderType": "",
        "orderIv": "",
        "marketUnit": "",
        "triggerPrice": "",
        "takeProfit": "",
        "stopLoss": "",
        "tpslMode": "",
        "ocoTriggerBy": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "basePrice": "",
        "reduceOnly": order.reduce_only if order else False,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "createType": "CreateByUser",
        "createdTime": str(order.time) if order else "",
        "updatedTime": str(order.update_time) if order else "",
    }


def _rises(algo: AlgoOrder) -> bool:
    return (algo.order_type == "STOP_MARKET") == (algo.side == "BUY")


def _render_algo(venue: Venue, algo: AlgoOrder) -> dict:
    fired = venue.engine.ledger.orders.get(algo.actual_order_id) if algo.actual_order_id else None
    view = _base(venue, fired, bybit_id(algo.algo_id), algo.client_algo_id)
    if algo.algo_status == "NEW":
        status = "Untriggered"
    elif fired is not None:
        status = _status(fired)
    else:
        status = "Deactivated"
    view.update(
        symbol=algo.symbol,
        qty=str(algo.quantity),
        side=_side(algo),
        orderStatus=status,
        leavesQty=str(algo.quantity) if algo.open else "0",
        orderType="Market",
        timeInForce="IOC",
        stopOrderType="Stop",
        triggerPrice=str(algo.trigger_price),
        triggerDirection=1 if _rises(algo) else 2,
        triggerBy="MarkPrice" if algo.working_type == "MARK_PRICE" else "LastPrice",
        reduceOnly=algo.reduce_only,
        closeOnTrigger=algo.close_position,
        cancelType="CancelByUser" if algo.algo_status == "CANCELED" else "UNKNOWN",
        createType="CreateByStopOrder",
        createdTime=str(algo.create_time),
        updatedTime=str(algo.update_time),
    )
    return view


def _items(venue: Venue) -> list[Order | AlgoOrder]:
    """Every order as Bybit lists them (conditional orders once), newest first."""
    ledger = venue.engine.ledger
    items: list[Order | AlgoOrder] = [o for o in ledger.orders.values() if o.origin != "algo"]
    items += list(ledger.algo_orders.values())
    return sorted(items, key=lambda i: (i.create_time if isinstance(i, AlgoOrder) else i.time, _id(i)), reverse=True)


def _id(item: Order | AlgoOrder) -> int:
    return item.algo_id if isinstance(item, AlgoOrder) else item.order_id


def _open(item: Order | AlgoOrder) -> bool:
    return item.open


def find(venue: Venue, params: dict) -> Order | AlgoOrder | None:
    """The order named by ``orderId`` or ``orderLinkId`` (any status), or None."""
    ledger = venue.engine.ledger
    if params.get("orderId"):
        number = engine_id(params["orderId"])
        item = ledger.orders.get(number) or ledger.algo_orders.get(number)
    elif params.get("orderLinkId"):
        link = params["orderLinkId"]
        order, algo = ledger.by_client_id.get(link), ledger.algo_by_client_id.get(link)
        item = algo if algo is not None and (order is None or algo.create_time >= order.time) else order
    else:
        return None
    if isinstance(item, Order) and item.origin == "algo":  # the market order a stop became: shown as the stop
        item = next((a for a in ledger.algo_orders.values() if a.actual_order_id == item.order_id), None)
    if item is None or (params.get("symbol") and item.symbol != params["symbol"]):
        return None
    return item


def _select(venue: Venue, params: dict, open_only: bool | None) -> list[Order | AlgoOrder]:
    category(params)
    if params.get("symbol"):
        linear_spec(venue, params)
    if params.get("orderId") or params.get("orderLinkId"):
        found = find(venue, params)
        items = [found] if found is not None else []
    else:
        items = [i for i in _items(venue) if open_only is None or _open(i) == open_only]
    if params.get("symbol"):
        items = [i for i in items if i.symbol == params["symbol"]]
    kind = params.get("orderFilter")
    if kind == "StopOrder":
        items = [i for i in items if isinstance(i, AlgoOrder)]
    elif kind == "Order":
        items = [i for i in items if isinstance(i, Order)]
    return items


def _page(venue: Venue, params: dict, items: list, default: int) -> dict:
    limit = integer(params, "limit", default)
    if not 1 <= limit <= 50:
        raise params_error("limit invalid")
    rows = [render(venue, i) for i in items]
    status = params.get("orderStatus")
    if status:
        rows = [r for r in rows if r["orderStatus"] in status.split(",")]
    rows = rows[:limit]
    return {"category": "linear", "list": rows, "nextPageCursor": ""}


def realtime(venue: Venue, params: dict):
    venue.tick()
    shown = phantom(venue, engine_id(params.get("orderId")), params.get("orderLinkId"))
    if shown is not None:  # a phantom fill whose status query says Filled; the history has none
        return _page(venue, params, [shown], 20)
    return _page(venue, params, _select(venue, params, open_only=True), 20)


def history(venue: Venue, params: dict):
    venue.tick()
    items = _select(venue, params, open_only=False)
    start, end = integer(params, "startTime"), integer(params, "endTime")
    created = {id(i): (i.create_time if isinstance(i, AlgoOrder) else i.time) for i in items}
    items = [i for i in items if (start is None or created[id(i)] >= start) and (end is None or created[id(i)] <= end)]
    return _page(venue, params, items, 20)


def _engine_params(venue: Venue, params: dict) -> dict:
    spec = linear_spec(venue, params)
    side = SIDES.get(params.get("side"))
    if side is None:
        raise params_error("side invalid")
    if str(params.get("positionIdx", 0)) != "0":
        raise translate(errors.VenueError(-4061, ""))
    link = params.get("orderLinkId")
    if link and not ORDER_LINK_ID.match(str(link)):
        raise params_error("orderLinkId invalid")
    if params.get("qty") in (None, ""):
        raise params_error("qty is required")
    return {
        "symbol": spec.symbol,
        "side": side,
        "quantity": str(params["qty"]),
        "reduceOnly": "true" if truthy(params.get("reduceOnly")) else "false",
        **({"newClientOrderId": str(link), "clientAlgoId": str(link)} if link else {}),
    }


def create(venue: Venue, params: dict):
    engine_params = _engine_params(venue, params)
    order_type = params.get("orderType")
    if order_type not in ("Market", "Limit"):
        raise params_error("orderType invalid")
    if params.get("triggerPrice") not in (None, ""):
        return _create_conditional(venue, params, engine_params, order_type)
    engine_params["type"] = order_type.upper()
    if order_type == "Limit":
        engine_params["price"] = str(params.get("price") or "")
        tif = params.get("timeInForce", "GTC")
        if tif not in TIME_IN_FORCE:
            raise params_error("timeInForce invalid")
        engine_params["timeInForce"] = TIME_IN_FORCE[tif]
    order = place_order(venue, engine_params)
    return {"orderId": bybit_id(order.order_id), "orderLinkId": params.get("orderLinkId") or ""}


def _create_conditional(venue: Venue, params: dict, engine_params: dict, order_type: str):
    if order_type != "Market":
        raise params_error("conditional Limit orders are not supported by this venue")
    direction = str(params.get("triggerDirection", ""))
    if direction not in ("1", "2"):
        raise params_error("triggerDirection invalid")
    rises = direction == "1"
    falls_to_sell = (not rises) == (engine_params["side"] == "SELL")
    if truthy(params.get("closeOnTrigger")):
        engine_params["reduceOnly"] = "true"
    engine_params.update(
        type="STOP_MARKET" if falls_to_sell else "TAKE_PROFIT_MARKET",
        triggerPrice=str(params["triggerPrice"]),
        workingType="MARK_PRICE" if params.get("triggerBy") == "MarkPrice" else "CONTRACT_PRICE",
    )
    try:
        algo = place_algo(venue, engine_params)
    except errors.VenueError as error:
        if error.code != -2021:
            raise
        current = venue.engine.price(engine_params["symbol"], venue.now_ms())
        raise would_trigger(rises, engine_params["triggerPrice"], str(current)) from None
    return {"orderId": bybit_id(algo.algo_id), "orderLinkId": params.get("orderLinkId") or ""}


def cancel(venue: Venue, params: dict):
    venue.tick()
    linear_spec(venue, params)
    if not params.get("orderId") and not params.get("orderLinkId"):
        raise params_error("orderId or orderLinkId is required")
    item = find(venue, params)
    if item is None or not item.open:
        raise order_not_found("cancel")
    now = venue.now_ms()
    if isinstance(item, AlgoOrder):
        venue.engine.cancel_algo(str(item.algo_id), None, now)
        return {"orderId": bybit_id(item.algo_id), "orderLinkId": item.client_algo_id}
    venue.engine.cancel_order(item.symbol, str(item.order_id), None, now)
    return {"orderId": bybit_id(item.order_id), "orderLinkId": item.client_order_id}


def cancel_all(venue: Venue, params: dict):
    venue.tick()
    if not params.get("symbol") and not params.get("settleCoin") and not params.get("baseCoin"):
        category(params)
        raise params_error("symbol, baseCoin or settleCoin is required")
    items = _select(venue, params, open_only=True)
    now = venue.now_ms()
    for item in items:
        if isinstance(item, AlgoOrder):
            item.algo_status, item.update_time = "CANCELED", now
        else:
            item.status, item.update_time = "CANCELED", now
    rows = [{"orderId": bybit_id(_id(i)), "orderLinkId": render(venue, i)["orderLinkId"]} for i in items]
    return {"list": rows, "success": "1"}


def amend(venue: Venue, params: dict):
    venue.tick()
    spec = linear_spec(venue, params)
    item = find(venue, params)
    if item is None or not item.open or (isinstance(item, Order) and item.type != "LIMIT"):
        raise order_not_found("replace")
    qty = decimal_param(params, "qty", required=False)
    price = decimal_param(params, "price", required=False)
    trigger = decimal_param(params, "triggerPrice", required=False)
    if qty is not None and (qty <= 0 or qty % spec.step_size or qty < spec.min_qty or qty > spec.max_qty):
        raise params_error("qty invalid")
    for value in (price, trigger):
        if value is not None and (value <= 0 or value % spec.tick_size):
            raise params_error("price invalid")
    now = venue.now_ms()
    if isinstance(item, AlgoOrder):
        if trigger is not None:
            bid, ask = venue.engine.bid_ask(spec.symbol, now)
            if venue.engine._triggered(item.order_type, item.side, trigger, bid, ask):
                raise would_trigger(_rises(item), str(trigger), str(venue.engine.price(spec.symbol, now)))
            item.trigger_price = trigger
        if qty is not None:
            item.quantity = qty
        item.update_time = now
        return {"orderId": bybit_id(item.algo_id), "orderLinkId": item.client_algo_id}
    if qty is not None:
        if qty <= item.executed_qty:
            raise params_error("qty must exceed the filled quantity")
        item.orig_qty = qty
    if price is not None:
        item.price = price
    item.update_time = now
    venue.engine.advance(now + 1)  # a price moved across the market fills at the next tick, as a new order would
    return {"orderId": bybit_id(item.order_id), "orderLinkId": item.client_order_id}


def _order_endpoint(name: str, algo_name: str, by_id: tuple[str, str] | None = None):
    """The fault-endpoint name of a request: conditional orders count as the Binance dialect's algo
    orders; ``by_id`` names a query for one order (``order.query``/``algo.query``)."""

    def resolve(venue: Venue, params: dict) -> str:
        plain, conditional = (
            by_id if by_id and (params.get("orderId") or params.get("orderLinkId")) else (name, algo_name)
        )
        if params.get("triggerPrice") not in (None, "") or params.get("orderFilter") == "StopOrder":
            return conditional
        if venue.engine is not None and (params.get("orderId") or params.get("orderLinkId")):
            return conditional if isinstance(find(venue, params), AlgoOrder) else plain
        return plain

    return resolve


ROUTES = [
    ("POST", "/v5/order/create", _order_endpoint("order.new", "algo.new"), create),
    ("POST", "/v5/order/amend", _order_endpoint("order.new", "algo.new"), amend),
    ("POST", "/v5/order/cancel", _order_endpoint("order.cancel", "algo.cancel"), cancel),
    ("POST", "/v5/order/cancel-all", "order.cancel", cancel_all),
    (
        "GET",
        "/v5/order/realtime",
        _order_endpoint("openOrders", "openAlgoOrders", ("order.query", "algo.query")),
        realtime,
    ),
    ("GET", "/v5/order/history", _order_endpoint("allOrders", "allAlgoOrders"), history),
]
