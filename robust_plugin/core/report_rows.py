"""Summaries of the plugin's exits, from freqtrade's backtest result trades (plain dicts), and of a
live run's settlements and close attempts, from the plugin's per-trade state and events.

Pure: takes the trades freqtrade exports (``exit_reason``, ``open_date``, ``close_date``,
``profit_ratio``, ``profit_abs``, ``leverage``) and returns rows; :mod:`robust_plugin.report.exit_table` prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from robust_plugin.core.aging import is_aged_reason
from robust_plugin.core.kinds import EventKind


@dataclass(frozen=True)
class ExitRow:
    """One exit reason's totals."""

    exit_reason: str
    count: int
    avg_age_hours: float
    avg_net_pct: float
    """Average net result per exit, unleveraged, in percent (freqtrade's ratio / leverage)."""
    total_profit: float
    """Sum of freqtrade's ``profit_abs`` (stake currency, leverage and funding included)."""


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return datetime.fromisoformat(str(value))


def trade_age_hours(trade: Mapping[str, Any]) -> float:
    return (_when(trade["close_date"]) - _when(trade["open_date"])).total_seconds() / 3600


def net_pct(trade: Mapping[str, Any]) -> float:
    return float(trade["profit_ratio"]) / float(trade.get("leverage") or 1.0) * 100


def _sort_key(reason: str) -> tuple[int, float, str]:
    if reason == "aged_grace":
        return (0, 0.0, reason)
    if reason.startswith("aged_progressive_"):
        return (1, float(reason.removeprefix("aged_progressive_").removesuffix("pct")), reason)
    if reason == "aged_force":
        return (2, 0.0, reason)
    return (3, 0.0, reason)


def exit_rows(trades: Iterable[Mapping[str, Any]], *, aged_only: bool = False) -> list[ExitRow]:
    """Per exit reason: count, average age, average net result and total profit."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for trade in trades:
        reason = str(trade.get("exit_reason") or "")
        if aged_only and not is_aged_reason(reason):
            continue
        groups.setdefault(reason, []).append(trade)
    rows = []
    for reason in sorted(groups, key=_sort_key):
        group = groups[reason]
        rows.append(
            ExitRow(
                exit_reason=reason,
                count=len(group),
                avg_age_hours=sum(trade_age_hours(t) for t in group) / len(group),
                avg_net_pct=sum(net_pct(t) for t in group) / len(group),
                total_profit=sum(float(t.get("profit_abs") or 0.0) for t in group),
            )
        )
    return rows


@dataclass(frozen=True)
class RunFigures:
    """What a backtest of one strategy came to, for a comparison line."""

    trades: int
    aged_exits: int
    profit: float
    """Sum of freqtrade's ``profit_abs`` (stake currency)."""
    exit_timeouts: int | None = None


def run_figures(trades: Iterable[Mapping[str, Any]], exit_timeouts: int | None = None) -> RunFigures:
    trades = list(trades)
    return RunFigures(
        trades=len(trades),
        aged_exits=sum(1 for t in trades if is_aged_reason(str(t.get("exit_reason") or ""))),
        profit=sum(float(t.get("profit_abs") or 0.0) for t in trades),
        exit_timeouts=exit_timeouts,
    )


def comparison_line(plugin: RunFigures, plain: RunFigures, plain_name: str, stake_currency: str = "USDT") -> str:
    """One line: the run with the plugin against the same strategy without it."""
    parts = [
        f"trades {plugin.trades} vs {plain.trades}",
        f"aged exits {plugin.aged_exits} vs {plain.aged_exits}",
        f"profit {plugin.profit:+.2f} vs {plain.profit:+.2f} {stake_currency}",
    ]
    if plugin.exit_timeouts is not None and plain.exit_timeouts is not None:
        parts.append(f"exit timeouts {plugin.exit_timeouts} vs {plain.exit_timeouts}")
    return f"with robust_plugin vs without ({plain_name}, the same signals): " + ", ".join(parts)


# -- live runs: per-trade settlement and close attempts, from the plugin's state and events ------------


@dataclass(frozen=True)
class SettlementRow:
    """One entry fill's settlement verdict."""

    trade_id: int
    pair: str
    outcome: str
    lag_s: float | None
    checks: int | None
    detail: str


@dataclass(frozen=True)
class AttemptRow:
    """One close attempt as the plugin recorded it in the trade's custom data (part ``closing``)."""

    trade_id: int
    pair: str
    number: int
    close_type: str
    started_at: datetime
    amount: str
    client_order_id: str
    outcome: str
    failure_class: str
    error: str


def settlement_rows(
    states: Mapping[int, Mapping[str, Any]], pairs: Mapping[int, str], events: Iterable[Mapping[str, Any]]
) -> list[SettlementRow]:
    """Settlement verdicts: from the store's ``settlement_*`` events, else from each trade's state."""
    rows = []
    for event in events:
        kind = EventKind.parse(str(event.get("kind", "")))
        if kind is None or kind.settlement_verdict is None:
            continue
        data = event.get("data") or {}
        trade_id = int(event.get("trade_id") or 0)
        rows.append(
            SettlementRow(
                trade_id,
                str(event.get("pair") or pairs.get(trade_id, "")),
                str(data.get("outcome", kind.settlement_verdict)),
                data.get("lag_s"),
                data.get("checks"),
                str(data.get("detail") or ""),
            )
        )
    seen = {row.trade_id for row in rows}
    for trade_id, state in sorted(states.items()):
        settlement = state.get("settlement") or {}
        if trade_id in seen or not settlement.get("outcome"):
            continue
        rows.append(
            SettlementRow(
                trade_id, pairs.get(trade_id, ""), str(settlement["outcome"]), settlement.get("lag_s"), None, ""
            )
        )
    return sorted(rows, key=lambda r: r.trade_id)


def attempt_rows(states: Mapping[int, Mapping[str, Any]], pairs: Mapping[int, str]) -> list[AttemptRow]:
    """Every close attempt of every trade, in order."""
    rows = []
    for trade_id, state in sorted(states.items()):
        for attempt in (state.get("closing") or {}).get("attempts") or []:
            rows.append(
                AttemptRow(
                    trade_id=trade_id,
                    pair=pairs.get(trade_id, ""),
                    number=int(attempt.get("number", 0)),
                    close_type=str(attempt.get("close_type", "")),
                    started_at=datetime.fromtimestamp(float(attempt.get("started_at", 0)), UTC),
                    amount=str(attempt.get("amount", "")),
                    client_order_id=str(attempt.get("client_order_id", "")),
                    outcome=str(attempt.get("outcome", "")),
                    failure_class=str(attempt.get("failure_class") or ""),
                    error=str(attempt.get("error") or ""),
                )
            )
    return rows
