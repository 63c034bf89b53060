"""Chaos rehearsal: freqtrade in live mode against the venue under a seeded mix of every fault kind,
killed with SIGKILL in the middle of a close and between an entry fill and its verification,
restarted, and then checked against the exchange's ground truth (``make chaos``).

``python -m robust_plugin.tools.chaos [--minutes 10] [--seed 7] [--scenario FILE]
[--strategy SampleChaosStrategy] [--pairs 20] [--break CAPABILITY]``

The checks are in :mod:`robust_plugin.tools.chaos_check`; the run exits non-zero when one fails.
``--break`` turns one of the plugin's capabilities off through its own config key, to show that the
matching check then fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from robust_plugin.core.kinds import EventKind
from robust_plugin.tools import chaos_check as cc
from robust_plugin.tools import sampledata
from robust_plugin.tools.backtest_env import deep_merge, venue_exchange_config
from robust_plugin.tools.chaos_bot import Bot, Journal, database, open_trades
from robust_plugin.tools.chaos_scenario import ORPHAN_PAIR, write_scenario
from robust_plugin.venue.process import RunningVenue, run_venue

KEY, SECRET = "chaos-key", "chaos-secret"
PAIRS = tuple(
    f"{base}/USDT:USDT"
    for base in (
        "BTC",
        "ETH",
        "SOL",
        "BNB",
        "DOGE",
        "ADA",
        "AVAX",
        "LINK",
        "LTC",
        "DOT",
        "TRX",
        "ATOM",
        "NEAR",
        "APT",
        "ARB",
        "OP",
        "FIL",
        "SUI",
        "UNI",
        "ETC",
        "BCH",
        "XLM",
        "AAVE",
        "INJ",
    )
)
DEFAULT_PAIRS = 20
SAMPLE_EVERY_S = 2.0

# capability -> the plugin's own config keys that turn it off
BREAKS = {
    "order_guard": {"closing": {"order_guard": False}},
    "settlement": {"settlement": {"enabled": False}},
    "reconcile": {"reconcile": {"enabled": False}},
}

PLUGIN = {
    # aged settings in seconds, so trades turn over within a minute: every exit is the plugin's
    "aged": {
        "max_age": "6s",
        "grace_period": "4s",
        "step_interval": "3s",
        "loss_step_pct": 0.2,
        "max_loss_pct": 1.0,
        "force_close_after": "20s",
    },
    "closing": {"backoff_initial": "1s", "backoff_max": "10s"},
    "settlement": {"late_after": "8s", "deadline": "60s"},
    "reconcile": {"interval": "10s", "grace": "20s", "unprotected_after": "30s"},
    "alerts": {"min_interval": "1m", "max_per_hour": 1000},  # the highest cap: every finding's alert is checked
    # the orphan is on a pair the bot never trades: holding every entry would end the rehearsal's trading
    "entry_guard": {"scope": "pair"},
}


BASE_ORDER_TYPES = {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True}


def _config(
    venue: RunningVenue, workdir: Path, pairs: list[str], capability: str | None, overrides: dict | None = None
) -> Path:
    plugin = deep_merge(PLUGIN, BREAKS[capability]) if capability else PLUGIN
    config = {
        "max_open_trades": len(pairs),
        "stake_currency": "USDT",
        "stake_amount": 150,
        "dry_run": False,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "timeframe": "1m",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": BASE_ORDER_TYPES,
        # as traders set it with limit exits: an exit that does not fill is cancelled and signalled again
        "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "seconds"},
        "position_adjustment_enable": True,
        "exchange": {"name": "binance", "key": KEY, "secret": SECRET, "pair_whitelist": pairs},
        "pairlists": [{"method": "StaticPairList"}],
        "internals": {"process_throttle_secs": 2},
        "initial_state": "running",
        "db_url": f"sqlite:///{workdir / 'trades.sqlite'}",
        "bot_name": "chaos",
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "robust_plugin": plugin,
    }
    config = deep_merge(deep_merge(config, venue_exchange_config(venue)), overrides or {})
    config["exchange"]["ccxt_config"]["rateLimit"] = 10  # loopback: ccxt's 50 ms pacing would make each loop long
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def limits(stops_on_exchange: bool = True) -> cc.Limits:
    from robust_plugin.core.durations import parse_duration

    def seconds(part: str, key: str) -> float:
        return float(parse_duration(PLUGIN[part][key]))

    return cc.Limits(
        reconcile_interval_s=seconds("reconcile", "interval"),
        reconcile_grace_s=seconds("reconcile", "grace"),
        unprotected_after_s=seconds("reconcile", "unprotected_after"),
        settlement_deadline_s=seconds("settlement", "deadline"),
        alert_min_interval_s=seconds("alerts", "min_interval"),
        close_backoff_max_s=seconds("closing", "backoff_max"),
        stops_on_exchange=stops_on_exchange,
    )


def run(args: argparse.Namespace) -> int:
    rows = rehearse(args)
    return 2 if rows is None else report(rows)


def rehearse(args: argparse.Namespace, overrides: dict | None = None) -> list[cc.Row] | None:
    """One rehearsal; its rows of checks, or None when freqtrade exited on its own. ``overrides`` are
    merged into the freqtrade config (a cell of the configuration matrix)."""
    pairs = list(PAIRS[: args.pairs])
    duration = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp_name:
        workdir = Path(args.keep or tmp_name)
        workdir.mkdir(parents=True, exist_ok=True)
        datadir = workdir / "data" / "binance"
        sampledata.generate(datadir, pairs=[*pairs, ORPHAN_PAIR], days=3, seed=args.seed, timeframe="1m")
        scenario = write_scenario(args, workdir, [cc.symbol_of(p) for p in pairs], duration)
        if args.capability:
            print(
                f"breaking {args.capability} on purpose: robust_plugin {json.dumps(BREAKS[args.capability])}",
                flush=True,
            )
        with run_venue(
            datadir,
            scenario=scenario,
            seed=args.seed,
            api_key=KEY,
            api_secret=SECRET,
            extra_args=["--balance", "100000"],
            tls_dir=workdir / "tls",  # the CA certificate the bot's config names; kept with --keep
            exchange=args.exchange,
        ) as venue:
            exchange = {
                "exchange": {"name": args.exchange, **({"enable_ws": False} if args.exchange != "binance" else {})}
            }
            config = _config(venue, workdir, pairs, args.capability, deep_merge(exchange, overrides or {}))
            bot = Bot(config, workdir, datadir, args.strategy)
            journal, samples, restarts = Journal(workdir / "robust_plugin.sqlite"), [], []
            pending: dict | None = None  # a restart whose bot is not running yet
            bot.start()
            started, last_report, last_sample = time.monotonic(), 0.0, 0.0
            seen_closes = seen_entries = 0
            while time.monotonic() - started < duration:
                time.sleep(0.5)
                elapsed = time.monotonic() - started
                if bot.exited():
                    print(f"[{elapsed:5.0f}s] freqtrade exited on its own:\n" + bot.tail(), flush=True)
                    return None
                journal.read()
                closes, entries = journal.count("close_attempt", "close_chunk"), journal.count("settlement_started")
                if args.capability == "settlement":  # no settlement events: an entry shows as a new open trade
                    entries = len({trade[0] for sample in samples for trade in sample.open_trades})
                if pending and bot.running():
                    restarts.append(cc.Restart(pending["kind"], pending["killed_ms"], int(time.time() * 1000)))
                    pending = None
                kinds = [r.kind for r in restarts] + ([pending["kind"]] if pending else [])
                kill = None
                if "close" not in kinds and elapsed > duration * 0.25 and closes > seen_closes:
                    kill = ("close", "in the middle of a close")  # right after a close attempt was recorded
                elif "settlement" not in kinds and not pending and elapsed > duration * 0.5 and entries > seen_entries:
                    kill = ("settlement", "between an entry fill and its verification")  # right after an entry fill
                if kill:
                    bot.kill()
                    pending = {"kind": kill[0], "killed_ms": int(time.time() * 1000)}
                    trade = next(
                        (
                            e.trade_id
                            for e in reversed(journal.events)
                            if e.kind
                            in (("close_attempt", "close_chunk") if kill[0] == "close" else ("settlement_started",))
                        ),
                        max((t[0] for t in samples[-1].open_trades), default="?") if samples else "?",
                    )
                    print(f"[{elapsed:5.0f}s] SIGKILL {kill[1]} (trade {trade}); restarting", flush=True)
                    bot.start()
                seen_closes, seen_entries = closes, entries
                if elapsed - last_sample >= SAMPLE_EVERY_S:
                    last_sample = elapsed
                    now_open = open_trades(workdir / "trades.sqlite")
                    if now_open is not None:
                        samples.append(cc.Sample(int(time.time() * 1000), now_open))
                if elapsed - last_report >= 15:
                    last_report = elapsed
                    health = venue.call("GET", "/_venue/health", timeout=30)
                    print(
                        f"[{elapsed:5.0f}s] trades {len(open_trades(workdir / 'trades.sqlite') or ())} open / "
                        f"{entries} entries, close attempts {closes}, faults fired {health.get('faults_fired', '?')}, "
                        f"findings {sum((EventKind.parse(e.kind) or EventKind.ALERT).finding is not None for e in journal.events)}, "
                        f"alerts {journal.count('alert')}",
                        flush=True,
                    )
            stopped_ms = int(time.time() * 1000)
            bot.stop()
            if pending:  # the last restart never came up: count its downtime to the end
                restarts.append(cc.Restart(pending["kind"], pending["killed_ms"], int(time.time() * 1000)))
            truth = venue.call("GET", "/_venue/state", timeout=30)
        if args.exchange == "bybit":  # the ground truth counts orders as the engine does; freqtrade as Bybit shows them
            from robust_plugin.venue.bybit_orders import bybit_id

            for order in truth.get("orders", []):
                order["order_id"] = bybit_id(int(order["order_id"]))
        if args.keep:
            (workdir / "truth.json").write_text(json.dumps(truth))
            (workdir / "samples.json").write_text(json.dumps([[s.at_ms, s.open_trades] for s in samples]))
            (workdir / "restarts.json").write_text(json.dumps([[r.kind, r.killed_ms, r.ready_ms] for r in restarts]))
        trades, orders = database(workdir / "trades.sqlite")
        return cc.check(
            cc.Run(
                truth,
                trades,
                orders,
                tuple(journal.read()),
                tuple(samples),
                tuple(restarts),
                limits(
                    bool(deep_merge(BASE_ORDER_TYPES, (overrides or {}).get("order_types", {}))["stoploss_on_exchange"])
                ),
                stopped_ms=stopped_ms,
            )
        )


def report(rows: list[cc.Row]) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="chaos rehearsal: ground truth vs freqtrade vs the plugin")
    table.add_column("check")
    table.add_column("value", justify="right")
    table.add_column("ok")
    for row in rows:
        table.add_row(row.check, row.value, "" if row.ok is None else "yes" if row.ok else "[bold red]NO[/]")
    Console(width=120).print(table)
    broken = cc.broken(rows)
    if broken:
        print("invariants broken: " + "; ".join(broken))
        return 1
    print("all invariants hold")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m robust_plugin.tools.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--seed", type=int, default=7, help="seeds the data and the faults (default 7)")
    parser.add_argument("--scenario", help="a scenario TOML file instead of the built-in mix")
    parser.add_argument("--strategy", default="SampleChaosStrategy")
    parser.add_argument(
        "--pairs",
        type=int,
        default=DEFAULT_PAIRS,
        choices=range(2, len(PAIRS) + 1),
        metavar=f"2-{len(PAIRS)}",
        help=f"how many pairs the bot trades (default {DEFAULT_PAIRS})",
    )
    parser.add_argument(
        "--break",
        dest="capability",
        choices=sorted(BREAKS),
        help="turn one capability of the plugin off on purpose; the run must then fail",
    )
    parser.add_argument(
        "--exchange",
        choices=("binance", "bybit"),
        default="binance",
        help="the venue's dialect and freqtrade's exchange (default binance)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the run's files (logs, databases, ground truth) in DIR")
    parser.add_argument(
        "--matrix",
        nargs="?",
        const="all",
        metavar="CELLS",
        help="run a short rehearsal per configuration cell ({stop-loss on the exchange, off} x {market, limit "
        "exits} x {no add-on entries, add-on entries}) and print one row per cell; CELLS picks some, e.g. "
        "'stop=off,exit=limit,addon=on' (several separated by ';'); --minutes is per cell (default 2 here)",
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    if args.matrix:
        from robust_plugin.tools import chaos_matrix

        try:
            cells = chaos_matrix.parse_cells(args.matrix)
        except ValueError as error:
            parser.error(f"--matrix: {error}")
        if "--minutes" not in (argv if argv is not None else sys.argv[1:]):
            args.minutes = 2.0
        return chaos_matrix.run_matrix(args, cells, rehearse)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
