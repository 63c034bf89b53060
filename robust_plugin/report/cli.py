"""``robust-plugin``: the operator's view of what the plugin did, as tables.

    robust-plugin events [--store URL] [--trade N] [--kind KIND] [--since 2h] [--bot NAME]
    robust-plugin alerts [--store URL] [--since 24h]
    robust-plugin status --db URL [--store URL]
    robust-plugin report --backtest PATH | --db URL [--store URL] [--config FILE] [--datadir DIR] --out FILE.html

``--store`` is the plugin's database (default ``sqlite:///user_data/robust_plugin.sqlite``; for
``status`` and ``report``: ``robust_plugin.sqlite`` beside ``--db``, when there is one), ``--db``
freqtrade's (``db_url`` in its config, e.g. ``sqlite:///tradesv3.sqlite``). Plain SQLite paths work too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from robust_plugin.core.durations import DurationError, parse_duration

DEFAULT_STORE = "sqlite:///user_data/robust_plugin.sqlite"


class CliError(Exception):
    """A mistake in the arguments or a missing database: one line, exit code 2."""


def _url(value: str, what: str) -> str:
    from robust_plugin.report.inputs import ReportInputError, sqlite_url

    try:
        return sqlite_url(value, what)
    except ReportInputError as error:
        raise CliError(str(error)) from None


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(text))
    except DurationError as error:
        raise CliError(f"--since: {error}") from None


def _positive(text: str) -> int:
    """argparse type: a whole number of rows, at least 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of rows such as 50, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def open_store(url: str, bot_name: str = "cli"):
    """The plugin's store at ``url``; a problem is one line naming ``--store``."""
    from robust_plugin.store import EventStore, StoreConfigError

    try:
        return EventStore(url, bot_name)
    except StoreConfigError as error:  # unreachable, malformed, not a database, or freqtrade's database
        raise CliError(f"--store: {error.detail}") from None


def _store(args):
    return open_store(_url(args.store, "plugin store"), args.bot or "cli")


def _short(data: dict, limit: int = 90) -> str:
    text = ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", []))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cmd_events(args, console: Console) -> int:
    events = _store(args).events(trade_id=args.trade, kind=args.kind, since=_since(args.since), bot_name=args.bot)
    table = Table(title=f"robust_plugin events ({len(events)})")
    for column in ("time (UTC)", "bot", "kind", "severity", "trade", "pair", "details"):
        table.add_column(column)
    for e in events[-args.limit :]:
        table.add_row(
            e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.bot_name,
            e.kind,
            e.severity,
            str(e.trade_id or ""),
            e.pair or "",
            _short(e.data),
        )
    console.print(table)
    return 0


def cmd_alerts(args, console: Console) -> int:
    events = _store(args).events(kind="alert", since=_since(args.since), bot_name=args.bot)
    table = Table(title=f"robust_plugin alerts ({len(events)})")
    for column in ("time (UTC)", "bot", "severity", "trade", "pair", "what happened", "what to do"):
        table.add_column(column)
    for e in events[-args.limit :]:
        table.add_row(
            e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.bot_name,
            e.severity,
            str(e.trade_id or ""),
            e.pair or "",
            f"{e.data.get('subject', '')}: {e.data.get('happened', '')}",
            e.data.get("you_should", ""),
        )
    console.print(table)
    return 0


def cmd_status(args, console: Console) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(_url(args.db, "freqtrade database"))
    with engine.connect() as connection:
        try:
            trades = connection.execute(
                text(
                    "select id, pair, is_short, amount, open_rate, open_date from trades where is_open = 1 order by id"
                )
            ).fetchall()
            rows = connection.execute(
                text("select ft_trade_id, cd_value from trade_custom_data where cd_key = 'robustplugin'")
            ).fetchall()
        except Exception as error:  # noqa: BLE001 - not a freqtrade database
            raise CliError(f"not a freqtrade database ({type(error).__name__}): {args.db}") from None
    state = {}
    for trade_id, value in rows:
        try:
            state[trade_id] = json.loads(value)
        except (TypeError, ValueError):
            state[trade_id] = {}
    last_events = _last_events(args, [row[0] for row in trades])
    table = Table(title=f"open trades ({len(trades)})")
    for column in (
        "trade",
        "pair",
        "side",
        "amount",
        "entry",
        "aged phase",
        "accepted loss %",
        "target",
        "next step",
        "close",
        "settlement",
        *(["last event (UTC)"] if last_events is not None else []),
    ):
        table.add_column(column)
    for trade_id, pair, is_short, amount, open_rate, _opened in trades:
        plugin = state.get(trade_id, {})
        aged, closing, settlement = plugin.get("aged", {}), plugin.get("closing", {}), plugin.get("settlement", {})
        lag = settlement.get("lag_s")
        table.add_row(
            str(trade_id),
            pair,
            "short" if is_short else "long",
            f"{amount:g}",
            f"{open_rate:g}",
            aged.get("phase", "fresh"),
            str(aged.get("accepted_loss_pct", "")),
            str(aged.get("target", "") or ""),
            str(aged.get("next_step_at", "") or ""),
            f"{closing.get('status', '')} ({closing.get('attempt_count', 0)} attempts)" if closing else "",
            f"{settlement.get('outcome', '')}{f' after {lag:.1f}s' if isinstance(lag, int | float) else ''}",
            *([last_events.get(trade_id, "")] if last_events is not None else []),
        )
    console.print(table)
    return 0


def _last_events(args, trade_ids: list[int]) -> dict[int, str] | None:
    """Per open trade, the plugin's latest event (kind and time); ``None`` when no store is read."""
    from robust_plugin.report.inputs import store_beside

    url = _url(args.store, "plugin store") if args.store else store_beside(_url(args.db, "freqtrade database"))
    if url is None:
        return None
    store = open_store(url)
    try:
        latest = {}
        for trade_id in trade_ids:
            events = store.events(trade_id=trade_id)
            if events:
                latest[trade_id] = f"{events[-1].kind} {events[-1].created_at:%Y-%m-%d %H:%M:%S}"
        return latest
    finally:
        store.close()


def cmd_report(args, console: Console) -> int:
    from robust_plugin.report.html import aged_trades, build_html
    from robust_plugin.report.inputs import ReportInputError, backtest_inputs, live_inputs

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise CliError(f"--out must name an .html file, got {args.out}")
    _check_writable(out)  # before the slow work
    if args.max_charts is not None and args.max_charts < 0:
        raise CliError(f"--max-charts cannot be negative, got {args.max_charts}")
    config = Path(args.config) if args.config else None
    datadir = Path(args.datadir) if args.datadir else None
    try:
        if args.backtest:
            inputs = backtest_inputs(Path(args.backtest), config_path=config, datadir=datadir, strategy=args.strategy)
        else:
            inputs = live_inputs(args.db, store=args.store, config_path=config, datadir=datadir, now=datetime.now(UTC))
        page = build_html(inputs, max_charts=args.max_charts)
    except ReportInputError as error:
        raise CliError(str(error)) from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise CliError(f"--out {args.out}: cannot write it ({error.strerror or error})") from None
    console.print(f"report: {out} ({len(inputs.trades)} trades, {len(aged_trades(inputs))} aged; {inputs.policy_note})")
    return 0


def _check_writable(out: Path) -> None:
    """``--out`` can be written: not a directory, and its folder exists (or can be made) and is writable."""
    if out.is_dir():
        raise CliError(f"--out {out}: is a directory; name the .html file to write")
    folder = out.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise CliError(f"--out {out}: {folder} is a file, not a directory")
    if not os.access(folder, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise CliError(f"--out {out}: not writable")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robust-plugin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("events", "the plugin's events"), ("alerts", "alerts the plugin sent")):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("--store", default=DEFAULT_STORE, help=f"the plugin's database (default {DEFAULT_STORE})")
        sub.add_argument("--since", help='only newer than this, e.g. "2h"')
        sub.add_argument("--bot", help="only this bot's rows")
        sub.add_argument("--limit", type=_positive, default=200, help="at most this many rows (newest; default 200)")
        if name == "events":
            sub.add_argument("--trade", type=int, help="only this trade")
            sub.add_argument("--kind", help="only this kind, e.g. close_failed")
    status = commands.add_parser("status", help="open trades with the plugin's state")
    status.add_argument("--db", required=True, help="freqtrade's database (its db_url)")
    status.add_argument(
        "--store", help="the plugin's database, for each trade's last event (default: robust_plugin.sqlite beside --db)"
    )
    report = commands.add_parser("report", help="a self-contained HTML report of a backtest or a live run")
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("--backtest", help="freqtrade's backtest result (.zip/.json) or its directory (last result)")
    source.add_argument("--db", help="freqtrade's database of a live or dry-run bot (its db_url)")
    report.add_argument("--store", help="the plugin's database (live; default: robust_plugin.sqlite beside --db)")
    report.add_argument(
        "--config",
        help="freqtrade config with the robust_plugin section (default: the one stored with the backtest result)",
    )
    report.add_argument(
        "--datadir", help="candles for the price lines (default: the config's, or user_data/data/<exchange>)"
    )
    report.add_argument("--strategy", help="the strategy, when the result holds several")
    report.add_argument("--max-charts", type=int, help="chart at most this many aged trades (default: all)")
    report.add_argument("--out", required=True, help="the HTML file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)  # piped output: no truncated cells
    handler = {"events": cmd_events, "alerts": cmd_alerts, "status": cmd_status, "report": cmd_report}[args.command]
    try:
        return handler(args, console)
    except CliError as error:
        print(f"robust-plugin {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
