"""Venue throughput benchmark: signed order round trips per second, the venue pinned to one core.

``python -m robust_plugin.tools.bench_venue [--seconds 5] [--concurrency 16]``

Starts the venue on generated data, pins it to one CPU core (the client runs on the others), and
measures over HTTPS (as every client reaches the venue; connections are kept alive, so TLS costs one
handshake per connection and the encryption of each request), side by side in one run, an unsigned ``GET /fapi/v1/time`` and a signed market order
(``POST /fapi/v1/order``, alternating buy and sell so the position stays small). Prints requests per
second and the ratio to the target of 1,000 signed order round trips per second.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from robust_plugin.tools.sampledata import generate
from robust_plugin.venue.process import RunningVenue, run_venue

TARGET = 1000.0
KEY, SECRET = "bench-key", "bench-secret"


async def _measure(venue: RunningVenue, seconds: float, concurrency: int, signed_orders: bool) -> tuple[int, int]:
    done = errors = 0
    base_url = venue.base_url
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=venue.ssl_context)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(n: int) -> None:
            nonlocal done, errors
            i = 0
            while time.monotonic() < stop_at:
                i += 1
                if signed_orders:
                    query = urlencode(
                        {
                            "symbol": "BTCUSDT",
                            "side": "BUY" if i % 2 else "SELL",
                            "type": "MARKET",
                            "quantity": "0.010",
                            "newClientOrderId": f"b{n}-{i}",
                            "timestamp": int(time.time() * 1000),
                        }
                    )
                    signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
                    request = session.post(
                        f"{base_url}/fapi/v1/order?{query}&signature={signature}", headers={"X-MBX-APIKEY": KEY}
                    )
                else:
                    request = session.get(f"{base_url}/fapi/v1/time")
                async with request as response:
                    await response.read()
                    if response.status == 200:
                        done += 1
                    else:
                        errors += 1

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done, errors


def _pin(pid: int, cores: set[int]) -> bool:
    try:
        os.sched_setaffinity(pid, cores)
        return True
    except (AttributeError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m robust_plugin.tools.bench_venue", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        datadir = Path(tmp) / "binance"
        generate(datadir, pairs=("BTC/USDT:USDT",), days=5, seed=1)
        with run_venue(datadir, api_key=KEY, api_secret=SECRET, extra_args=["--balance", "100000000"]) as venue:
            cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
            pinned = _pin(venue.proc.pid, {cores[0]})
            if len(cores) > 1:
                _pin(0, set(cores[1:]))
            print(f"venue pid {venue.proc.pid} pinned to core {cores[0]}: {pinned}; client on {cores[1:] or cores}")
            rows = []
            for label, signed in (
                ("GET /fapi/v1/time (unsigned)", False),
                ("POST /fapi/v1/order (signed, market)", True),
            ):
                done, errors = asyncio.run(_measure(venue, args.seconds, args.concurrency, signed))
                rows.append((label, done / args.seconds, errors))
    print(f"{'request':40} {'per second':>12} {'errors':>7}")
    for label, rate, errors in rows:
        print(f"{label:40} {rate:12.0f} {errors:7d}")
    order_rate = rows[1][1]
    print(f"signed orders vs unsigned time: {order_rate / rows[0][1]:.2f}x")
    print(
        f"signed orders vs target {TARGET:.0f}/s: {order_rate / TARGET:.2f}x  ({'met' if order_rate >= TARGET else 'NOT met'})"
    )
    return 0 if order_rate >= TARGET and rows[1][2] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
