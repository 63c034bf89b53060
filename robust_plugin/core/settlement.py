"""Post-entry settlement: after an entry fills, establish what really happened on the exchange.

A job per entry fill, stepped on freqtrade's loop (never sleeping): checked at once, then every loop
while the fill is fresh, then with doubling spacing up to a deadline. A position that is not visible
yet is never taken for a failure: absent positions are explained by the trade history (our fill and
a liquidation or close after it → ``closed_immediately``; no fill of ours → ``never_filled``) or, past
the deadline, reported ``unknown`` (critical: a position may be open without protection) while the
job keeps watching. Nothing here closes or rolls back anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import Enum

from robust_plugin.core.advice import Advice, severity_of
from robust_plugin.core.exchange_reports import OrderReport
from robust_plugin.core.kinds import Side


class SettlementOutcome(str, Enum):
    PENDING = "pending"
    VERIFIED = "verified"
    VERIFIED_LATE = "verified_late"
    SIZE_MISMATCH = "size_mismatch"
    CLOSED_IMMEDIATELY = "closed_immediately"
    NEVER_FILLED = "never_filled"
    CLOSED_BY_BOT = "closed_by_bot"  # freqtrade closed the trade itself before its position was seen
    UNKNOWN = "unknown"


FINAL = {
    SettlementOutcome.VERIFIED,
    SettlementOutcome.VERIFIED_LATE,
    SettlementOutcome.SIZE_MISMATCH,
    SettlementOutcome.CLOSED_IMMEDIATELY,
    SettlementOutcome.NEVER_FILLED,
    SettlementOutcome.CLOSED_BY_BOT,
}


@dataclass(frozen=True)
class SettlementPolicy:
    deadline_s: float = 120.0
    late_after_s: float = 10.0
    dense_window_s: float = 60.0
    max_spacing_s: float = 60.0
    size_tolerance_ratio: float = 0.001

    def __post_init__(self) -> None:
        for name in ("deadline_s", "late_after_s", "dense_window_s", "max_spacing_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.late_after_s > self.deadline_s:
            raise ValueError("late_after_s must not exceed deadline_s")
        if not 0 <= self.size_tolerance_ratio < 1:
            raise ValueError("size_tolerance_ratio must be in [0, 1)")


@dataclass(frozen=True)
class PositionObservation:
    side: str  # "long" / "short"
    amount: float  # 0 = no position
    observed_at: float


@dataclass(frozen=True)
class FillHistory:
    our_fill_seen: bool
    closing_fill_after: bool = False
    liquidated: bool = False
    exit_price: float | None = None
    exit_time: float | None = None
    exit_amount: float | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: SettlementOutcome
    lag_s: float | None
    detail: str
    severity: str  # info, warning, critical


@dataclass(frozen=True)
class SettlementJob:
    trade_id: int
    pair: str
    side: str
    entry_order_id: str
    filled_at: float
    expected_amount: float
    checks: int = 0
    next_check_at: float = 0.0
    outcome: SettlementOutcome = SettlementOutcome.PENDING
    resolved_at: float | None = None
    lag_s: float | None = None
    last_seen_amount: float | None = None
    history_checked_at: float | None = None

    @property
    def job_key(self) -> str:
        return f"{self.trade_id}:{self.entry_order_id}"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SettlementJob:
        try:
            outcome = SettlementOutcome(data.get("outcome", "pending"))
        except ValueError:
            raise ValueError(f"unknown settlement outcome {data.get('outcome')!r}") from None
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "outcome": outcome})


def new_job(
    trade_id: int, pair: str, side: str, entry_order_id: str, filled_at: float, expected_amount: float, now: float
) -> SettlementJob:
    return SettlementJob(trade_id, pair, side, str(entry_order_id), filled_at, expected_amount, next_check_at=now)


def is_final(job: SettlementJob) -> bool:
    return job.outcome in FINAL


def is_due(job: SettlementJob, now: float) -> bool:
    return not is_final(job) and now >= job.next_check_at


def due_jobs(jobs, now: float) -> list[SettlementJob]:
    return [job for job in jobs if is_due(job, now)]


def pairs_to_read(jobs, now: float) -> set[str]:
    """Pairs the next batched position read must cover (one read serves every due job)."""
    return {job.pair for job in due_jobs(jobs, now)}


def _next_check(job: SettlementJob, now: float, loop_s: float, policy: SettlementPolicy) -> float:
    age = now - job.filled_at
    if age < policy.dense_window_s:
        spacing = loop_s
    else:
        spacing = min(
            policy.max_spacing_s, loop_s * 2 ** max(0, job.checks - int(policy.dense_window_s / max(loop_s, 1e-9)))
        )
    at = now + max(spacing, loop_s)
    deadline = job.filled_at + policy.deadline_s
    if job.outcome is SettlementOutcome.PENDING and now < deadline < at:
        at = deadline  # never skip the check at the deadline
    return at


class SettlementAction(str, Enum):
    """What the adapter must do after a check, before the job can go on."""

    WAIT = "wait"  # nothing: check again at ``job.next_check_at``
    READ_HISTORY = "read_history"  # read the order history since the fill and step again with it


@dataclass(frozen=True)
class SettlementCheck:
    """The result of one check: the job as it is now, a verdict when the outcome changed, and what
    the adapter must do next."""

    job: SettlementJob
    verdict: Verdict | None = None
    action: SettlementAction = SettlementAction.WAIT

    @property
    def needs_history(self) -> bool:
        return self.action is SettlementAction.READ_HISTORY


def _verdict(outcome: SettlementOutcome, lag: float | None, detail: str) -> Verdict:
    return Verdict(outcome, lag, detail, SEVERITY[outcome])


def retarget(job: SettlementJob, expected_amount: float) -> SettlementJob:
    """The trade's amount changed while the job was pending (an add-on entry filled): the position
    to expect is the trade's amount now, not the one frozen at this job's fill."""
    return job if is_final(job) else replace(job, expected_amount=expected_amount)


def step(
    job: SettlementJob,
    observation: PositionObservation | None,
    now: float,
    loop_interval_s: float,
    policy: SettlementPolicy,
    history: FillHistory | None = None,
) -> SettlementCheck:
    """One check of a pending job against a position read (``None``: the read failed).

    A position of the other side, or of another size, before the deadline is a view that has not
    caught up with the fill yet (exchanges show the last position for a while): the job keeps
    watching. Only the expected size on the job's side verifies it; a different size still shown at
    the deadline is a ``size_mismatch``; an absent position is explained by the history alone.
    """
    if is_final(job):
        return SettlementCheck(job)
    checked = replace(job, checks=job.checks + 1)
    if observation is None:  # the read failed: that is not "absent"
        return SettlementCheck(replace(checked, next_check_at=_next_check(checked, now, loop_interval_s, policy)))
    ours = observation.amount > 0 and observation.side == job.side
    lag = max(0.0, observation.observed_at - job.filled_at)
    age = now - job.filled_at
    if ours:
        tolerance = job.expected_amount * policy.size_tolerance_ratio
        if abs(observation.amount - job.expected_amount) <= tolerance:
            late = lag > policy.late_after_s or job.outcome is SettlementOutcome.UNKNOWN
            outcome = SettlementOutcome.VERIFIED_LATE if late else SettlementOutcome.VERIFIED
            done = replace(checked, outcome=outcome, resolved_at=now, lag_s=lag, last_seen_amount=observation.amount)
            return SettlementCheck(done, _verdict(outcome, lag, f"position visible after {lag:.1f}s"))
        if age >= policy.deadline_s:
            done = replace(
                checked,
                outcome=SettlementOutcome.SIZE_MISMATCH,
                resolved_at=now,
                lag_s=lag,
                last_seen_amount=observation.amount,
            )
            detail = f"expected {job.expected_amount}, the exchange shows {observation.amount}"
            return SettlementCheck(done, _verdict(SettlementOutcome.SIZE_MISMATCH, lag, detail))
        seen = replace(checked, last_seen_amount=observation.amount)
        return SettlementCheck(replace(seen, next_check_at=_next_check(seen, now, loop_interval_s, policy)))
    # absent (or only the other side's stale view): explain it from the history, never from the absence
    if history is not None:
        checked = replace(checked, history_checked_at=now)
        if history.our_fill_seen and (history.liquidated or history.closing_fill_after):
            how = "liquidated" if history.liquidated else "closed"
            done = replace(checked, outcome=SettlementOutcome.CLOSED_IMMEDIATELY, resolved_at=now)
            detail = f"opened and {how} right after the fill (exit at {history.exit_price})"
            return SettlementCheck(done, _verdict(SettlementOutcome.CLOSED_IMMEDIATELY, None, detail))
        if not history.our_fill_seen and age >= policy.deadline_s:
            done = replace(checked, outcome=SettlementOutcome.NEVER_FILLED, resolved_at=now)
            detail = "reported filled, but no fill of ours in the trade history"
            return SettlementCheck(done, _verdict(SettlementOutcome.NEVER_FILLED, None, detail))
    if age >= policy.deadline_s and job.outcome is SettlementOutcome.PENDING:
        if history is None:  # decide at the deadline only with the history in hand
            return SettlementCheck(checked, action=SettlementAction.READ_HISTORY)
        unknown = replace(checked, outcome=SettlementOutcome.UNKNOWN, next_check_at=now + policy.max_spacing_s)
        detail = (
            "no position after the deadline and the history does not explain it: "
            "a position may be open without protection"
        )
        return SettlementCheck(unknown, _verdict(SettlementOutcome.UNKNOWN, None, detail))
    spacing_since_history = now - (checked.history_checked_at or job.filled_at)
    needs_history = history is None and age > policy.late_after_s and spacing_since_history >= policy.late_after_s
    job = replace(checked, next_check_at=_next_check(checked, now, loop_interval_s, policy))
    return SettlementCheck(job, action=SettlementAction.READ_HISTORY if needs_history else SettlementAction.WAIT)


SEVERITY: dict[SettlementOutcome, str] = {
    SettlementOutcome.VERIFIED: "info",
    SettlementOutcome.VERIFIED_LATE: severity_of(Advice.SETTLEMENT_VERIFIED_LATE).value,
    SettlementOutcome.SIZE_MISMATCH: severity_of(Advice.SETTLEMENT_SIZE_MISMATCH).value,
    SettlementOutcome.CLOSED_IMMEDIATELY: severity_of(Advice.SETTLEMENT_CLOSED_IMMEDIATELY).value,
    SettlementOutcome.NEVER_FILLED: severity_of(Advice.SETTLEMENT_NEVER_FILLED).value,
    SettlementOutcome.CLOSED_BY_BOT: "info",
    SettlementOutcome.UNKNOWN: severity_of(Advice.SETTLEMENT_UNKNOWN).value,
}
"""Each outcome's severity, from the one advice table."""

ADVICE: dict[SettlementOutcome, Advice] = {
    SettlementOutcome.VERIFIED_LATE: Advice.SETTLEMENT_VERIFIED_LATE,
    SettlementOutcome.SIZE_MISMATCH: Advice.SETTLEMENT_SIZE_MISMATCH,
    SettlementOutcome.CLOSED_IMMEDIATELY: Advice.SETTLEMENT_CLOSED_IMMEDIATELY,
    SettlementOutcome.NEVER_FILLED: Advice.SETTLEMENT_NEVER_FILLED,
    SettlementOutcome.UNKNOWN: Advice.SETTLEMENT_UNKNOWN,
}
"""The alert each outcome raises (a plain ``verified`` raises none)."""


def fill_history(job: SettlementJob, orders: list[OrderReport]) -> FillHistory:
    """What the pair's order history since the fill says about a job whose position is absent: our
    entry's fill, and an executed order of the exit side after it (the exchange's liquidation or
    auto-deleverage when the dialect marked it so)."""
    ours = any(o.order_id == job.entry_order_id and o.executed for o in orders)
    exit_side = Side(job.side).exit_order_side
    after = [o for o in orders if o.side == exit_side and o.executed and (o.timestamp or 0.0) >= job.filled_at - 1.0]
    last = max(after, key=lambda o: o.timestamp or 0.0) if after else None
    return FillHistory(
        our_fill_seen=ours,
        closing_fill_after=bool(after),
        liquidated=any(o.liquidation for o in after),
        exit_price=last.average if last else None,
        exit_time=last.timestamp if last else None,
        exit_amount=last.filled if last else None,
    )


def closed_by_bot(job: SettlementJob, now: float, exit_reason: str) -> SettlementCheck:
    """freqtrade filled an exit of its own for the trade before the entry's position was seen: the
    job ends there, with no verdict about the exchange (the history would show the bot's own exit as
    a close right after the fill, which is not what happened)."""
    if is_final(job):
        return SettlementCheck(job)
    done = replace(job, outcome=SettlementOutcome.CLOSED_BY_BOT, resolved_at=now)
    detail = f"freqtrade closed the trade itself ({exit_reason}) before its position was seen"
    return SettlementCheck(done, _verdict(SettlementOutcome.CLOSED_BY_BOT, None, detail))
