"""Closing under a mixed fault schedule: the plugin's close path vs blind retry, on the venue.

Each round opens a position, then closes it under faults injected into reduce-only orders
(disconnects, lost responses, rate limits, gateway errors, insufficient margin), twice per fault
draw: once as the plugin does it (order guard with client order ids and lookup, classified failures,
backoff by waiting loops, position check before each attempt) and once as a bot that retries the
close every loop until it gets a success answer. Printed side by side: closes completed / due,
executed close orders per closed trade, close orders sent per close, attempts per close, seconds
from decision to flat (median, p95).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import types
from decimal import Decimal
from pathlib import Path

from robust_plugin.adapter.exchange.boundary import ExchangeBoundary, dialect_for
from robust_plugin.adapter.exchange.order_guard import Intent, OrderGuard
from robust_plugin.core import closing as core
from robust_plugin.tools import sampledata
from robust_plugin.venue.process import run_venue

SYMBOL = "BTC/USDT:USDT"
LOOP_S = 0.5
SCHEDULE = """seed = {seed}
[[faults]]
kind = "disconnect"
endpoint = "order.new"
reduce_only = true
probability = 0.15
[[faults]]
kind = "lost_response"
endpoint = "order.new"
reduce_only = true
probability = 0.15
[[faults]]
kind = "rate_limit"
endpoint = "order.new"
reduce_only = true
retry_after = 1
probability = 0.1
[[faults]]
kind = "server_error"
status = 502
endpoint = "order.new"
reduce_only = true
probability = 0.05
[[faults]]
kind = "insufficient_margin"
endpoint = "order.new"
reduce_only = true
probability = 0.05
"""


def _client(venue):
    import ccxt

    make = ccxt.bybit if venue.exchange == "bybit" else ccxt.binanceusdm
    client = make(
        {
            "apiKey": "bench",
            "secret": "bench",
            **venue.ccxt_config(),  # https with the exchange's own error table, as against its real host
            "options": {"fetchCurrencies": False},
            "timeout": 5000,
        }
    )
    client.load_markets()
    return client


def _position(client) -> float:
    for _ in range(5):
        try:
            return sum(p["contracts"] for p in client.fetch_positions([SYMBOL]))
        except Exception:  # noqa: BLE001 - a read may hit a fault too; try again
            time.sleep(0.05)
    return -1.0


def _close_ours(client, exchange: str, trade_id: int, amount: float, timeout: float) -> dict:
    outcomes = []
    guard = OrderGuard(outcomes.append, tag="bench")
    boundary = ExchangeBoundary(types.SimpleNamespace(_api=client, markets=client.markets), dialect_for(exchange))
    guard.install(boundary, check_freqtrade=False)
    config = core.ClosingConfig(max_full_attempts=50, alert_after_failures=3)
    state, start, sent = core.CloseState(), time.time(), 0
    while time.time() - start < timeout:
        now = time.time()
        if core.may_signal_exit(state, now) or (
            state.status is core.CloseStatus.VERIFYING and now >= (state.next_allowed_at or 0)
        ):
            held = _position(client)
            if held == 0:
                return {"flat": True, "seconds": now - start, "attempts": len(state.attempts), "sent": sent}
            if state.status is core.CloseStatus.VERIFYING:
                state, _ = core.position_seen(state, Decimal(str(held)), Decimal(str(amount)), Decimal("0.0001"), now)
            state, attempt = core.start_attempt(
                state, now, Decimal(str(amount)), core.CloseType.FULL, trade_id, "bench"
            )
            guard.expect(Intent(SYMBOL, "sell", True, attempt.client_order_id, trade_id, "close", now))
            sent += 1
            try:
                client.create_order(SYMBOL, "market", "sell", amount, None, {"reduceOnly": True})
                state = core.attempt_filled(state, now)
            except Exception as error:  # noqa: BLE001
                state, _ = core.attempt_failed(state, boundary.classify(error), now, config)
        elif state.status is core.CloseStatus.CLOSED:
            return {
                "flat": _position(client) == 0,
                "seconds": now - start,
                "attempts": len(state.attempts),
                "sent": sent,
            }
        time.sleep(LOOP_S)
    return {"flat": _position(client) == 0, "seconds": timeout, "attempts": len(state.attempts), "sent": sent}


def _close_blind(client, amount: float, timeout: float) -> dict:
    start, sent = time.monotonic(), 0
    while time.monotonic() - start < timeout:
        sent += 1
        try:
            client.create_order(SYMBOL, "market", "sell", amount, None, {"reduceOnly": True})
            return {"flat": _position(client) == 0, "seconds": time.monotonic() - start, "attempts": sent, "sent": sent}
        except Exception:  # noqa: BLE001 - the naive bot retries next loop, whatever happened
            time.sleep(LOOP_S)
    return {"flat": _position(client) == 0, "seconds": timeout, "attempts": sent, "sent": sent}


def bench_closing(quick: bool, seed: int = 11, exchange: str = "binance") -> dict:
    rounds = 6 if quick else 20
    results: dict[str, list[dict]] = {"ours": [], "blind": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        datadir = Path(tmp_name) / "binance"
        sampledata.generate(datadir, pairs=("BTC/USDT:USDT",), days=5, seed=1)
        with run_venue(
            datadir, api_key="bench", api_secret="bench", extra_args=["--balance", "1000000"], exchange=exchange
        ) as venue:
            clients = {"ours": _client(venue), "blind": _client(venue)}  # the guard wraps only "ours"

            def faults(body: str | None) -> None:
                venue.call("DELETE", "/_venue/faults")
                if body:
                    venue.call("POST", "/_venue/faults", body)

            def executed_closes(since_order: int) -> int:
                state = venue.state()
                return sum(
                    1
                    for o in state["orders"]
                    if o["order_id"] > since_order and o["reduce_only"] and float(o["executed_qty"]) > 0
                )

            for n in range(rounds):
                for name in ("ours", "blind"):
                    client = clients[name]
                    faults(None)
                    client.create_order(SYMBOL, "market", "buy", 0.01)
                    mark = max((o["order_id"] for o in venue.state()["orders"]), default=0)
                    faults(SCHEDULE.format(seed=seed + n))  # the same fault draw for both
                    row = (
                        _close_ours(client, exchange, n + 1, 0.01, 60)
                        if name == "ours"
                        else _close_blind(client, 0.01, 15)
                    )
                    faults(None)
                    row["executed"] = executed_closes(mark)
                    results[name].append(row)
                    if _position(client) > 0:  # never leave a position to the next round
                        client.create_order(SYMBOL, "market", "sell", 0.01, None, {"reduceOnly": True})
                print(
                    f"  round {n + 1}: ours {results['ours'][-1]['sent']} sent / {results['ours'][-1]['executed']} executed, "
                    f"blind {results['blind'][-1]['sent']} sent / {results['blind'][-1]['executed']} executed",
                    flush=True,
                )

    def summary(rows: list[dict]) -> dict:
        done = [r for r in rows if r["flat"]]
        seconds = sorted(r["seconds"] for r in done) or [float("nan")]
        return {
            "completed": len(done),
            "due": len(rows),
            "executed_per_closed": sum(r["executed"] for r in done) / max(1, len(done)),
            "sent_per_close": statistics.mean(r["sent"] for r in rows),
            "attempts_per_close": statistics.mean(r["attempts"] for r in rows),
            "seconds_median": statistics.median(seconds),
            "seconds_p95": seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))],
        }

    return {
        "exchange": exchange,
        "rounds": rounds,
        "ours": summary(results["ours"]),
        "blind_retry": summary(results["blind"]),
    }
