"""``python -m robust_plugin.venue --host 127.0.0.1 --port PORT --data DIR``: run the venue."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from robust_plugin.venue.markets import discover_markets
from robust_plugin.venue.server import build_app

READY_LINE = "venue listening on"


async def serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    site = web.SockSite(runner, sock)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before announcing readiness: a stop may follow at once
        loop.add_signal_handler(signum, stop.set)
    bound_port = sock.getsockname()[1]
    print(f"{READY_LINE} http://{host}:{bound_port}", flush=True)
    await stop.wait()
    await runner.cleanup()
    print("venue stopped", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m robust_plugin.venue", description="A local Binance USD-M futures venue.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port, printed at start)")
    parser.add_argument("--data", required=True, type=Path, help="freqtrade data directory (with futures/*.feather)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s venue %(levelname)s %(message)s")
    try:
        markets = discover_markets(args.data)
    except (OSError, ValueError) as error:
        print(f"venue: cannot start: {error}", file=sys.stderr)
        return 2
    if not markets:
        print(f"venue: cannot start: no candle files found in {args.data}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(build_app(markets), args.host, args.port))
    except OSError as error:
        print(f"venue: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
