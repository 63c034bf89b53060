"""The venue's own endpoints under ``/_venue/`` (loopback tooling, not Binance): health, ground truth,
faults added at run time, and changes from outside the bot."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from aiohttp import web

from robust_plugin.venue.faults import ScenarioError, parse_scenario


def add_routes(app: web.Application, key) -> None:
    def venue(request):
        return request.app[key]

    async def health(request):
        v = venue(request)
        return web.json_response(
            {
                "status": "ok",
                "markets": sorted(s.ccxt_symbol for s in v.markets.values()),
                "faults_fired": len(v.plan.fired),
            }
        )

    async def state(request):
        v = venue(request)
        v.tick()
        return web.json_response(v.truth())

    async def requests(request):
        return web.json_response(venue(request).requests)

    async def add_faults(request):
        v = venue(request)
        try:
            scenario = parse_scenario(await request.text(), "posted faults")
        except ScenarioError as error:
            return web.json_response({"error": str(error)}, status=400)
        v.plan.add(scenario.rules, scenario.seed)
        return web.json_response({"rules": len(v.plan.rules)})

    async def clear_faults(request):
        venue(request).plan.clear()
        return web.json_response({"rules": 0})

    async def _json(request) -> dict:
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError as error:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": f"invalid JSON: {error}"}), content_type="application/json"
            ) from error
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "expected a JSON object"}), content_type="application/json"
            )
        return body

    def _bad(message: str) -> web.Response:
        return web.json_response({"error": message}, status=400)

    async def external(request):
        v = venue(request)
        body = await _json(request)
        action = body.get("action")
        if action not in ("open", "close", "cancel_stops", "adl"):
            return _bad("action: expected open, close, cancel_stops or adl")
        symbol = body.get("symbol")
        if symbol not in (v.engine.markets if v.engine else {}):
            return _bad(f"symbol: unknown {symbol!r}")
        quantity = None
        if action == "open" and body.get("side") not in ("BUY", "SELL"):
            return _bad("side: expected BUY or SELL")
        if action == "open" or (action == "adl" and body.get("quantity") is not None):
            try:
                quantity = Decimal(str(body.get("quantity")))
            except InvalidOperation:
                return _bad("quantity: expected a number")
        try:
            v.external(action, symbol, body.get("side"), quantity)
        except Exception as error:  # noqa: BLE001 - a VenueError from the engine: report it
            return _bad(f"{action}: {error}")
        return web.json_response({"ok": True})

    async def price(request):
        v = venue(request)
        body = await _json(request)
        symbol = body.get("symbol")
        if symbol not in (v.engine.markets if v.engine else {}):
            return _bad(f"symbol: unknown {symbol!r}")
        value = body.get("price")
        if value is not None and (not isinstance(value, int | float) or value <= 0):
            return _bad("price: expected a positive number or null")
        v.tick()
        v.prices.pin(symbol, value)
        v.tick()
        return web.json_response({"symbol": symbol, "price": value})

    async def halt(request):
        v = venue(request)
        body = await _json(request)
        symbol = body.get("symbol")
        if symbol not in (v.engine.markets if v.engine else {}):
            return _bad(f"symbol: unknown {symbol!r}")
        (v.engine.halted.add if body.get("halted", True) else v.engine.halted.discard)(symbol)
        return web.json_response({"halted": sorted(v.engine.halted)})

    app.router.add_get("/_venue/health", health)
    app.router.add_get("/_venue/state", state)
    app.router.add_get("/_venue/requests", requests)
    app.router.add_post("/_venue/faults", add_faults)
    app.router.add_delete("/_venue/faults", clear_faults)
    app.router.add_post("/_venue/external", external)
    app.router.add_post("/_venue/price", price)
    app.router.add_post("/_venue/halt", halt)
