"""Benchmarks, each measured side by side in one run on the same data (``make bench``).

``python -m robust_plugin.tools.bench [backtest] [loop] [settlement] [closing] [--quick]``

* ``backtest``: freqtrade's real ``Backtesting`` of ``SamplePlainStrategy`` and of
  ``SampleAgedStrategy`` (the same strategy with ``RobustMixin``) over 10 pairs × 60 days of 5m
  candles: one warm-up round that is not counted, then 13 alternating rounds. Runs of the same
  round share the machine's load, so the goal (at most 1.03×) is judged on the median of the
  per-round ratios; the ratio of the best times and the CPU-time ratio are printed beside it. Each
  timed run starts with the objects already alive frozen out of the garbage collector
  (``gc.freeze``), so a full collection's cost depends on what that run allocates, not on what
  earlier runs left on the heap.
* ``loop``: freqtrade's live loop (``FreqtradeBot.process`` in this process, live mode against the
  venue) with 50 open trades, with and without the plugin: the plugin's time per loop (goal: under
  5 ms) and the exchange requests it adds per loop (goal: at most one batched position read, none
  per trade); see :mod:`robust_plugin.tools.bench_loop`.
* ``closing``: the plugin's close path vs blind retry under a mixed fault schedule on the venue
  (see :mod:`robust_plugin.tools.bench_closing`).
* ``settlement``: the seed system's fixed verification (wait 1 s, then 10 polls 0.5 s apart, then
  "not found") and the plugin's settlement job (one position read per loop), side by side against
  the same seeded visibility lags on the venue; prints false "not found" verdicts, position reads
  per verification and detection delay beyond the true lag (median, p95).

Results are also written to ``user_data/bench/results.json`` (the latest figures of each part) and
appended to ``user_data/bench/history.jsonl`` (one line per run), so they can be compared over time.
freqtrade's own log lines go to ``freqtrade.log`` beside them, so the terminal shows progress and
figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from robust_plugin.tools import sampledata
from robust_plugin.tools.backtest_env import (
    EXAMPLE_CONFIG,
    ROOT,
    deep_merge,
    freqtrade_log_config,
    venue_exchange_config,
)
from robust_plugin.tools.bench_settlement import SPEED, bench_settlement
from robust_plugin.venue.process import RunningVenue, run_venue

RESULTS = ROOT / "user_data" / "bench" / "results.json"
ROUNDS, ROUNDS_QUICK = 13, 2  # backtest: counted alternating rounds, after one warm-up round
BACKTEST_DAYS, BACKTEST_DAYS_QUICK = 60, 20
# "dormant": the mixin with an aged policy that never fires on the benchmark's data (a duration is at
# most a year), so it runs exactly the plain strategy's trades and the difference is the plugin's cost
DORMANT = {"aged": {"max_age": "365d"}}
HISTORY = RESULTS.with_name("history.jsonl")
STRATEGIES = ROOT / "user_data" / "strategies"


# -- backtest cost of the mixin --------------------------------------------------------------------
def _backtest_seconds(
    venue: RunningVenue,
    datadir: Path,
    strategy: str,
    pairs: list[str],
    tmp: Path,
    plugin: dict | None = None,
    log: Path | None = None,
) -> tuple[float, float, int]:
    """Wall and CPU seconds of one backtest's signals and trade loop, and its trade count."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.optimize.backtesting import Backtesting

    config = deep_merge(json.loads(EXAMPLE_CONFIG.read_text()), venue_exchange_config(venue))
    config["exchange"]["pair_whitelist"] = pairs
    config["max_open_trades"] = len(pairs)
    if plugin is not None:
        config["robust_plugin"] = deep_merge(config["robust_plugin"], plugin)
    if log is not None:
        config["log_config"] = freqtrade_log_config(log)
    path = tmp / f"{strategy}{'-custom' if plugin else ''}.json"
    path.write_text(json.dumps(config))
    args = {
        "config": [str(path)],
        "user_data_dir": str(tmp),
        "datadir": str(datadir),
        "strategy": strategy,
        "strategy_path": str(STRATEGIES),
        "export": "none",
        "cache": "none",
    }
    backtesting = Backtesting(Configuration(args, RunMode.BACKTEST).get_config())
    try:
        from freqtrade.data import history
        from freqtrade.data.converter import trim_dataframes

        data, timerange = backtesting.load_bt_data()
        backtesting._load_bt_data_detail()
        backtesting._set_strategy(backtesting.strategylist[0])
        gc.collect()  # garbage left by the previous run is not this run's cost,
        gc.freeze()  # nor is walking the objects it left alive in every full collection
        try:
            start, start_cpu = time.perf_counter(), time.process_time()  # what differs: signals and the trade loop
            preprocessed = backtesting.strategy.advise_all_indicators(data)
            trimmed = trim_dataframes(preprocessed, timerange, backtesting.required_startup)
            min_date, max_date = history.get_timerange(trimmed)
            result = backtesting.backtest(processed=preprocessed, start_date=min_date, end_date=max_date)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        finally:
            gc.unfreeze()
        return elapsed, cpu, len(result["results"])
    finally:
        backtesting.exchange.close()  # its ccxt sessions, or asyncio reports them unclosed
        Backtesting.cleanup()


def bench_backtest(quick: bool, log: Path | None = None) -> dict:
    pairs = list(sampledata.ALL_PAIRS)[: 4 if quick else 10]
    days = BACKTEST_DAYS_QUICK if quick else BACKTEST_DAYS
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        datadir = tmp / "binance"
        print(f"backtest: generating {len(pairs)} pairs × {days} days of 5m candles ...", flush=True)
        sampledata.generate(datadir, pairs=pairs, days=days, seed=42)
        # "active": the shipped defaults, which change trades.
        runs = {
            "plain": ("SamplePlainStrategy", None),
            "mixin_dormant": ("SampleAgedStrategy", DORMANT),
            "mixin_active": ("SampleAgedStrategy", None),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        trades: dict[str, int] = {}
        rounds = ROUNDS_QUICK if quick else ROUNDS
        with run_venue(datadir) as venue:
            for round_ in range(rounds + 1):  # round 0 warms up imports and caches; it is not counted
                order = list(runs) if round_ % 2 == 0 else list(reversed(runs))  # alternate: no order bias
                for name in order:
                    strategy, plugin = runs[name]
                    seconds, cpu_seconds, count = _backtest_seconds(venue, datadir, strategy, pairs, tmp, plugin, log)
                    label = f"round {round_}" if round_ else "warm-up"
                    print(f"  {label:8} {name:14} {seconds:6.2f} s  {count} trades", flush=True)
                    if round_:
                        times[name].append(seconds)
                        cpu[name].append(cpu_seconds)
                        trades[name] = count
    return backtest_summary(times, cpu, trades, pairs=len(pairs), days=days)


def backtest_summary(
    times: dict[str, list[float]], cpu: dict[str, list[float]], trades: dict[str, int], pairs: int, days: int
) -> dict:
    """The figures of the backtest part from each round's times. The runs of one round ran under
    the same load, so the judged ratio is the median of the per-round ratios; the ratio of the best
    times and of the CPU times are kept beside it."""
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    paired = sorted(d / p for d, p in zip(times["mixin_dormant"], times["plain"]))
    paired_active = sorted(a / p for a, p in zip(times["mixin_active"], times["plain"]))
    return {
        "pairs": pairs,
        "days": days,
        "rounds": len(paired),
        "seconds": median,
        "best_seconds": best,
        "all_seconds": times,
        "cpu_seconds": cpu,
        "trades": trades,
        "goal": 1.03,
        "ratio": statistics.median(paired),
        "ratio_per_round": {"min": paired[0], "median": statistics.median(paired), "max": paired[-1]},
        "ratio_best": best["mixin_dormant"] / best["plain"],
        "ratio_cpu": statistics.median(d / p for d, p in zip(cpu["mixin_dormant"], cpu["plain"])),
        "ratio_active": statistics.median(paired_active),
    }


PARTS = ("backtest", "loop", "settlement", "closing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m robust_plugin.tools.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # no ``choices`` here: Python 3.11's argparse checks an empty ``nargs="*"`` default against them
    parser.add_argument(
        "parts", nargs="*", default=[], metavar="PART", help=f"any of {', '.join(PARTS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer rounds")
    parser.add_argument("--trades", type=int, help="loop: open trades (default 50; 5 with --quick)")
    parser.add_argument("--loops", type=int, help="loop: measured loops (default 30; 5 with --quick)")
    parser.add_argument(
        "--no-stoploss-on-exchange",
        action="store_true",
        help="loop: without stop orders on the exchange (and without reconciliation's stop check)",
    )
    parser.add_argument(
        "--exchange",
        choices=("binance", "bybit"),
        default="binance",
        help="loop, closing: the venue's dialect and freqtrade's exchange (default binance; the backtest and "
        "settlement parts measure the core and run on Binance)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help=f"where to write the figures (default {RESULTS.relative_to(ROOT)})",
    )
    args = parser.parse_args(argv)
    for name in ("trades", "loops"):
        if getattr(args, name) is not None and getattr(args, name) < 2:
            parser.error(f"--{name} must be at least 2")
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part {unknown[0]!r} (choose from {', '.join(PARTS)})")
    parts = args.parts or list(PARTS)
    log = args.results.with_name("freqtrade.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    print(f"freqtrade's own log lines: {_shown(log)}", flush=True)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results: dict = {"when": when, "quick": args.quick}
    failed = False
    if "backtest" in parts:
        r = results["backtest"] = bench_backtest(args.quick, log)
        ok = r["ratio"] <= r["goal"]
        failed |= not ok
        sec, tr = r["seconds"], r["trades"]
        print(
            f"\nbacktest, {r['pairs']} pairs × {r['days']} days ({r['rounds']} alternating rounds; median time, "
            f"median of the per-round ratios):"
        )
        print(f"  plain strategy                    {sec['plain']:6.2f} s  {tr['plain']} trades")
        print(
            f"  with RobustMixin, same trades     {sec['mixin_dormant']:6.2f} s  {tr['mixin_dormant']} trades -> "
            f"{r['ratio']:.3f}x (goal <= {r['goal']}x: {'met' if ok else 'NOT met'})"
        )
        print(
            f"  with RobustMixin, aged exits on   {sec['mixin_active']:6.2f} s  {tr['mixin_active']} trades -> "
            f"{r['ratio_active']:.3f}x (more, shorter trades: not the plugin's overhead alone)"
        )
        spread = r["ratio_per_round"]
        print(
            f"  same trades: per-round ratios from {spread['min']:.3f}x to {spread['max']:.3f}x (the machine's "
            f"noise), best times {r['ratio_best']:.3f}x, CPU time {r['ratio_cpu']:.3f}x"
        )
    if "loop" in parts:
        from robust_plugin.tools.bench_loop import bench_loop, report

        r = results["loop"] = bench_loop(
            args.quick, args.trades, args.loops, not args.no_stoploss_on_exchange, log, args.exchange
        )
        failed |= not report(r)
    if "settlement" in parts:
        r = results["settlement"] = bench_settlement(args.quick)
        print(f"\nsettlement, {r['verifications']} entries, seeded lags {min(r['lags_s'])}-{max(r['lags_s'])} s:")
        print(f"{'':28}{'seed policy':>14}{'robust_plugin':>16}")
        for key, label in (
            ("false_not_found", "false 'not found' verdicts"),
            ("reads_per_verification", "position reads / verification"),
            ("delay_median_s", "delay past the lag, median s"),
            ("delay_p95_s", "delay past the lag, p95 s"),
        ):
            print(f"{label:28}{r['seed_policy'][key]:>14.2f}{r['ours'][key]:>16.2f}")
        allowed = r["loop_interval_s"] + 2 * r["read_latency_s"]
        print(
            f"(venue seconds; one position read takes {r['read_latency_s']:.2f} s at {SPEED:g}x replay speed; goal: no false "
            f"verdicts, delay p95 <= one loop + two reads = {allowed:.2f} s)"
        )
        failed |= r["ours"]["false_not_found"] > 0 or r["ours"]["delay_p95_s"] > allowed
    if "closing" in parts:
        from robust_plugin.tools.bench_closing import bench_closing

        r = results["closing"] = bench_closing(args.quick, exchange=args.exchange)
        print(
            f"\nclosing on {r['exchange']}, {r['rounds']} closes under a mixed fault schedule (the same draws for both):"
        )
        print(f"{'':34}{'robust_plugin':>14}{'blind retry':>14}")
        ours, blind = r["ours"], r["blind_retry"]
        print(
            f"{'closes completed / due':34}{ours['completed']:>9}/{ours['due']:<4}{blind['completed']:>9}/{blind['due']:<4}"
        )
        for key, label in (
            ("executed_per_closed", "executed close orders per close"),
            ("sent_per_close", "close orders sent per close"),
            ("attempts_per_close", "attempts per close"),
            ("seconds_median", "seconds to flat, median"),
            ("seconds_p95", "seconds to flat, p95"),
        ):
            print(f"{label:34}{ours[key]:>14.2f}{blind[key]:>14.2f}")
        failed |= ours["completed"] < ours["due"] or ours["executed_per_closed"] != 1.0
    write_results(args.results, results, parts)
    return 1 if failed else 0


def write_results(path: Path, results: dict, parts: list[str]) -> None:
    """The latest figures of each part in ``path`` (parts not run this time are kept, with their own
    time), and this run appended as one line to ``history.jsonl`` beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        latest = json.loads(path.read_text())
    except (OSError, ValueError):
        latest = {}
    latest = latest if isinstance(latest, dict) else {}
    for part in parts:  # another exchange's figures sit beside Binance's, e.g. "closing_bybit"
        exchange = results[part].get("exchange", "binance")
        key = part if exchange == "binance" else f"{part}_{exchange}"
        latest[key] = {"when": results["when"], "quick": results["quick"], **results[part]}
    latest["when"] = results["when"]
    path.write_text(json.dumps(latest, indent=2))
    with path.with_name("history.jsonl").open("a") as history:
        history.write(json.dumps(results) + "\n")
    shown = _shown(path)
    print(f"\nresults written to {shown} (history: {shown.with_name('history.jsonl')})")


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


if __name__ == "__main__":
    sys.exit(main())
