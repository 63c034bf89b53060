"""Live loop cost of the plugin with many open trades (part ``loop`` of ``make bench``).

freqtrade's real ``FreqtradeBot`` runs in this process in **live** mode against the local venue,
once with ``SamplePlainStrategy`` and once with ``SampleAgedStrategy`` (the same strategy with
``RobustMixin``, every capability on: aged exits, verified closes with the order guard, settlement
verification, reconciliation every loop). Each run opens the same number of trades through
freqtrade's own entry path (``execute_entry``, as ``/forceenter`` does), then calls
``bot.process()`` a fixed number of times. Aged settings and ROI are set so every trade stays open.

Measured per loop, side by side:

* the time spent in the strategy callbacks the plugin implements (``bot_loop_start``,
  ``custom_exit``, ``custom_exit_price``, ``confirm_trade_exit``, ``adjust_trade_position``,
  ``order_filled``), including freqtrade's wrapper around each call (its protective copy of the trade
  for callbacks a strategy overrides); the plain run's figure is freqtrade's defaults;
* exchange requests per loop by endpoint, from the venue's request log (``GET /_venue/requests``):
  the plugin run minus the plain run. Requests made from inside the plugin's callbacks are also
  counted at the ccxt client, with their symbol: a read naming a symbol is a per-trade read.

The first loop after the entries carries every entry's settlement check; it is reported apart from
the steady loops. Nothing here is used by the plugin; the timers exist only in this benchmark.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from robust_plugin.tools import sampledata
from robust_plugin.tools.backtest_env import ROOT, deep_merge, freqtrade_log_config, venue_exchange_config
from robust_plugin.tools.loop_meter import Meter, count_plugin_requests, timed_callbacks
from robust_plugin.venue.process import RunningVenue, run_venue

KEY, SECRET = "bench-key", "bench-secret"
STRATEGIES = ROOT / "user_data" / "strategies"
GOAL_MS = 5.0
GOAL_REQUESTS = 1
STAKE = 50.0
# The plugin with every capability on; aged exits far away so the trades stay open while measured, and
# reconciliation due every few loops (every second with 50 trades; the default is every minute).
PLUGIN = {
    "aged": {"max_age": "30d", "grace_period": "6h"},
    "reconcile": {"interval": "1s", "grace": "1s"},
    "closing": {"enabled": True, "order_guard": True, "chunked_fallback": True},
    "settlement": {"enabled": True},
}


def bench_pairs(count: int) -> list[str]:
    """``count`` USDT perpetuals: the sample pairs first, then freqtrade's bundled Binance tiers, sorted."""
    known = list(sampledata.ALL_PAIRS)
    others = sorted(
        p
        for p in sampledata.leverage_tier_pairs()
        if p.endswith("/USDT:USDT") and p not in known and p.split("/")[0].isalnum()
    )
    pairs = (known + others)[:count]
    if len(pairs) < count:
        raise ValueError(f"only {len(pairs)} USDT perpetuals known, {count} asked")
    return pairs


def _venue_requests(venue: RunningVenue) -> list[dict]:
    return venue.call("GET", "/_venue/requests", timeout=30)


def _config(
    venue: RunningVenue, workdir: Path, pairs: list[str], plugin: bool, stoploss_on_exchange: bool, log: Path | None
) -> Path:
    """freqtrade's config for one run, on the exchange the venue speaks."""
    config = {
        "max_open_trades": len(pairs),
        "stake_currency": "USDT",
        "stake_amount": STAKE,
        "dry_run": False,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "timeframe": "5m",
        "minimal_roi": {"0": 100.0},  # no ROI exit while measuring
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {
            "entry": "market",
            "exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": stoploss_on_exchange,
        },
        "position_adjustment_enable": True,
        "exchange": {"name": venue.exchange, "key": KEY, "secret": SECRET, "pair_whitelist": pairs},
        "pairlists": [{"method": "StaticPairList"}],
        "internals": {"process_throttle_secs": 5},
        "initial_state": "running",
        "db_url": f"sqlite:///{workdir / 'trades.sqlite'}",
        "bot_name": "bench",
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
    }
    if plugin:
        # reconciliation due every few loops whatever the size: a loop takes some milliseconds per trade
        config["robust_plugin"] = deep_merge(PLUGIN, {"reconcile": {"interval": f"{max(0.1, 0.02 * len(pairs)):g}s"}})
    config = deep_merge(config, venue_exchange_config(venue))
    if log is not None:
        config["log_config"] = freqtrade_log_config(log)
    config["exchange"]["ccxt_config"]["enableRateLimit"] = False  # loopback: ccxt's own throttle only adds sleeps
    if venue.exchange == "bybit":
        config["exchange"]["enable_ws"] = False  # the venue serves REST only (as the live tests run Bybit)
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_bot(
    venue: RunningVenue,
    workdir: Path,
    datadir: Path,
    strategy: str,
    pairs: list[str],
    loops: int,
    plugin: bool,
    stoploss_on_exchange: bool = True,
    log: Path | None = None,
) -> dict:
    """One bot: open a trade per pair, then ``loops`` calls of ``process()``; its figures."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.freqtradebot import FreqtradeBot
    from freqtrade.persistence import Trade

    workdir.mkdir(parents=True, exist_ok=True)
    args = {
        "config": [str(_config(venue, workdir, pairs, plugin, stoploss_on_exchange, log))],
        "user_data_dir": str(workdir),
        "datadir": str(datadir),
        "strategy": strategy,
        "strategy_path": str(STRATEGIES),
    }
    config = Configuration(args, RunMode.LIVE).get_config()
    meter = Meter()
    with timed_callbacks(meter):
        bot = FreqtradeBot(config)
        for name in ("", "freqtrade", "robust_plugin"):  # no INFO lines written while measuring
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            count_plugin_requests(bot.exchange._api, meter)
            bot.startup()
            meter.reset()
            for pair in pairs:
                bot.execute_entry(pair, STAKE)
            opened = len(Trade.get_open_trades())
            entry_ms = meter.loop_seconds * 1000 / max(1, opened)
            entry_requests = len(meter.requests)
            before = len(_venue_requests(venue))
            per_loop, own, copies, waits, wall, plugin_requests, per_hook = [], [], [], [], [], [], Counter()
            for _ in range(loops):
                meter.reset()
                start = time.perf_counter()
                bot.process()
                wall.append(time.perf_counter() - start)
                per_loop.append(meter.loop_seconds - meter.exchange_seconds)
                own.append(meter.inner_seconds - meter.exchange_seconds)
                copies.append(meter.loop_seconds - meter.inner_seconds)
                waits.append(meter.exchange_seconds)
                plugin_requests.append(list(meter.requests))
                per_hook.update(meter.seconds_by_hook)
            log = _venue_requests(venue)
            still_open = len(Trade.get_open_trades())
        finally:
            bot.cleanup()
    if len(log) < before + loops:
        raise RuntimeError("the venue's request log was trimmed during the measurement; use fewer loops")
    window = log[before:]
    by_endpoint = Counter(f"{r['method']} {r['path']}" for r in window)
    per_symbol = Counter(f"{r['method']} {r['path']}" for r in window if r.get("symbol"))

    def ms(values: list[float], q: float | None = None, reads: bool | None = None) -> float | None:
        steady = [v for v, r in zip(values[1:], plugin_requests[1:]) if reads is None or bool(r) == reads]
        if not steady:  # the first loop settles every entry: it is reported apart
            return None
        return (statistics.median(steady) if q is None else _percentile(steady, q)) * 1000

    return {
        "strategy": strategy,
        "trades_opened": opened,
        "trades_open_after": still_open,
        "loops": loops,
        "callback_ms_first_loop": per_loop[0] * 1000,
        "callback_ms_per_loop": [round(v * 1000, 3) for v in per_loop],
        "callback_ms_median": ms(per_loop),
        "callback_ms_p95": ms(per_loop, 0.95),
        "callback_ms_max": ms(per_loop, 1.0),
        "callback_ms_median_read_loops": ms(per_loop, reads=True),
        "callback_ms_p95_read_loops": ms(per_loop, 0.95, True),
        "callback_ms_median_quiet_loops": ms(per_loop, reads=False),
        "callback_ms_p95_quiet_loops": ms(per_loop, 0.95, False),
        "read_loops": sum(1 for r in plugin_requests[1:] if r),
        "own_code_ms_median": ms(own),
        "trade_copies_ms_median": ms(copies),
        "exchange_wait_ms_median": ms(waits),
        "exchange_wait_ms_p95": ms(waits, 0.95),
        "callback_ms_by_hook_per_loop": {k: v * 1000 / loops for k, v in sorted(per_hook.items())},
        "entry_callback_ms_per_trade": entry_ms,
        "entry_plugin_requests": entry_requests,
        "loop_ms_median": statistics.median(wall) * 1000,
        "venue_requests": dict(sorted(by_endpoint.items())),
        "venue_requests_per_loop": {k: v / loops for k, v in sorted(by_endpoint.items())},
        "venue_symbol_requests_per_loop": {k: v / loops for k, v in sorted(per_symbol.items())},
        "plugin_requests_per_loop": [len(r) for r in plugin_requests],
        "plugin_requests_by_endpoint": dict(Counter(e for r in plugin_requests for e, _s in r)),
        "plugin_per_trade_reads": sum(1 for r in plugin_requests for _e, symbol in r if symbol),
        "plugin_errors": meter.errors,
    }


def bench_loop(
    quick: bool,
    trades: int | None = None,
    loops: int | None = None,
    stoploss_on_exchange: bool = True,
    log: Path | None = None,
    exchange: str = "binance",
) -> dict:
    trades = trades or (5 if quick else 50)
    loops = loops or (5 if quick else 30)
    pairs = bench_pairs(trades)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        datadir = tmp / "data" / "binance"
        print(f"loop: generating {len(pairs)} USDT perpetuals ...", flush=True)
        sampledata.generate(datadir, pairs=pairs, days=5, seed=11)
        runs = {}
        for name, strategy, plugin in (("plain", "SamplePlainStrategy", False), ("plugin", "SampleAgedStrategy", True)):
            # a fresh venue per run: the same markets, prices and an empty request log
            with run_venue(
                datadir, api_key=KEY, api_secret=SECRET, extra_args=["--balance", "1000000"], exchange=exchange
            ) as venue:
                print(f"  {name}: {strategy}, {len(pairs)} trades, {loops} loops ...", flush=True)
                runs[name] = run_bot(
                    venue, tmp / name, datadir, strategy, pairs, loops, plugin, stoploss_on_exchange, log
                )
    plain, ours = runs["plain"], runs["plugin"]
    endpoints = sorted(set(plain["venue_requests_per_loop"]) | set(ours["venue_requests_per_loop"]))
    added = {
        e: ours["venue_requests_per_loop"].get(e, 0.0) - plain["venue_requests_per_loop"].get(e, 0.0) for e in endpoints
    }
    added = {e: round(v, 3) for e, v in added.items() if abs(v) > 1e-9}
    symbols = sorted(set(plain["venue_symbol_requests_per_loop"]) | set(ours["venue_symbol_requests_per_loop"]))
    added_symbol = {
        e: round(
            ours["venue_symbol_requests_per_loop"].get(e, 0.0) - plain["venue_symbol_requests_per_loop"].get(e, 0.0), 3
        )
        for e in symbols
    }
    plugin_max = max(ours["plugin_requests_per_loop"])
    return {
        "exchange": exchange,
        "trades": len(pairs),
        "loops": loops,
        "stoploss_on_exchange": stoploss_on_exchange,
        "plain": plain,
        "plugin": ours,
        "goal_ms": GOAL_MS,
        "goal_requests_per_loop": GOAL_REQUESTS,
        "plugin_ms_median": ours["callback_ms_median"],
        "plugin_ms_p95": ours["callback_ms_p95"],
        "added_ms_median": ours["callback_ms_median"] - plain["callback_ms_median"],
        "added_requests": sum(ours["venue_requests"].values()) - sum(plain["venue_requests"].values()),
        "added_requests_per_loop": round(sum(added.values()), 3),
        "added_requests_by_endpoint": added,
        "added_symbol_requests_per_loop": {e: v for e, v in added_symbol.items() if abs(v) > 1e-9},
        "plugin_requests_per_loop_max": plugin_max,
        "plugin_per_trade_reads": ours["plugin_per_trade_reads"],
        "freqtrade_log": str(log) if log is not None else None,
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(r: dict) -> bool:
    """Print the figures with their goals; True when the goals hold."""
    plain, ours = r["plain"], r["plugin"]
    quiet, busy = ours["callback_ms_median_quiet_loops"], ours["callback_ms_median_read_loops"]
    time_ok = all(v is None or v < r["goal_ms"] for v in (quiet, busy)) and (quiet, busy) != (None, None)
    requests_ok = r["plugin_requests_per_loop_max"] <= r["goal_requests_per_loop"] and r["plugin_per_trade_reads"] == 0
    ok = time_ok and requests_ok and ours["plugin_errors"] == 0 and ours["trades_open_after"] == r["trades"]
    print(
        f"\nlive loop on {r.get('exchange', 'binance')}, {r['trades']} open trades, {r['loops']} loops of freqtrade's "
        "process() (live mode, venue):"
    )
    print(f"{'':52}{'plain':>9}{'with plugin':>13}")
    print(f"{'trades open after the loops':52}{plain['trades_open_after']:>9}{ours['trades_open_after']:>13}")
    print(f"{'loops with the plugin reading positions':52}{'':>9}{ours['read_loops']:>10}/{r['loops'] - 1}")
    print(f"{'whole loop (freqtrade), median ms':52}{plain['loop_ms_median']:>9.1f}{ours['loop_ms_median']:>13.1f}")
    for key, label in (
        ("callback_ms_median", "plugin's callbacks per loop, median ms"),
        ("own_code_ms_median", "  of which the plugin's own code, median ms"),
        ("trade_copies_ms_median", "  of which freqtrade's copies of the trade, median ms"),
        ("callback_ms_p95", "plugin's callbacks per loop, p95 ms"),
        ("callback_ms_median_quiet_loops", "loops without a position read, median ms"),
        ("callback_ms_p95_quiet_loops", "loops without a position read, p95 ms"),
        ("callback_ms_median_read_loops", "loops with one (reconciliation due), median ms"),
        ("callback_ms_p95_read_loops", "loops with one (reconciliation due), p95 ms"),
        ("exchange_wait_ms_median", "its exchange reads (request + ccxt), median ms"),
        ("callback_ms_first_loop", "first loop (settles every entry), ms"),
        ("entry_callback_ms_per_trade", "order_filled per entry, ms"),
    ):
        print(f"{label:52}{_fmt(plain[key]):>9}{_fmt(ours[key]):>13}")
    print(
        "  per loop by callback (with exchange waits), ms: "
        + ", ".join(f"{k} {v:.2f}" for k, v in ours["callback_ms_by_hook_per_loop"].items())
    )
    print(
        f"  goal: the plugin's time per loop under {r['goal_ms']:g} ms (median of loops with and of loops without "
        f"a reconciliation, after the first loop; its exchange reads apart): {'met' if time_ok else 'NOT met'}"
    )
    added = ", ".join(f"{e} {v:+.2f}" for e, v in r["added_requests_by_endpoint"].items()) or "none"
    print(
        f"exchange requests per loop added by the plugin (venue log, plugin run - plain run): "
        f"{r['added_requests_per_loop']:+.2f} ({added})"
    )
    print(f"  of them naming a symbol (per-trade reads): {r['added_symbol_requests_per_loop'] or 'none'}")
    if any(v < 0 for v in r["added_requests_by_endpoint"].values()):
        print(
            "  (a negative count is freqtrade's own scheduled work, e.g. funding fees at :01 and :31, that fell "
            "into one run only)"
        )
    print(
        f"requests sent from inside the plugin's callbacks: at most {r['plugin_requests_per_loop_max']} per loop "
        f"({ours['plugin_requests_by_endpoint'] or 'none'}), per-trade reads {r['plugin_per_trade_reads']}"
    )
    print(
        f"  goal: at most {r['goal_requests_per_loop']} batched position read per loop, none per trade: "
        f"{'met' if requests_ok else 'NOT met'}"
    )
    if ours["plugin_errors"]:
        where = r["freqtrade_log"] or "freqtrade's log above"
        print(f"  the plugin's callbacks raised {ours['plugin_errors']} time(s): see {where}")
    return ok
