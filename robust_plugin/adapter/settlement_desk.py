"""The settlement desk: post-entry verification on freqtrade's live loop.

* ``entry_filled`` (from ``order_filled``) starts one job per entry fill; the same fill reported twice
  is one job, and an add-on entry retargets the trade's pending jobs to its new amount. Jobs live in
  the trade's custom data (part ``settlement``), so a restart resumes them.
* ``step_due`` (from ``bot_loop_start``, on the loop's one batched position read) steps every due job;
  the order history is read only when the core asks for it (a position absent after ``late_after``).
  Outcomes become events and alerts.

Nothing here places or cancels an order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC
from typing import Any

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.exchange.boundary import ExchangeBoundary
from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core import settlement as core
from robust_plugin.core.entry_guard import Problem
from robust_plugin.core.exchange_reports import PositionReport
from robust_plugin.core.kinds import EventKind, Side
from robust_plugin.core.trade_state import read_state, write_part
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)

HISTORY_BEFORE_FILL_S = 120.0  # the history read starts this long before the fill (clock skew, slow fills)


class SettlementDesk:
    def __init__(
        self,
        policy: core.SettlementPolicy,
        boundary: ExchangeBoundary,
        alerts: Alerter,
        recorder: Recorder | EventStore | None,
        loop_interval_s: float,
        load_trade: Callable[[int], Any] | None = None,
    ):
        self.policy = policy
        self.boundary = boundary
        self.alerts = alerts
        self.recorder = as_recorder(recorder)
        self.loop_interval_s = loop_interval_s
        self.load_trade = load_trade or (lambda trade_id: None)  # freqtrade's Trade, to store a job on
        self.jobs: dict[str, core.SettlementJob] = {}
        self._dirty: set[str] = set()
        self._closed: set[int] = set()  # trades closed with a job pending: their position is gone by definition

    # -- jobs -------------------------------------------------------------------------------
    def resume(self, trades: list) -> int:
        """Load the unfinished jobs of ``trades`` after a restart: the open trades and those closed
        recently (``trade_rows.trades_to_resume``), whose entries may still be waiting for a verdict."""
        count = 0
        for trade in trades:
            if not getattr(trade, "is_open", True):
                self._closed.add(trade.id)
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
        amount = float(trade.amount)
        for other in self.pending(trade.id):  # an add-on entry: the position to expect is the trade's now
            self.jobs[other.job_key] = core.retarget(other, amount)
            self._persist(trade, self.jobs[other.job_key])
        side = Side.of(trade.is_short).value
        job = core.new_job(trade.id, trade.pair, side, order.order_id, min(filled_at, now), amount, now)
        self.jobs[key] = job
        self._persist(trade, job)
        data = {"order_id": order.order_id, "expected_amount": job.expected_amount}
        self.recorder.record(EventKind.SETTLEMENT_STARTED, trade.id, trade.pair, data)

    def closed_by_bot(self, trade: Any, now: float) -> None:
        """freqtrade filled an exit of its own: the trade's pending jobs end without a verdict on the
        exchange."""
        for job in self.pending(trade.id):
            check = core.closed_by_bot(job, now, str(trade.exit_reason or ""))
            self.jobs[job.job_key] = check.job
            self._persist(trade, check.job)
            if check.verdict is not None:
                self._verdict(check.job, check.verdict)

    def retarget(self, trade: Any) -> None:
        """The trade's amount changed outside its entries (an outside order freqtrade recorded): its
        pending jobs expect what the trade holds now."""
        for job in self.pending(trade.id):
            self.jobs[job.job_key] = core.retarget(job, float(trade.amount))
            self._persist(trade, self.jobs[job.job_key])

    def pending(self, trade_id: int) -> list[core.SettlementJob]:
        return [j for j in self.jobs.values() if j.trade_id == trade_id and not core.is_final(j)]

    def settling(self, trade_id: int) -> bool:
        """Whether an entry of this trade is still being verified (its position may not be visible yet)."""
        return bool(self.pending(trade_id))

    def unknown_problems(self) -> list[Problem]:
        """Entries whose position is unexplained (settlement ``unknown``, still watched): they hold entries."""
        return [
            Problem("settlement_unknown", j.pair, j.trade_id)
            for j in self.jobs.values()
            if j.outcome is core.SettlementOutcome.UNKNOWN
        ]

    def settling_ids(self) -> set[int]:
        return {j.trade_id for j in self.jobs.values() if not core.is_final(j)}

    def _persist(self, trade: Any, job: core.SettlementJob) -> None:
        part = read_state(trade).get("settlement") or {}
        jobs = dict(part.get("jobs") or {})
        jobs[job.job_key] = job.to_dict()
        write_part(trade, "settlement", {"jobs": jobs, "outcome": job.outcome.value, "lag_s": job.lag_s})
        self._dirty.discard(job.job_key)

    def persist_for(self, trade: Any) -> None:
        for key, job in self.jobs.items():
            if job.trade_id == trade.id and key in self._dirty:
                self._persist(trade, job)

    # -- checks -----------------------------------------------------------------------------
    def due(self, now: float) -> list[core.SettlementJob]:
        return core.due_jobs(self.jobs.values(), now)

    def step_due(self, positions: dict[str, PositionReport] | None, now: float) -> None:
        """Step every due job on this loop's position read (``None``: the read failed)."""
        for job in self.due(now):
            observation = None
            if job.trade_id in self._closed:  # a position on the pair now is another trade's
                observation = core.PositionObservation(job.side, 0.0, now)
            elif positions is not None:
                position = positions.get(job.pair)
                observation = (
                    core.PositionObservation(position.side.value, position.amount, now)
                    if position is not None
                    else core.PositionObservation(job.side, 0.0, now)
                )
            self._check(job, observation, now)
        self._flush()

    def observe(self, trade: Any, position: PositionReport, now: float) -> None:
        """A fresh position seen elsewhere (freqtrade's wallet sync before an exit): step pending jobs on it."""
        for job in self.pending(trade.id):
            self._check(job, core.PositionObservation(position.side.value, position.amount, now), now)
            self._persist(trade, self.jobs[job.job_key])

    def explain_exit(self, trade: Any, now: float) -> bool:
        """freqtrade found an exchange-side exit while an entry of this trade was still settling:
        decide the job now from the trade history. True when a job was resolved (a failed history read
        leaves it to the next loops: a closed trade's job is then decided from the history alone)."""
        if not trade.is_open:
            self._closed.add(trade.id)
        resolved = False
        for job in self.pending(trade.id):
            history = self._history(job)
            if history is None:
                continue
            absent = core.PositionObservation(job.side, 0.0, now)
            check = core.step(job, absent, now, self.loop_interval_s, self.policy, history)
            self.jobs[job.job_key] = check.job
            self._persist(trade, check.job)
            if check.verdict is not None:
                self._verdict(check.job, check.verdict)
                resolved = True
        return resolved

    def _check(self, job: core.SettlementJob, observation: core.PositionObservation | None, now: float) -> None:
        check = core.step(job, observation, now, self.loop_interval_s, self.policy)
        if check.needs_history:
            history = self._history(job)
            if history is not None:
                check = core.step(job, observation, now, self.loop_interval_s, self.policy, history)
        self.jobs[job.job_key] = check.job
        self._dirty.add(job.job_key)
        if check.verdict is not None:
            self._verdict(check.job, check.verdict)

    def _history(self, job: core.SettlementJob) -> core.FillHistory | None:
        orders = self.boundary.history_since(job.pair, job.filled_at - HISTORY_BEFORE_FILL_S)
        return None if orders is None else core.fill_history(job, orders)

    def _verdict(self, job: core.SettlementJob, verdict: core.Verdict) -> None:
        data = {
            "outcome": verdict.outcome.value,
            "lag_s": verdict.lag_s,
            "detail": verdict.detail,
            "checks": job.checks,
            "order_id": job.entry_order_id,
        }
        kind = EventKind.for_verdict(verdict.outcome)
        self.recorder.record(kind, job.trade_id, job.pair, data, verdict.severity)
        logger.info("robust_plugin: trade %s settlement %s (%s)", job.trade_id, verdict.outcome.value, verdict.detail)
        advice = core.ADVICE.get(verdict.outcome)
        if advice is not None:
            self.alerts.advise(advice, {"detail": verdict.detail, **data}, trade_id=job.trade_id, pair=job.pair)

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
