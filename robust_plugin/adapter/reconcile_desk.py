"""The reconcile desk: every ``reconcile.interval``, freqtrade's open trades against the exchange's
positions (on the loop's one batched position read). Findings become events and alerts, each once
until it changes. The plugin tells; it never acts on positions it did not open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core import reconcile as rec
from robust_plugin.core.advice import Advice
from robust_plugin.core.entry_guard import Problem
from robust_plugin.core.exchange_reports import PositionReport
from robust_plugin.core.kinds import EventKind, Side
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)


class ReconcileDesk:
    def __init__(
        self,
        alerts: Alerter,
        recorder: Recorder | EventStore | None,
        every_s: float,
        grace_s: float = 30.0,
        unprotected_after_s: float = 60.0,
        stoploss_on_exchange: bool = False,
        open_trades: Callable[[], list] | None = None,
        closed_since: Callable[[float], list] | None = None,
        scope: rec.Scope = rec.Scope.ACCOUNT,
        bot_pairs: Callable[[], list[str]] | None = None,
        ignore_pairs: tuple[str, ...] = (),
        reported: set[str] | None = None,
    ):
        self.alerts = alerts
        self.recorder = as_recorder(recorder)
        self.every_s = every_s
        self.grace_s = grace_s
        self.unprotected_after_s = unprotected_after_s
        self.stoploss_on_exchange = stoploss_on_exchange
        # open trades and trades closed after an epoch time, as rows with what reconciliation reads
        # (:class:`robust_plugin.adapter.trade_rows.TradeRow` or freqtrade's ``Trade``)
        self.open_trades = open_trades or (lambda: [])
        self.closed_since = closed_since or (lambda since: [])
        self.scope = scope
        self.bot_pairs = bot_pairs or (lambda: [])  # the pairs this bot trades (freqtrade's whitelist)
        self.ignore_pairs = ignore_pairs
        self._last = 0.0
        self._fingerprints: set[str] = set(reported or ())  # findings reported before a restart
        self.current: list[rec.Finding] = []  # the findings of the last run
        self._missing_stops: dict[int, float] = {}

    def open_problems(self) -> list[Problem]:
        """Orphans and unprotected positions of the last run: they hold entries."""
        holding = (rec.FindingKind.ORPHAN, rec.FindingKind.UNPROTECTED)
        return [Problem(f.kind.value, f.pair, f.trade_id) for f in self.current if f.kind in holding]

    def due(self, now: float) -> bool:
        return now - self._last >= self.every_s

    def run(self, positions: dict[str, PositionReport], settling: set[int], now: float) -> None:
        self._last = now
        trades = self.open_trades()
        views = []
        for t in trades:
            opened = t.open_date_utc.timestamp() if t.open_date_utc else now
            # freqtrade fetches every open stop order of every trade on each loop (handle_stoploss_on_exchange)
            # and marks cancelled ones closed: its view is the exchange's as of this loop, at no request of ours
            stop_live = bool(t.has_open_sl_orders) if self.stoploss_on_exchange else True
            side = Side.of(t.is_short).value
            views.append(
                rec.TradeView(
                    t.id,
                    t.pair,
                    side,
                    float(t.amount),
                    opened,
                    t.id in settling,
                    self.stoploss_on_exchange,
                    stop_live,
                    entered=t.entered,
                )
            )
        self._missing_stops = rec.track_missing_stops(views, self._missing_stops, now)
        # A trade closed moments ago may still show its position (the exchange's view lags, as after an
        # entry): within the grace it covers its pair, so its own close is never taken for an orphan.
        open_pairs = {t.pair for t in trades}
        views += [
            rec.TradeView(t.id, t.pair, Side.of(t.is_short).value, float(t.amount), now, settling=True)
            for t in self.closed_since(now - self.grace_s)
            if t.pair not in open_pairs
        ]
        held = [rec.PositionView(p.pair, p.side.value, p.amount) for p in positions.values()]
        held = rec.in_scope(held, self.scope, self.bot_pairs(), {v.pair for v in views}, self.ignore_pairs)
        findings = rec.reconcile(
            views,
            held,
            now,
            unprotected_after_s=self.unprotected_after_s,
            stop_missing_since=self._missing_stops,
            grace_s=self.grace_s,
        )
        self.current = findings
        delta = rec.diff_findings(self._fingerprints, findings)
        self._fingerprints = {f.fingerprint for f in findings}
        for finding in delta.new:
            data = {
                "kind": finding.kind.value,
                "trade_amount": finding.trade_amount,
                "exchange_amount": finding.exchange_amount,
                "detail": finding.detail,
            }
            kind = EventKind.for_finding(finding.kind)
            self.recorder.record(kind, finding.trade_id, finding.pair, data, finding.severity)
            self.alerts.advise(Advice(kind.value), data, trade_id=finding.trade_id, pair=finding.pair)
        for fingerprint in delta.resolved:
            self.recorder.record(
                EventKind.FINDING_RESOLVED, None, fingerprint.split("|")[1], {"fingerprint": fingerprint}
            )


def reported_findings(events: list) -> set[str]:
    """The findings reported and not resolved in this bot's stored events (oldest first)."""
    records = []
    for event in events:
        kind = EventKind.parse(event.kind)
        if kind is EventKind.FINDING_RESOLVED:
            records.append((None, event.pair, event.trade_id, event.data or {}))
        elif kind is not None and kind.finding is not None:
            records.append((kind.finding, event.pair, event.trade_id, event.data or {}))
    return rec.open_fingerprints(records)
