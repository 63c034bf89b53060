"""The ``robust-plugin report`` page: ONE self-contained HTML file (plotly.js inline, works offline).

It shows, for a backtest result or a live database (see :mod:`robust_plugin.report.inputs`):

* a summary of the exits by reason (all exits, and the aged policy's own);
* a chart per aged trade: the price (candles from the data directory), the entry, the aged
  policy's target staircase over time (a step line in :data:`STAIRCASE_COLOUR`, computed by
  :mod:`robust_plugin.core.staircase` from the policy itself) and the exit;
* for a live run: each entry's settlement outcome and lag, every close attempt with its failure
  class, and the alerts sent.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from robust_plugin.core.aging import AgedPhase, PositionCosts, Side, is_aged_reason
from robust_plugin.core.report_rows import attempt_rows, exit_rows, net_pct, settlement_rows
from robust_plugin.core.staircase import Step, staircase
from robust_plugin.core.trade_facts import price_tick
from robust_plugin.report.inputs import ReportInputs

STAIRCASE_COLOUR = "#e6007e"
"""The target staircase's colour: used nowhere else on the page (tests look for its pixels)."""
PRICE_COLOUR = "#4a6fa5"
ENTRY_COLOUR = "#1a9850"
EXIT_COLOUR = "#f28e00"
FORCED_COLOUR = "#555555"

_AGED_PHASES = {p.value for p in AgedPhase} - {AgedPhase.FRESH.value}

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; }
.note { color: #555; font-size: 13px; }
.chart { margin-bottom: 12px; }
"""


def costs_of(trade: dict[str, Any]) -> PositionCosts:
    """The target price's inputs from a trade's figures (funding as at the exit)."""
    fee_open = float(trade.get("fee_open") or 0.0)
    fee_close = trade.get("fee_close")
    return PositionCosts(
        side=Side.SHORT if trade.get("is_short") else Side.LONG,
        entry_price=float(trade["open_rate"]),
        amount=float(trade["amount"]),
        fee_open=fee_open,
        fee_close=float(fee_open if fee_close is None else fee_close),
        funding_fees=float(trade.get("funding_fees") or 0.0),
    )


def aged_trades(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Trades the aged policy exited, and (live) open trades it has already aged."""
    chosen = []
    for number, trade in enumerate(inputs.trades, start=1):
        trade.setdefault("trade_id", number)
        phase = (inputs.plugin_state.get(trade["trade_id"], {}).get("aged") or {}).get("phase")
        if is_aged_reason(trade.get("exit_reason")) or (trade.get("is_open") and phase in _AGED_PHASES):
            chosen.append(trade)
    return chosen


def trade_steps(inputs: ReportInputs, trade: dict[str, Any]) -> list[Step]:
    if inputs.policy is None:
        return []
    # Live trades know their price grid: the staircase is then the very targets the plugin used.
    tick = price_tick(SimpleNamespace(**trade)) if "price_precision" in trade else None
    return staircase(inputs.policy, costs_of(trade), trade["open_date"], trade["close_date"], tick)


def _step_line(steps: Sequence[Step]) -> tuple[list[datetime], list[float | None], list[str]]:
    """x, y and hover text of the staircase as a step line; a forced stage ends the line."""
    xs: list[datetime] = []
    ys: list[float | None] = []
    texts: list[str] = []
    last: float | None = None
    for step in steps:
        if step.price is None and last is not None:
            xs.append(step.at), ys.append(last), texts.append("")
        label = (
            step.phase.value
            if step.accepted_loss_pct is None
            else (f"{step.phase.value}, accepted loss {step.accepted_loss_pct:.2f} %")
        )
        xs.append(step.at), ys.append(step.price), texts.append(label)
        last = step.price
    return xs, ys, texts


def trade_figure(inputs: ReportInputs, trade: dict[str, Any], steps: Sequence[Step]):
    import plotly.graph_objects as go

    opened, closed = trade["open_date"], trade["close_date"]
    held = closed - opened
    pad = max(held * 0.08, min(timedelta(minutes=30), held * 0.5))  # context, scaled for trades of seconds
    figure = go.Figure()
    candles = inputs.candles.get(trade["pair"])
    if candles is not None:
        window = candles[(candles["date"] >= opened - pad) & (candles["date"] <= closed + pad)]
        figure.add_trace(
            go.Scatter(
                x=list(window["date"]),
                y=list(window["close"]),
                mode="lines",
                name="price (close)",
                line={"color": PRICE_COLOUR, "width": 1.2},
            )
        )
    xs, ys, texts = _step_line(steps)
    figure.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line_shape="hv",
            name="aged target",
            text=texts,
            hovertemplate="%{x}<br>target %{y}<br>%{text}<extra></extra>",
            line={"color": STAIRCASE_COLOUR, "width": 3},
            connectgaps=False,
        )
    )
    side = "short" if trade.get("is_short") else "long"
    figure.add_trace(
        go.Scatter(
            x=[opened],
            y=[trade["open_rate"]],
            mode="markers",
            name=f"entry ({side})",
            marker={"color": ENTRY_COLOUR, "size": 12, "symbol": "triangle-down" if side == "short" else "triangle-up"},
        )
    )
    if not trade.get("is_open") and trade.get("close_rate"):
        figure.add_trace(
            go.Scatter(
                x=[closed],
                y=[trade["close_rate"]],
                mode="markers",
                name=f"exit: {trade['exit_reason']}",
                marker={"color": EXIT_COLOUR, "size": 12, "symbol": "x"},
            )
        )
    for step in steps:
        if step.phase is AgedPhase.FORCED:
            figure.add_vline(x=step.at, line={"color": FORCED_COLOUR, "dash": "dot"})
            break
    state = "open" if trade.get("is_open") else f"{trade['exit_reason']}, net {net_pct(trade):+.2f} % (1x)"
    figure.update_layout(
        title={
            "text": f"#{trade['trade_id']} {trade['pair']} {side}: {state}, age {age_text(held.total_seconds())}",
            "font": {"size": 14},
        },
        height=340,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
        xaxis={"range": [opened - pad, closed + pad]},
    )
    return figure


def age_text(seconds: float) -> str:
    """``45 s``, ``12.5 min`` or ``32.8 h``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1) -> str:
    """An HTML table; the first ``left`` columns are left-aligned."""
    head = "".join(f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"l" if i < left else ""}">{html.escape(str(v))}</td>' for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td class="l" colspan="{len(headers)}">(none)</td></tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _exit_table(trades: list[dict[str, Any]], stake: str, aged_only: bool) -> str:
    rows = exit_rows([t for t in trades if not t.get("is_open")], aged_only=aged_only)
    return _table(
        ("exit reason", "exits", "avg age (h)", "avg net % (1x)", f"total {stake}"),
        (
            (r.exit_reason, r.count, f"{r.avg_age_hours:.1f}", f"{r.avg_net_pct:+.2f}", f"{r.total_profit:+.2f}")
            for r in rows
        ),
    )


def _aged_table(inputs: ReportInputs, chosen: list[dict[str, Any]], steps: dict[int, list[Step]]) -> str:
    rows = []
    for t in chosen:
        last = steps[t["trade_id"]][-1] if steps[t["trade_id"]] else None
        accepted = "" if last is None or last.accepted_loss_pct is None else f"{last.accepted_loss_pct:.2f}"
        rows.append(
            (
                t["trade_id"],
                t["pair"],
                "short" if t.get("is_short") else "long",
                t["open_date"].strftime("%Y-%m-%d %H:%M"),
                t["close_date"].strftime("%Y-%m-%d %H:%M"),
                age_text((t["close_date"] - t["open_date"]).total_seconds()),
                t["exit_reason"],
                f"{t['open_rate']:g}",
                f"{t['close_rate']:g}" if t.get("close_rate") else "",
                "" if last is None or last.price is None else f"{last.price:.6g}",
                accepted,
                "" if t.get("is_open") else f"{net_pct(t):+.2f}",
            )
        )
    return _table(
        (
            "trade",
            "pair",
            "side",
            "opened (UTC)",
            "exit (UTC)",
            "age",
            "exit reason",
            "entry",
            "exit",
            "target at exit time",
            "accepted loss %",
            "net % (1x)",
        ),
        rows,
        left=3,
    )


def _live_sections(inputs: ReportInputs) -> str:
    pairs = {t["trade_id"]: t["pair"] for t in inputs.trades}
    settlements = settlement_rows(inputs.plugin_state, pairs, inputs.events)
    attempts = attempt_rows(inputs.plugin_state, pairs)
    alerts = [e for e in inputs.events if e["kind"] == "alert"]
    parts = [
        "<h2>Entry settlement</h2>",
        _table(
            ("trade", "pair", "outcome", "lag (s)", "checks", "detail"),
            (
                (
                    r.trade_id,
                    r.pair,
                    r.outcome,
                    "" if r.lag_s is None else f"{r.lag_s:.1f}",
                    "" if r.checks is None else r.checks,
                    r.detail,
                )
                for r in settlements
            ),
            left=3,
        ),
        "<h2>Close attempts</h2>",
        _table(
            (
                "trade",
                "pair",
                "attempt",
                "type",
                "started (UTC)",
                "amount",
                "client order id",
                "outcome",
                "failure class",
                "error",
            ),
            (
                (
                    r.trade_id,
                    r.pair,
                    r.number,
                    r.close_type,
                    r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                    r.amount,
                    r.client_order_id,
                    r.outcome,
                    r.failure_class,
                    r.error[:80],
                )
                for r in attempts
            ),
            left=2,
        ),
        f"<h2>Alerts ({len(alerts)})</h2>",
        _table(
            ("time (UTC)", "severity", "trade", "pair", "what happened", "what to do"),
            (
                (
                    e["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
                    e["severity"],
                    e["trade_id"] or "",
                    e["pair"] or "",
                    f"{e['data'].get('subject', '')}: {e['data'].get('happened', '')}",
                    e["data"].get("you_should", ""),
                )
                for e in alerts
            ),
            left=6,
        ),
    ]
    if not inputs.events:
        parts.insert(
            0, '<p class="note">No plugin store was read (give --store): settlements from custom data only.</p>'
        )
    return "".join(parts)


def build_html(inputs: ReportInputs, *, max_charts: int | None = None, generated_at: datetime | None = None) -> str:
    """The whole report as one HTML document with plotly.js inline."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    generated_at = generated_at or datetime.now(UTC)
    chosen = aged_trades(inputs)
    steps = {t["trade_id"]: trade_steps(inputs, t) for t in chosen}
    charted = chosen if max_charts is None else chosen[:max_charts]
    charts = []
    for trade in charted:
        figure = trade_figure(inputs, trade, steps[trade["trade_id"]])
        charts.append(
            '<div class="chart">'
            + pio.to_html(figure, include_plotlyjs=False, full_html=False, config={"displaylogo": False})
            + "</div>"
        )
    missing = sorted({t["pair"] for t in charted} - set(inputs.candles))
    notes = [
        f"Source: {html.escape(inputs.source)}. Aged policy: {html.escape(inputs.policy_note)}.",
        f"Generated {generated_at.strftime('%Y-%m-%d %H:%M:%S')} UTC.",
    ]
    if missing:
        notes.append(f"No candles for {html.escape(', '.join(missing))} in the data directory: charts without price.")
    if len(charted) < len(chosen):
        notes.append(f"{len(chosen) - len(charted)} more aged trades are in the table but not charted (--max-charts).")
    body = [
        f"<h1>{html.escape(inputs.title)}</h1>",
        *(f'<p class="note">{n}</p>' for n in notes),
        "<h2>Exits by reason</h2>",
        _exit_table(inputs.trades, inputs.stake_currency, aged_only=False),
        "<h2>Aged exits by reason</h2>",
        _exit_table(inputs.trades, inputs.stake_currency, aged_only=True),
        f"<h2>Aged trades ({len(chosen)})</h2>",
        _aged_table(inputs, chosen, steps),
    ]
    if inputs.live:
        body.append(_live_sections(inputs))
    body.append(f"<h2>Price, entry, target staircase and exit per aged trade ({len(charted)})</h2>")
    body.extend(charts or ['<p class="note">No aged trades.</p>'])
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(inputs.title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>' + "".join(body) + "</body></html>"
    )
