"""The loop benchmark's meters: time in the plugin's callbacks where freqtrade calls them, and the
exchange requests sent from inside them (used by :mod:`robust_plugin.tools.bench_loop` only; nothing
here is used by the plugin)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

HOOKS = (
    "bot_loop_start",
    "custom_exit",
    "custom_exit_price",
    "confirm_trade_exit",
    "adjust_trade_position",
    "order_filled",
)


@dataclass
class Meter:
    """Time in the plugin's callbacks and ccxt requests made from inside them, per loop."""

    depth: int = 0
    loop_seconds: float = 0.0
    """In the callbacks, as freqtrade calls them (with its protective copy of the trade)."""
    inner_seconds: float = 0.0
    """Inside the plugin's own callback code."""
    exchange_seconds: float = 0.0
    """In ccxt calls made from inside the callbacks: the requests and the parsing of their answers."""
    calls: Counter = field(default_factory=Counter)
    seconds_by_hook: Counter = field(default_factory=Counter)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    errors: int = 0

    def reset(self) -> None:
        self.loop_seconds = self.inner_seconds = self.exchange_seconds = 0.0
        self.calls, self.seconds_by_hook, self.requests = Counter(), Counter(), []


@contextlib.contextmanager
def timed_callbacks(meter: Meter):
    """Time the plugin's callbacks where freqtrade calls them (its ``strategy_safe_wrapper``)."""
    from freqtrade import freqtradebot
    from freqtrade.strategy import interface, strategy_wrapper

    original = strategy_wrapper.strategy_safe_wrapper

    def timing_wrapper(f, *args, **kwargs):
        name = getattr(f, "__qualname__", "").rsplit(".", 1)[-1]
        if name not in HOOKS:
            return original(f, *args, **kwargs)

        def counted(*a, **kw):  # sees the plugin's exceptions before freqtrade swallows them
            start = time.perf_counter()
            try:
                return f(*a, **kw)
            except Exception:
                meter.errors += 1
                raise
            finally:
                if meter.depth == 1:
                    meter.inner_seconds += time.perf_counter() - start

        counted.__qualname__ = getattr(f, "__qualname__", name)  # keeps freqtrade's copy decision
        counted.__name__ = name
        wrapped = original(counted, *args, **kwargs)

        def timed(*a, **kw):
            meter.depth += 1
            start = time.perf_counter()
            try:
                return wrapped(*a, **kw)
            finally:
                elapsed = time.perf_counter() - start
                meter.depth -= 1
                if meter.depth == 0:
                    meter.loop_seconds += elapsed
                meter.calls[name] += 1
                meter.seconds_by_hook[name] += elapsed

        return timed

    freqtradebot.strategy_safe_wrapper = interface.strategy_safe_wrapper = timing_wrapper
    try:
        yield
    finally:
        freqtradebot.strategy_safe_wrapper = interface.strategy_safe_wrapper = original


EXCHANGE_CALLS = (
    "fetch_positions",
    "fetch_open_orders",
    "fetch_orders",
    "fetch_order",
    "fetch_my_trades",
    "fetch_balance",
    "create_order",
    "cancel_order",
)


def count_plugin_requests(api, meter: Meter) -> None:
    """Record every HTTP request the ccxt client sends while a plugin callback runs, and the time
    spent in the ccxt calls that send them (the request, and ccxt parsing its answer)."""
    fetch = api.fetch
    inside = [0]

    def timed(method):
        def call(*args, **kwargs):
            if not meter.depth or inside[0]:
                return method(*args, **kwargs)
            inside[0] += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                inside[0] -= 1
                meter.exchange_seconds += time.perf_counter() - start

        return call

    def counting_fetch(url, method="GET", headers=None, body=None):
        if meter.depth:
            parts = urlsplit(url)
            query = dict(parse_qsl(parts.query)) | dict(parse_qsl(body if isinstance(body, str) else ""))
            meter.requests.append((f"{method} {parts.path}", query.get("symbol")))
        return fetch(url, method, headers, body)

    api.fetch = counting_fetch
    for name in EXCHANGE_CALLS + ("fetch2",):
        setattr(api, name, timed(getattr(api, name)))
