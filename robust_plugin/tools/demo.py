"""The main job, offline: a real ``freqtrade backtesting`` of the sample strategy, and the plugin's
exits in a table.

``python -m robust_plugin.tools.demo`` (what ``make demo`` runs):

1. generates the deterministic sample data (futures candles, mark and funding) unless present;
2. starts the loopback venue so freqtrade can load Binance futures markets without the internet;
3. runs ``freqtrade backtesting`` with ``config.example.json`` and prints freqtrade's own report;
   beside it, in a second process on the other core (so the demo takes about as long), the same
   strategy without the plugin (``SamplePlainStrategy``), whose report is not printed;
4. prints a table of the plugin's exits (count, average age, average net result per exit reason) and
   one line setting the run against the plain one: trades, aged exits, profit, exit timeouts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from robust_plugin.core.report_rows import RunFigures, comparison_line, exit_rows, run_figures
from robust_plugin.report.exit_table import render_exit_table
from robust_plugin.tools import sampledata
from robust_plugin.tools.backtest_env import EXAMPLE_CONFIG, ROOT, write_override
from robust_plugin.venue.process import run_venue

USER_DATA = ROOT / "user_data"
DATADIR = USER_DATA / "data" / "binance"


def ensure_sample_data(datadir: Path, seed: int, days: int) -> None:
    marker = datadir / f".sample-seed{seed}-days{days}"
    if marker.exists():
        print(f"sample data: {datadir} (seed {seed}, {days} days)")
        return
    print(f"sample data: generating {days} days of 5m futures candles (seed {seed}) ...", flush=True)
    sampledata.generate(datadir, days=days, seed=seed)
    for old in datadir.glob(".sample-seed*"):
        old.unlink()
    marker.touch()


def backtest_command(strategy: str, override: Path, timerange: str | None, results: Path | None = None) -> list[str]:
    """``freqtrade backtesting`` of ``strategy`` on the sample data, exporting its trades."""
    command = [
        sys.executable,
        "-m",
        "freqtrade",
        "backtesting",
        "--config",
        str(EXAMPLE_CONFIG),
        "--config",
        str(override),
        "--userdir",
        str(USER_DATA),
        "--datadir",
        str(DATADIR),
        "--strategy",
        strategy,
        "--export",
        "trades",
        "--cache",
        "none",
    ]
    if results is not None:
        command += ["--backtest-directory", str(results)]
    if timerange:
        command += ["--timerange", timerange]
    return command


def figures(results: Path, strategy: str) -> RunFigures:
    """Trades, aged exits, profit and exit timeouts of ``strategy``'s last result in ``results``."""
    from freqtrade.data.btanalysis import get_latest_backtest_filename, load_backtest_data, load_backtest_stats

    trades = load_backtest_data(results, strategy=strategy).to_dict("records")
    stats = load_backtest_stats(results / get_latest_backtest_filename(results))["strategy"][strategy]
    return run_figures(trades, stats.get("timedout_exit_orders"))


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    ensure_sample_data(DATADIR, args.seed, args.days)
    results_dir = USER_DATA / "backtest_results"
    results_dir.mkdir(parents=True, exist_ok=True)
    compare = None if args.compare.lower() == "none" else args.compare
    with run_venue(DATADIR) as venue, tempfile.TemporaryDirectory() as tmp:
        print(f"venue: {venue.base_url} (market metadata for freqtrade, loopback only)", flush=True)
        override = write_override(Path(tmp) / "venue.json", venue)
        plain_dir, plain_log = Path(tmp) / "plain", Path(tmp) / "plain.log"
        plain = None
        if compare:
            plain_dir.mkdir()
            print(f"comparison: {compare} (the same strategy without the plugin) runs beside it", flush=True)
            with plain_log.open("w") as log:
                plain = subprocess.Popen(
                    backtest_command(compare, override, args.timerange, plain_dir),
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        code = subprocess.call(backtest_command(args.strategy, override, args.timerange), cwd=ROOT)
        plain_code = plain.wait() if plain is not None else None
        if code != 0:
            print(f"freqtrade backtesting failed with exit code {code}", file=sys.stderr)
            return code
        from freqtrade.data.btanalysis import load_backtest_data

        trades = load_backtest_data(results_dir, strategy=args.strategy).to_dict("records")
        print(render_exit_table(exit_rows(trades, aged_only=True), "robust_plugin: aged exits"))
        print(render_exit_table(exit_rows(trades), "All exits by reason"))
        if compare and plain_code == 0:
            print(comparison_line(figures(results_dir, args.strategy), figures(plain_dir, compare), compare))
        elif compare:
            tail = plain_log.read_text().strip().splitlines()[-1:]
            print(f"comparison with {compare} skipped: its backtest failed ({' '.join(tail)})")
    print(f"demo finished in {time.monotonic() - started:.0f} s")
    print(
        "chart every aged exit (target staircase, entry, exit) in one HTML page:\n"
        "  make report   (or: robust-plugin report --backtest user_data/backtest_results --datadir "
        "user_data/data/binance --out user_data/report.html)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m robust_plugin.tools.demo", description=__doc__)
    parser.add_argument("--strategy", default="SampleAgedStrategy")
    parser.add_argument("--seed", type=int, default=42, help="sample data seed (default 42)")
    parser.add_argument("--days", type=int, default=90, help="days of sample data (default 90)")
    parser.add_argument("--timerange", default=None, help="freqtrade timerange, e.g. 20260701-")
    parser.add_argument(
        "--compare",
        default="SamplePlainStrategy",
        help="the same strategy without the plugin, backtested beside it for one comparison line "
        '(default SamplePlainStrategy; "none" skips it)',
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
