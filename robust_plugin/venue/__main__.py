"""``python -m robust_plugin.venue --host 127.0.0.1 --port PORT --data DIR [--scenario FILE] [--seed N]
[--api-key KEY --api-secret SECRET] [--tls-dir DIR] [--exchange binance|bybit]``: run the venue until SIGTERM.

``--exchange`` picks the dialect: Binance USD-M futures (the default) or Bybit V5 linear perpetuals;
both run on the same engine, faults and control API.

It serves HTTPS on loopback with a CA made at start (``tls.py``); the CA's certificate is written to
``--tls-dir`` (default: a temporary directory removed at exit) and its path printed before the
listening line. Keys may also come from the environment (``VENUE_API_KEY``, ``VENUE_API_SECRET``) so
they stay out of the process list. Without keys the signed endpoints refuse every request, as the
exchange refuses an unknown key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from aiohttp import web

from robust_plugin.venue.auth import Credentials
from robust_plugin.venue.faults import ScenarioError, parse_scenario
from robust_plugin.venue.server import EXCHANGES, build_app
from robust_plugin.venue.tls import server_context
from robust_plugin.venue.venue import Venue

READY_LINE = "venue listening on"
CA_LINE = "venue CA certificate:"


async def serve(app: web.Application, host: str, port: int, context: ssl.SSLContext) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    site = web.SockSite(runner, sock, ssl_context=context)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before announcing readiness: a stop may follow at once
        loop.add_signal_handler(signum, stop.set)
    bound_port = sock.getsockname()[1]
    authority = f"[{host}]" if ":" in host else host
    print(f"{READY_LINE} https://{authority}:{bound_port}", flush=True)
    await stop.wait()
    await runner.cleanup()
    print("venue stopped", flush=True)


def _start_ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2026-08-01 or 2026-08-01T12:00, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _balance(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m robust_plugin.venue", description="A local futures venue speaking Binance USD-M or Bybit V5."
    )
    parser.add_argument("--exchange", default="binance", choices=EXCHANGES, help="dialect to speak (default binance)")
    parser.add_argument(
        "--host", default="127.0.0.1", choices=("127.0.0.1", "::1"), help="loopback address to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port, printed at start)")
    parser.add_argument("--data", required=True, type=Path, help="freqtrade data directory (with futures/*.feather)")
    parser.add_argument("--scenario", type=Path, help="TOML file of scripted faults")
    parser.add_argument("--seed", type=int, help="seed for probabilistic faults (overrides the scenario's)")
    parser.add_argument("--api-key", default=os.environ.get("VENUE_API_KEY"), help="accepted API key")
    parser.add_argument("--api-secret", default=os.environ.get("VENUE_API_SECRET"), help="its secret")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed vs the wall clock (default 1)")
    parser.add_argument("--start", type=_start_ms, help="data time the replay starts from (default: 1000 candles in)")
    parser.add_argument("--balance", type=_balance, help="USDT wallet balance (default 10000)")
    parser.add_argument(
        "--weight-limit",
        type=int,
        help="request weight per minute before 429/418, as Binance's 2400 (default: counted, never refused)",
    )
    parser.add_argument(
        "--order-limit",
        type=int,
        help="orders per 10 s (4x per minute) before 429/-1015, as Binance's 300 (default: counted, never refused)",
    )
    parser.add_argument("--tls-dir", type=Path, help="where to write the CA certificate ca.pem (default: a temp dir)")
    args = parser.parse_args(argv)
    if bool(args.api_key) != bool(args.api_secret):
        parser.error("--api-key and --api-secret go together")
    if args.weight_limit is not None and args.weight_limit < 1:
        parser.error("--weight-limit must be positive")
    if args.order_limit is not None and args.order_limit < 1:
        parser.error("--order-limit must be positive")
    if args.speed <= 0:
        parser.error("--speed must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s venue %(levelname)s %(message)s")
    scenario = None
    try:
        if args.scenario is not None:
            scenario = parse_scenario(args.scenario.read_text(), str(args.scenario))
        if not args.data.is_dir():
            raise FileNotFoundError(f"data directory not found: {args.data}")
        credentials = Credentials({args.api_key: args.api_secret} if args.api_key else None)
        venue = Venue(
            args.data, scenario, args.seed, credentials, args.speed, args.start, args.balance, exchange=args.exchange
        )
        venue.weights.limit, venue.weights.order_limit = args.weight_limit, args.order_limit
    except (OSError, ValueError, ScenarioError) as error:
        print(f"venue: cannot start: {error}", file=sys.stderr)
        return 2
    if not credentials:
        print("venue: no API key configured; signed endpoints will refuse every request", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        tls_dir = args.tls_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="venue-tls-")))
        try:
            context, ca_file = server_context(tls_dir)
        except (OSError, RuntimeError) as error:
            print(f"venue: cannot start: {error}", file=sys.stderr)
            return 2
        print(f"{CA_LINE} {ca_file}", flush=True)
        try:
            asyncio.run(serve(build_app(venue, args.exchange), args.host, args.port, context))
        except OSError as error:
            print(f"venue: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
