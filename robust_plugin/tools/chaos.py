"""Chaos rehearsal: freqtrade in live mode against the venue under a seeded mix of every fault kind,
killed with SIGKILL in the middle of a close and between an entry fill and its verification,
restarted, and then checked against the exchange's ground truth (``make chaos``).

``python -m robust_plugin.tools.chaos [--minutes 10] [--seed 7] [--scenario FILE]
[--strategy SampleChaosStrategy] [--pairs 4]``

Exits non-zero when an invariant is broken: a close executed twice for one decision, a position on
the exchange that no open trade covers and nobody was told about, an open trade with no position
that nobody was told about, an entry whose settlement outcome went missing across the restarts.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from robust_plugin.tools import sampledata
from robust_plugin.tools.backtest_env import ROOT, deep_merge, venue_exchange_config
from robust_plugin.venue.process import run_venue

KEY, SECRET = "chaos-key", "chaos-secret"
PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "BNB/USDT:USDT", "XRP/USDT:USDT")
ORPHAN_QTY = {"BTCUSDT": "0.002", "ETHUSDT": "0.05", "SOLUSDT": "1", "BNBUSDT": "0.2", "XRPUSDT": "300"}  # ~100 USDT
FULL_CLOSE_ID = re.compile(r"-t(\d+)-x(\d+)$")

SCENARIO = """seed = {seed}

[[faults]]
kind = "disconnect"
endpoint = "order.new"
probability = 0.06

[[faults]]
kind = "lost_response"
endpoint = "order.new"
probability = 0.06

[[faults]]
kind = "rate_limit"
endpoint = "*"
retry_after = 1
probability = 0.02

[[faults]]
kind = "server_error"
status = 502
endpoint = "*"
probability = 0.02

[[faults]]
kind = "insufficient_margin"
endpoint = "order.new"
reduce_only = true
probability = 0.05

[[faults]]
kind = "reduce_only_reject"
endpoint = "order.new"
reduce_only = true
probability = 0.04

[[faults]]
kind = "partial_fill"
endpoint = "order.new"
reduce_only = false
ratio = 0.5
probability = 0.08

[[faults]]
kind = "liquidate_after_entry"
reduce_only = false
probability = 0.05

[[faults]]
kind = "position_lag"
seconds = 4

[[faults]]
kind = "latency"
seconds = 0.3
probability = 0.05

[[faults]]
kind = "external"
symbols = ["{orphan}"]
at = "{orphan_at}s"
action = "open"
side = "SELL"
quantity = {orphan_qty}

[[faults]]
kind = "external"
symbols = ["{first}"]
at = "{cancel_at}s"
action = "cancel_stops"

[[faults]]
kind = "external"
symbols = ["{first}"]
at = "{close_at}s"
action = "close"
"""


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.loads(response.read())


def _events(workdir: Path) -> list[dict]:
    path = workdir / "robust_plugin.sqlite"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path, timeout=5) as db:
            rows = db.execute("select kind, trade_id, pair, data from robust_events order by id").fetchall()
    except sqlite3.Error:
        return []
    return [{"kind": k, "trade_id": t, "pair": p, "data": json.loads(d)} for k, t, p, d in rows]


def _db(workdir: Path) -> dict[str, list[dict]]:
    with sqlite3.connect(workdir / "trades.sqlite", timeout=5) as db:
        db.row_factory = sqlite3.Row
        return {t: [dict(r) for r in db.execute(f"select * from {t}")] for t in ("trades", "orders")}


def _config(base_url: str, workdir: Path, pairs: list[str]) -> Path:
    config = {
        "max_open_trades": len(pairs), "stake_currency": "USDT", "stake_amount": 150, "dry_run": False,
        "trading_mode": "futures", "margin_mode": "isolated", "timeframe": "1m",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True},
        "position_adjustment_enable": True,
        "exchange": {"name": "binance", "key": KEY, "secret": SECRET, "pair_whitelist": pairs},
        "pairlists": [{"method": "StaticPairList"}], "internals": {"process_throttle_secs": 2},
        "initial_state": "running", "db_url": f"sqlite:///{workdir / 'trades.sqlite'}", "bot_name": "chaos",
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "robust_plugin": {
            # aged settings in seconds, so trades turn over quickly: every exit is the plugin's
            "aged": {"max_age": "6s", "grace_period": "4s", "step_interval": "3s",
                     "loss_step_pct": 0.2, "max_loss_pct": 1.0, "force_close_after": "20s"},
            "closing": {"backoff_initial": "1s", "backoff_max": "10s"},
            "settlement": {"late_after": "8s", "deadline": "60s"},
            "reconcile": {"interval": "10s", "grace": "20s", "unprotected_after": "30s"},
            "alerts": {"min_interval": "1m"},
        },
    }  # fmt: skip
    config = deep_merge(config, venue_exchange_config(base_url))
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


class Bot:
    """One ``freqtrade trade`` process at a time, restartable."""

    def __init__(self, config: Path, workdir: Path, datadir: Path, strategy: str):
        self.command = [sys.executable, "-m", "freqtrade", "trade", "--config", str(config), "--userdir", str(workdir),
                        "--datadir", str(datadir), "--strategy-path", str(ROOT / "user_data" / "strategies"),
                        "--strategy", strategy]  # fmt: skip
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"freqtrade-{self.starts}.log").open("w")
        self.proc = subprocess.Popen(self.command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def run(args: argparse.Namespace) -> int:
    pairs = list(PAIRS[: args.pairs])
    symbols = [p.split("/")[0] + "USDT" for p in pairs]
    duration = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp_name:
        workdir = Path(tmp_name)
        datadir = workdir / "data" / "binance"
        sampledata.generate(datadir, pairs=list(PAIRS[: max(args.pairs + 1, 2)]), days=3, seed=args.seed, timeframe="1m")
        orphan_symbol = PAIRS[args.pairs].split("/")[0] + "USDT" if args.pairs < len(PAIRS) else symbols[-1]
        scenario = Path(args.scenario) if args.scenario else workdir / "chaos.toml"
        if not args.scenario:
            scenario.write_text(SCENARIO.format(seed=args.seed, orphan=orphan_symbol, first=symbols[0],
                                                orphan_qty=ORPHAN_QTY[orphan_symbol],
                                                orphan_at=int(duration * 0.2), cancel_at=int(duration * 0.3),
                                                close_at=int(duration * 0.5)))  # fmt: skip
        with run_venue(datadir, scenario=scenario, seed=args.seed, api_key=KEY, api_secret=SECRET,
                       extra_args=["--balance", "100000"]) as venue:  # fmt: skip
            bot = Bot(_config(venue.base_url, workdir, pairs), workdir, datadir, args.strategy)
            bot.start()
            started, kills, last_report = time.monotonic(), [], 0.0
            seen_closes = seen_entries = 0
            while time.monotonic() - started < duration:
                time.sleep(0.5)
                elapsed = time.monotonic() - started
                events = _events(workdir)
                closes = [e for e in events if e["kind"] in ("close_attempt", "close_chunk")]
                entries = [e for e in events if e["kind"] == "settlement_started"]
                if "close" not in kills and elapsed > duration * 0.25 and len(closes) > seen_closes:
                    bot.kill()  # right after a close attempt was recorded: in the middle of the close
                    kills.append("close")
                    print(f"[{elapsed:5.0f}s] SIGKILL in the middle of a close (trade {closes[-1]['trade_id']}); restarting", flush=True)
                    bot.start()
                elif "settlement" not in kills and elapsed > duration * 0.5 and len(entries) > seen_entries:
                    bot.kill()  # right after an entry fill, before its verification
                    kills.append("settlement")
                    print(f"[{elapsed:5.0f}s] SIGKILL between an entry fill and its verification (trade "
                          f"{entries[-1]['trade_id']}); restarting", flush=True)  # fmt: skip
                    bot.start()
                seen_closes, seen_entries = len(closes), len(entries)
                if elapsed - last_report >= 15:
                    last_report = elapsed
                    truth = _get(venue.base_url + "/_venue/state")
                    print(f"[{elapsed:5.0f}s] trades started {len(entries)}, close attempts {len(closes)}, faults fired "
                          f"{len(truth['faults_fired'])}, open positions {len(truth['positions'])}", flush=True)  # fmt: skip
            bot.stop()
            truth = _get(venue.base_url + "/_venue/state")
        return check(truth, _db(workdir), _events(workdir), symbols, kills)


def check(truth: dict, db: dict, events: list[dict], symbols: list[str], kills: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    trades = db["trades"]
    open_pairs = {t["pair"].split("/")[0] + "USDT" for t in trades if t["is_open"]}
    positions = {p["symbol"]: p for p in truth["positions"]}
    reported_orphans = {e["pair"] for e in events if e["kind"] == "finding_orphan"}
    reported_ghosts = {e["trade_id"] for e in events if e["kind"] in ("finding_ghost", "close_skipped_gone")}
    orphans = [s for s in positions if s not in open_pairs]
    unreported_orphans = [s for s in orphans if s.replace("USDT", "/USDT:USDT") not in reported_orphans]
    ghosts = [t for t in trades if t["is_open"] and t["pair"].split("/")[0] + "USDT" not in positions]
    unreported_ghosts = [t["id"] for t in ghosts if t["id"] not in reported_ghosts]
    full_closes = Counter()
    for order in truth["orders"]:
        match = FULL_CLOSE_ID.search(order["client_order_id"])
        if match and float(order["executed_qty"]) > 0:
            full_closes[(int(match[1]), int(match[2]))] += 1
    executed_per_decision = Counter()
    for (trade_id, _attempt), count in full_closes.items():
        executed_per_decision[trade_id] += count
    duplicates = [t for t, n in executed_per_decision.items() if n > 1]
    started = {(e["trade_id"], e["data"].get("order_id")) for e in events if e["kind"] == "settlement_started"}
    decided = {(e["trade_id"], e["data"].get("order_id")) for e in events
               if e["kind"].startswith("settlement_") and e["kind"] != "settlement_started"}  # fmt: skip
    still_open = {t["id"] for t in trades if t["is_open"]}
    missing = [key for key in started - decided if key[0] not in still_open]
    faults = Counter(f["kind"] for f in truth["faults_fired"])
    findings = [e for e in events if e["kind"].startswith("finding_") and e["kind"] != "finding_resolved"]
    alerts = [e for e in events if e["kind"] == "alert"]
    table = Table(title="chaos rehearsal: ground truth vs freqtrade vs the plugin")
    table.add_column("check")
    table.add_column("value", justify="right")
    table.add_column("ok")
    rows = [
        ("trades (closed / open)", f"{sum(1 for t in trades if not t['is_open'])} / {len(still_open)}", True),
        ("faults fired", str(sum(faults.values())), True),
        *((f"  {kind}", str(n), True) for kind, n in sorted(faults.items())),
        ("SIGKILL restarts", ", ".join(kills) or "none", len(kills) == 2),
        ("orphans at the end (unreported)", f"{len(orphans)} ({len(unreported_orphans)})", not unreported_orphans),
        ("open trades without a position (unreported)", f"{len(ghosts)} ({len(unreported_ghosts)})", not unreported_ghosts),
        ("full closes executed twice for one trade", str(len(duplicates)), not duplicates),
        ("settlement outcomes missing after restarts", str(len(missing)), not missing),
        ("findings / alerts", f"{len(findings)} / {len(alerts)}", True),
    ]  # fmt: skip
    for name, value, ok in rows:
        table.add_row(name, value, "yes" if ok else "[bold red]NO[/]")
    Console().print(table)
    broken = [name for name, _value, ok in rows if not ok]
    if broken:
        print("invariants broken: " + "; ".join(broken))
        return 1
    print("all invariants hold")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m robust_plugin.tools.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenario", help="a scenario TOML file instead of the built-in mix")
    parser.add_argument("--strategy", default="SampleChaosStrategy")
    parser.add_argument("--pairs", type=int, default=4, choices=range(1, len(PAIRS)))
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
