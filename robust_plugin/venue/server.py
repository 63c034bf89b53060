"""The venue's HTTP face: Binance-shaped routes, signing, scripted faults, a request log (the Bybit
dialect's face is ``bybit_server``; ``build_app`` picks one)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import parse_qsl

from aiohttp import web

from robust_plugin.venue import control_api, errors, private_api, public_api
from robust_plugin.venue.venue import Venue

VENUE = web.AppKey("venue", Venue)
LOG = logging.getLogger("robust_plugin.venue")
BEFORE_KINDS = ("latency", "rate_limit", "disconnect", "server_error")


def compact(obj) -> str:
    """JSON as Binance writes it: no spaces, decimals as strings."""
    return json.dumps(obj, separators=(",", ":"), default=str)


def _error(error: errors.VenueError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers, dumps=compact)


def _reduce_only(params: dict) -> bool | None:
    """Whether an order request is reduce-only (None for requests that are not orders)."""
    if "side" not in params:
        return None
    return (
        str(params.get("reduceOnly", "false")).lower() == "true"
        or str(params.get("closePosition", "false")).lower() == "true"
    )


def _before_faults(
    venue: Venue, name: str, symbol: str | None, reduce_only: bool | None
) -> tuple[float, errors.VenueError | web.Response | None]:
    """Faults that act before the request is served: (delay in seconds, error to answer instead)."""
    delay, refusal = 0.0, None
    for rule in venue.plan.fire(BEFORE_KINDS, name, symbol, venue.elapsed_s(), venue.now_ms(), reduce_only):
        if rule.kind == "latency":
            delay += rule.params.get("seconds", 1.0)
        elif refusal is None and rule.kind == "rate_limit":
            refusal = errors.rate_limited(
                int(max(1, rule.params.get("retry_after", 1))), rule.params.get("status", 429)
            )
        elif refusal is None and rule.kind == "disconnect":
            refusal = errors.disconnected()
        elif refusal is None and rule.kind == "server_error":
            refusal = _gateway_page(rule.params.get("status", 503))
    return delay, refusal


def _gateway_page(status: int) -> web.Response:
    """What a load balancer in front of Binance answers: an HTML page, not Binance JSON."""
    return web.Response(
        status=status, text=f"<html><body><h1>{status} gateway error</h1></body></html>", content_type="text/html"
    )


def make_handler(name: str, handler, signed: bool):
    async def serve(request: web.Request) -> web.StreamResponse:
        venue: Venue = request.app[VENUE]
        body = await request.text() if request.can_read_body else ""
        params = dict(parse_qsl(request.query_string, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        entry = {
            "time": venue.now_ms(),
            "method": request.method,
            "path": request.path,
            "endpoint": name,
            "symbol": params.get("symbol"),
        }
        refusal = venue.weights.admit(request.method, request.path, params)  # Binance counts every request
        if refusal is not None:
            entry["code"] = refusal.code
            response = _error(refusal)
        else:
            response = await _serve(venue, request, name, handler, signed, params, body, entry)
        response.headers.update(venue.weights.headers(request.method, request.path))
        entry["status"] = response.status
        venue.log_request(entry)
        return response

    return serve


async def _serve(venue, request, name, handler, signed, params, body, entry) -> web.StreamResponse:
    try:
        if signed:
            venue.credentials.verify(request.headers.get("X-MBX-APIKEY"), request.query_string, body, params)
        delay, refusal = _before_faults(venue, name, params.get("symbol"), _reduce_only(params))
        if delay:
            await asyncio.sleep(delay)
        if isinstance(refusal, web.Response):
            return refusal
        if refusal is not None:
            entry["code"] = refusal.code
            return _error(refusal)
        result = handler(venue, params)
    except errors.VenueError as error:
        entry["code"] = error.code
        return _error(error)
    lost = venue.plan.fire(
        ("lost_response",), name, params.get("symbol"), venue.elapsed_s(), venue.now_ms(), _reduce_only(params)
    )
    if lost:  # it happened; the client just never hears about it
        entry["lost"] = True
        return _gateway_page(lost[0].params.get("status", 504))
    return web.json_response(result, dumps=compact)


@web.middleware
async def binance_errors(request: web.Request, handler):
    """Unknown paths and unexpected failures answer in Binance's error shape, and the venue keeps serving."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as refusal:
        venue = request.app[VENUE]
        entry = {"time": venue.now_ms(), "method": request.method, "path": request.path, "endpoint": None}
        venue.log_request({**entry, "status": refusal.status, "code": -1000})
        msg = f"Unknown path {request.path}" if refusal.status == 404 else f"Method not allowed for {request.path}"
        return web.json_response({"code": -1000, "msg": msg}, status=refusal.status, dumps=compact)
    except web.HTTPException:
        raise
    except Exception as error:
        LOG.exception("venue handler failed for %s %s", request.method, request.path)
        return web.json_response(
            {"code": -1000, "msg": f"An unknown error occurred: {type(error).__name__}"}, status=500
        )


async def _ticker(app: web.Application):
    venue = app[VENUE]

    async def run():
        while True:
            await asyncio.sleep(0.5)
            try:
                venue.tick()
            except Exception:
                LOG.exception("venue tick failed")

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


EXCHANGES = ("binance", "bybit")


def build_app(venue: Venue, exchange: str | None = None) -> web.Application:
    """The venue's app speaking ``exchange``'s dialect (Binance USD-M or Bybit V5; by default the one the
    venue was built for, whose liquidation price its engine applies) over one shared engine."""
    exchange = exchange or venue.exchange
    if exchange not in EXCHANGES:
        raise ValueError(f"unknown exchange {exchange!r}; known: {', '.join(EXCHANGES)}")
    if exchange != venue.exchange:
        raise ValueError(f"the venue was built for {venue.exchange}, not {exchange}")
    if exchange == "bybit":
        from robust_plugin.venue import bybit_server  # imports this module

        app = web.Application(middlewares=[bybit_server.bybit_errors])
        app[VENUE] = venue
        bybit_server.add_routes(app, venue)
    else:
        app = web.Application(middlewares=[binance_errors])
        app[VENUE] = venue
        for method, path, name, handler in public_api.ROUTES:
            if venue.engine is not None or name == "exchangeInfo":
                app.router.add_route(method, path, make_handler(name, handler, signed=False))
        if venue.engine is not None:
            for method, path, name, handler in private_api.ROUTES:
                app.router.add_route(method, path, make_handler(name, handler, signed=True))
    if venue.engine is not None:
        app.cleanup_ctx.append(_ticker)
    control_api.add_routes(app, VENUE)
    return app
