"""The settlement desk: post-entry verification and reconciliation on freqtrade's live loop.

* ``entry_filled`` (from ``order_filled``) starts one job per entry fill; the same fill reported twice
  is one job. Jobs live in the trade's custom data (part ``settlement``), so a restart resumes them.
* ``on_loop`` (from ``bot_loop_start``) reads all positions once - one batched request, only when a
  job is due or reconciliation is due - steps every due job, and every ``interval`` compares
  freqtrade's open trades with the positions. The trade history is read only to explain a position
  that is absent after ``late_after``. Outcomes and findings become events and alerts.

Nothing here places or cancels an order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core import reconcile as rec
from robust_plugin.core import settlement as core
from robust_plugin.core.trade_state import read_state, write_part
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)

ADVICE = {
    core.SettlementOutcome.VERIFIED_LATE: (
        "info",
        "the exchange is slow to show positions",
        "nothing; watch for it repeating",
    ),
    core.SettlementOutcome.SIZE_MISMATCH: (
        "warning",
        "recorded the real size",
        "check for a partial fill or an outside change",
    ),
    core.SettlementOutcome.CLOSED_IMMEDIATELY: (
        "warning",
        "freqtrade records the exchange's exit on the trade",
        "check the liquidation price and leverage of this strategy",
    ),
    core.SettlementOutcome.NEVER_FILLED: (
        "warning",
        "left the trade for freqtrade's own recovery",
        "check the order on the exchange",
    ),
    core.SettlementOutcome.UNKNOWN: (
        "critical",
        "keeps watching; nothing was closed or rolled back",
        "look at the exchange now: a position may be open without a stop-loss",
    ),
}


class SettlementDesk:
    def __init__(
        self,
        policy: core.SettlementPolicy,
        exchange: Any,
        alerts: Alerter,
        recorder: Recorder | EventStore | None,
        loop_interval_s: float,
        reconcile_every_s: float | None,
        reconcile_grace_s: float = 30.0,
        unprotected_after_s: float = 60.0,
        stoploss_on_exchange: bool = False,
        open_trades: Callable[[], list] | None = None,
        clock: Callable[[], float] = time.time,
        closed_since: Callable[[float], list] | None = None,
        load_trade: Callable[[int], Any] | None = None,
    ):
        self.policy = policy
        self.exchange = exchange
        self.alerts = alerts
        self.recorder = as_recorder(recorder)
        self.loop_interval_s = loop_interval_s
        self.reconcile_every_s = reconcile_every_s
        self.reconcile_grace_s = reconcile_grace_s
        self.unprotected_after_s = unprotected_after_s
        self.stoploss_on_exchange = stoploss_on_exchange
        # open trades and trades closed after an epoch time, as rows with what reconciliation reads
        # (:class:`robust_plugin.adapter.trade_rows.TradeRow` or freqtrade's ``Trade``)
        self.open_trades = open_trades or (lambda: [])
        self.closed_since = closed_since or (lambda since: [])
        self.load_trade = load_trade or (lambda trade_id: None)  # freqtrade's Trade, to store a job on
        self.clock = clock
        self.jobs: dict[str, core.SettlementJob] = {}
        self._dirty: set[str] = set()
        self._last_reconcile = 0.0
        self._fingerprints: set[str] = set()
        self._missing_stops: dict[int, float] = {}
        self.position_reads = 0

    # -- jobs -------------------------------------------------------------------------------

    def resume(self, trades: list) -> int:
        """Load unfinished jobs of open trades (after a restart)."""
        count = 0
        for trade in trades:
            for data in (read_state(trade).get("settlement") or {}).get("jobs", {}).values():
                try:
                    job = core.SettlementJob.from_dict(data)
                except (ValueError, TypeError) as error:
                    logger.warning("robust_plugin: trade %s: unreadable settlement job: %s", trade.id, error)
                    continue
                if job.job_key not in self.jobs:
                    self.jobs[job.job_key] = job
                    count += not core.is_final(job)
        if count:
            logger.info("robust_plugin: resumed %d settlement job(s) after a restart", count)
        return count

    def entry_filled(self, trade: Any, order: Any, now: float) -> None:
        key = f"{trade.id}:{order.order_id}"
        if key in self.jobs or key in ((read_state(trade).get("settlement") or {}).get("jobs") or {}):
            return  # the same fill reported twice is one job
        filled = getattr(order, "order_filled_utc", None) or getattr(order, "order_filled_date", None)
        filled_at = filled.replace(tzinfo=filled.tzinfo or UTC).timestamp() if filled else now
        job = core.new_job(
            trade.id,
            trade.pair,
            "short" if trade.is_short else "long",
            order.order_id,
            min(filled_at, now),
            float(trade.amount),
            now,
        )
        self.jobs[key] = job
        self._persist(trade, job)
        self.recorder.record(
            "settlement_started",
            trade.id,
            trade.pair,
            {"order_id": order.order_id, "expected_amount": job.expected_amount},
        )

    def _persist(self, trade: Any, job: core.SettlementJob) -> None:
        part = read_state(trade).get("settlement") or {}
        jobs = dict(part.get("jobs") or {})
        jobs[job.job_key] = job.to_dict()
        write_part(trade, "settlement", {"jobs": jobs, "outcome": job.outcome.value, "lag_s": job.lag_s})
        self._dirty.discard(job.job_key)

    def settling(self, trade_id: int) -> bool:
        """Whether an entry of this trade is still being verified (its position may not be visible yet)."""
        return any(j.trade_id == trade_id and not core.is_final(j) for j in self.jobs.values())

    def explain_exit(self, trade: Any, now: float) -> bool:
        """freqtrade found an exchange-side exit while an entry of this trade was still settling:
        decide the job now from the trade history. True when a job was resolved."""
        resolved = False
        for job in [j for j in self.jobs.values() if j.trade_id == trade.id and not core.is_final(j)]:
            history = self._history(job)
            if history is None:
                continue
            absent = core.PositionObservation(job.side, 0.0, now)
            updated, verdict, _ = core.step(job, absent, now, self.loop_interval_s, self.policy, history)
            self.jobs[job.job_key] = updated
            self._persist(trade, updated)
            if verdict is not None:
                self._verdict(updated, verdict)
                resolved = True
        return resolved

    def observe(self, trade: Any, amount: float, now: float) -> None:
        """A fresh position seen elsewhere (freqtrade's wallet sync before an exit): step pending jobs on it."""
        side = "short" if trade.is_short else "long"
        for job in [j for j in self.jobs.values() if j.trade_id == trade.id and not core.is_final(j)]:
            updated, verdict, _ = core.step(
                job, core.PositionObservation(side, amount, now), now, self.loop_interval_s, self.policy
            )
            self.jobs[job.job_key] = updated
            self._persist(trade, updated)
            if verdict is not None:
                self._verdict(updated, verdict)

    def persist_for(self, trade: Any) -> None:
        for key, job in self.jobs.items():
            if job.trade_id == trade.id and key in self._dirty:
                self._persist(trade, job)

    # -- the loop ---------------------------------------------------------------------------
    def on_loop(self, now: float) -> None:
        due = core.due_jobs(self.jobs.values(), now)
        reconcile_due = self.reconcile_every_s is not None and now - self._last_reconcile >= self.reconcile_every_s
        if not due and not reconcile_due:
            return
        positions = self._read_positions()
        for job in due:
            self._step(job, positions, now)
        if reconcile_due and positions is not None:
            self._last_reconcile = now
            self._reconcile(self.open_trades(), positions, now)
        self._flush()

    def _read_positions(self) -> dict[str, tuple[str, float]] | None:
        self.position_reads += 1
        try:
            raw = self.exchange.fetch_positions()
        except Exception as error:  # noqa: BLE001 - a failed read is "unknown", never "absent"
            logger.warning("robust_plugin: position read failed: %s", error)
            return None
        positions = {}
        for position in raw:
            amount = float(position.get("contracts") or 0) * float(position.get("contractSize") or 1)
            if amount > 0:
                positions[position["symbol"]] = (position.get("side") or "long", amount)
        return positions

    def _step(self, job: core.SettlementJob, positions, now: float) -> None:
        observation = None
        if positions is not None:
            side, amount = positions.get(job.pair, (job.side, 0.0))
            observation = core.PositionObservation(side, amount, now)
        updated, verdict, needs_history = core.step(job, observation, now, self.loop_interval_s, self.policy)
        if needs_history:
            history = self._history(job)
            if history is not None:
                updated, verdict, _ = core.step(job, observation, now, self.loop_interval_s, self.policy, history)
        self.jobs[job.job_key] = updated
        self._dirty.add(job.job_key)
        if verdict is not None:
            self._verdict(updated, verdict)

    def _history(self, job: core.SettlementJob) -> core.FillHistory | None:
        try:
            orders = self.exchange._api.fetch_orders(job.pair, int((job.filled_at - 120) * 1000))
        except Exception as error:  # noqa: BLE001
            logger.warning("robust_plugin: trade history read failed for %s: %s", job.pair, error)
            return None
        ours = [o for o in orders if str(o.get("id")) == job.entry_order_id and float(o.get("filled") or 0) > 0]
        exit_side = "sell" if job.side == "long" else "buy"
        after = [
            o
            for o in orders
            if o.get("side") == exit_side
            and float(o.get("filled") or 0) > 0
            and (o.get("lastTradeTimestamp") or o.get("timestamp") or 0) >= job.filled_at * 1000 - 1000
        ]
        last = after[-1] if after else None
        return core.FillHistory(
            our_fill_seen=bool(ours),
            closing_fill_after=bool(after),
            liquidated=any(str(o.get("clientOrderId") or "").startswith("autoclose-") for o in after),
            exit_price=float(last["average"]) if last and last.get("average") else None,
            exit_time=(last.get("lastTradeTimestamp") or last.get("timestamp")) / 1000 if last else None,
            exit_amount=float(last["filled"]) if last else None,
        )

    def _verdict(self, job: core.SettlementJob, verdict: core.Verdict) -> None:
        data = {
            "outcome": verdict.outcome.value,
            "lag_s": verdict.lag_s,
            "detail": verdict.detail,
            "checks": job.checks,
            "order_id": job.entry_order_id,
        }
        self.recorder.record(f"settlement_{verdict.outcome.value}", job.trade_id, job.pair, data, verdict.severity)
        logger.info("robust_plugin: trade %s settlement %s (%s)", job.trade_id, verdict.outcome.value, verdict.detail)
        if verdict.outcome in ADVICE:
            severity, did, todo = ADVICE[verdict.outcome]
            self.alerts.alert(
                trade_id=job.trade_id,
                pair=job.pair,
                severity=severity,
                subject=f"entry settlement: {verdict.outcome.value}",
                happened=verdict.detail,
                plugin_did=did,
                you_should=todo,
                data=data,
            )

    def _flush(self) -> None:
        """Store the jobs stepped this loop on their trades."""
        for key in list(self._dirty):
            job = self.jobs[key]
            trade = self.load_trade(job.trade_id)
            if trade is not None:
                try:
                    self._persist(trade, job)
                except Exception:
                    logger.exception("robust_plugin: could not store settlement state of trade %s", job.trade_id)

    def _reconcile(self, trades: list, positions: dict[str, tuple[str, float]], now: float) -> None:
        settling = {j.trade_id for j in self.jobs.values() if not core.is_final(j)}
        views = []
        for t in trades:
            opened = t.open_date_utc.timestamp() if t.open_date_utc else now
            # freqtrade fetches every open stop order of every trade on each loop (handle_stoploss_on_exchange)
            # and marks cancelled ones closed: its view is the exchange's as of this loop, at no request of ours
            stop_live = bool(t.has_open_sl_orders) if self.stoploss_on_exchange else True
            views.append(
                rec.TradeView(
                    t.id,
                    t.pair,
                    "short" if t.is_short else "long",
                    float(t.amount),
                    opened,
                    t.id in settling,
                    self.stoploss_on_exchange,
                    stop_live,
                )
            )
        self._missing_stops = rec.track_missing_stops(views, self._missing_stops, now)
        # A trade closed moments ago may still show its position (the exchange's view lags, as after an
        # entry): within the grace it covers its pair, so its own close is never taken for an orphan.
        open_pairs = {t.pair for t in trades}
        views += [
            rec.TradeView(t.id, t.pair, "short" if t.is_short else "long", float(t.amount), now, settling=True)
            for t in self.closed_since(now - self.reconcile_grace_s)
            if t.pair not in open_pairs
        ]
        findings = rec.reconcile(
            views,
            [rec.PositionView(p, s, a) for p, (s, a) in positions.items()],
            now,
            unprotected_after_s=self.unprotected_after_s,
            stop_missing_since=self._missing_stops,
            grace_s=self.reconcile_grace_s,
        )
        delta = rec.diff_findings(self._fingerprints, findings)
        self._fingerprints = {f.fingerprint for f in findings}
        for finding in delta.new:
            data = {
                "kind": finding.kind.value,
                "trade_amount": finding.trade_amount,
                "exchange_amount": finding.exchange_amount,
                "detail": finding.detail,
            }
            self.recorder.record(
                f"finding_{finding.kind.value}", finding.trade_id, finding.pair, data, finding.severity
            )
            self.alerts.alert(
                trade_id=finding.trade_id,
                pair=finding.pair,
                severity=finding.severity,
                subject=f"reconciliation: {finding.kind.value}",
                happened=finding.detail,
                plugin_did="told you; it does not act on positions it did not open",
                you_should=_FINDING_ADVICE[finding.kind],
                data=data,
            )
        for fingerprint in delta.resolved:
            self.recorder.record("finding_resolved", None, fingerprint.split("|")[1], {"fingerprint": fingerprint})


_FINDING_ADVICE = {
    rec.FindingKind.ORPHAN: "close or adopt the position on the exchange: no trade of this bot covers it",
    rec.FindingKind.GHOST: "check the exchange; freqtrade's recovery usually records the real exit",
    rec.FindingKind.SIZE_MISMATCH: "compare the trade with the exchange position; an outside order changed it",
    rec.FindingKind.UNPROTECTED: "place a stop on the exchange or close the position now",
}
