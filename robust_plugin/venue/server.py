"""The venue's HTTP face: Binance-shaped endpoints served with aiohttp."""

from __future__ import annotations

import time

from aiohttp import web

from robust_plugin.venue.markets import MarketSpec, exchange_info

MARKETS = web.AppKey("markets", dict)


def now_ms() -> int:
    return int(time.time() * 1000)


async def spot_exchange_info(request: web.Request) -> web.Response:
    return web.json_response(exchange_info(request.app[MARKETS], "spot", now_ms()))


async def futures_exchange_info(request: web.Request) -> web.Response:
    return web.json_response(exchange_info(request.app[MARKETS], "perpetual", now_ms()))


async def delivery_exchange_info(request: web.Request) -> web.Response:
    return web.json_response(exchange_info(request.app[MARKETS], "delivery", now_ms()))


async def health(request: web.Request) -> web.Response:
    markets: dict[str, MarketSpec] = request.app[MARKETS]
    return web.json_response({"status": "ok", "markets": sorted(spec.ccxt_symbol for spec in markets.values())})


@web.middleware
async def binance_errors(request: web.Request, handler):
    """Unknown paths and unexpected failures answer in Binance's error shape, and the venue keeps serving."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return web.json_response({"code": -1000, "msg": f"Unknown path {request.path}"}, status=404)
    except web.HTTPException:
        raise
    except Exception as error:  # noqa: BLE001 - a bug in one handler must not stop the venue
        request.app.logger.exception("venue handler failed")
        return web.json_response({"code": -1000, "msg": f"An unknown error occurred: {error}"}, status=500)


def build_app(markets: dict[str, MarketSpec]) -> web.Application:
    app = web.Application(middlewares=[binance_errors])
    app[MARKETS] = markets
    app.router.add_get("/api/v3/exchangeInfo", spot_exchange_info)
    app.router.add_get("/fapi/v1/exchangeInfo", futures_exchange_info)
    app.router.add_get("/dapi/v1/exchangeInfo", delivery_exchange_info)
    app.router.add_get("/_venue/health", health)
    return app
