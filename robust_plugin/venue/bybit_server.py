"""The venue's Bybit V5 face: routes, signing, the response envelope, scripted faults, the request log.

Every fault kind of the Binance dialect acts here too, under the same endpoint names (``order.new``,
``positionRisk``, ...), each answered as Bybit answers it: a rate limit is retCode 10006 with the
``X-Bapi-Limit*`` headers, a dropped request 10016, a gateway error or a lost response an HTML page.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qsl

from aiohttp import web

from robust_plugin.venue import bybit_account, bybit_market, bybit_orders, errors
from robust_plugin.venue.bybit_auth import verify
from robust_plugin.venue.bybit_errors import BybitError, envelope, error_body, limit_headers, translate
from robust_plugin.venue.server import BEFORE_KINDS, VENUE, _gateway_page, compact
from robust_plugin.venue.venue import Venue

LOG = logging.getLogger("robust_plugin.venue")
ORDER_LIMIT = 10  # requests per second per endpoint that Bybit grants order endpoints (reported in headers)


def _answer(venue: Venue, body: dict, headers: dict[str, str] | None = None, status: int = 200) -> web.Response:
    headers = {"Timenow": str(venue.now_ms()), **(headers or {})}
    return web.json_response(body, status=status, headers=headers, dumps=compact)


def _refusal(venue: Venue, error: BybitError) -> web.Response:
    return _answer(venue, error_body(error, venue.now_ms()), error.headers, error.status)


async def _params(request: web.Request) -> tuple[dict, str]:
    body = await request.text() if request.can_read_body else ""
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if body:
        try:
            document = json.loads(body)
        except json.JSONDecodeError:
            raise BybitError(10001, "params error: request body is not JSON") from None
        if not isinstance(document, dict):
            raise BybitError(10001, "params error: request body is not a JSON object")
        params.update(document)
    return params, body


def _reduce_only(params: dict) -> bool | None:
    if "side" not in params:
        return None
    return bybit_orders.truthy(params.get("reduceOnly")) or bybit_orders.truthy(params.get("closeOnTrigger"))


def _before_faults(venue: Venue, name: str, symbol, reduce_only) -> tuple[float, BybitError | web.Response | None]:
    delay, refusal = 0.0, None
    now = venue.now_ms()
    for rule in venue.plan.fire(BEFORE_KINDS, name, symbol, venue.elapsed_s(), now, reduce_only):
        if rule.kind == "latency":
            delay += rule.params.get("seconds", 1.0)
        elif refusal is None and rule.kind == "rate_limit":
            retry = max(1, rule.params.get("retry_after", 1))
            refusal = BybitError(
                10006,
                "Too many visits. Exceeded the API Rate Limit.",
                200,
                limit_headers(ORDER_LIMIT, 0, now + int(retry * 1000)),
            )
        elif refusal is None and rule.kind == "disconnect":
            refusal = translate(errors.disconnected())
        elif refusal is None and rule.kind == "server_error":
            refusal = _gateway_page(rule.params.get("status", 503))
    return delay, refusal


def make_handler(name, handler, signed: bool):
    async def serve(request: web.Request) -> web.StreamResponse:
        venue: Venue = request.app[VENUE]
        entry = {"time": venue.now_ms(), "method": request.method, "path": request.path, "endpoint": None}
        try:
            params, body = await _params(request)
            entry["symbol"] = params.get("symbol")
            endpoint = name(venue, params) if callable(name) else name
            entry["endpoint"] = endpoint
            response = await _serve(venue, request, endpoint, handler, signed, params, body, entry)
        except BybitError as error:
            entry["code"] = error.ret_code
            response = _refusal(venue, error)
        entry["status"] = response.status
        venue.log_request(entry)
        return response

    return serve


async def _serve(venue, request, name, handler, signed, params, body, entry) -> web.StreamResponse:
    headers = {}
    try:
        if signed:
            verify(venue.credentials, request.headers, request.method, request.query_string, body)
            headers = limit_headers(ORDER_LIMIT, ORDER_LIMIT - 1, venue.now_ms() + 1000)
        delay, refusal = _before_faults(venue, name, params.get("symbol"), _reduce_only(params))
        if delay:
            await asyncio.sleep(delay)
        if isinstance(refusal, web.Response):
            return refusal
        if refusal is not None:
            raise refusal
        try:
            result = handler(venue, params)
        except errors.VenueError as error:  # the shared engine refuses in Binance's codes
            raise translate(error) from None
    except BybitError as error:
        entry["code"] = error.ret_code
        return _refusal(venue, error)
    lost = venue.plan.fire(
        ("lost_response",), name, params.get("symbol"), venue.elapsed_s(), venue.now_ms(), _reduce_only(params)
    )
    if lost:  # it happened; the client just never hears about it
        entry["lost"] = True
        return _gateway_page(lost[0].params.get("status", 504))
    return _answer(venue, envelope(result, venue.now_ms()), headers)


@web.middleware
async def bybit_errors(request: web.Request, handler):
    """Unknown paths (retCode 10017) and unexpected failures answer in Bybit's envelope."""
    venue = request.app[VENUE]
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as refusal:
        entry = {"time": venue.now_ms(), "method": request.method, "path": request.path, "endpoint": None}
        venue.log_request({**entry, "status": refusal.status, "code": 10017})
        error = BybitError(10017, "route not found or request method is invalid", refusal.status)
        return _refusal(venue, error)
    except web.HTTPException:
        raise
    except Exception as error:
        LOG.exception("venue handler failed for %s %s", request.method, request.path)
        return _refusal(venue, BybitError(10016, f"System error. Please try again later. ({type(error).__name__})"))


def add_routes(app: web.Application, venue: Venue) -> None:
    for method, path, name, handler in bybit_market.ROUTES:
        if venue.engine is not None or name in ("exchangeInfo", "time"):
            app.router.add_route(method, path, make_handler(name, handler, signed=False))
    if venue.engine is not None:
        for method, path, name, handler in bybit_orders.ROUTES + bybit_account.ROUTES:
            app.router.add_route(method, path, make_handler(name, handler, signed=True))
