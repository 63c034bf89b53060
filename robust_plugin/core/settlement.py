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


class SettlementOutcome(str, Enum):
    PENDING = "pending"
    VERIFIED = "verified"
    VERIFIED_LATE = "verified_late"
    SIZE_MISMATCH = "size_mismatch"
    CLOSED_IMMEDIATELY = "closed_immediately"
    NEVER_FILLED = "never_filled"
    UNKNOWN = "unknown"


FINAL = {
    SettlementOutcome.VERIFIED,
    SettlementOutcome.VERIFIED_LATE,
    SettlementOutcome.SIZE_MISMATCH,
    SettlementOutcome.CLOSED_IMMEDIATELY,
    SettlementOutcome.NEVER_FILLED,
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


def step(
    job: SettlementJob,
    observation: PositionObservation | None,
    now: float,
    loop_interval_s: float,
    policy: SettlementPolicy,
    history: FillHistory | None = None,
) -> tuple[SettlementJob, Verdict | None, bool]:
    """One check. Returns the job, a verdict when the outcome changes, and whether history is needed."""
    if is_final(job):
        return job, None, False
    checked = replace(job, checks=job.checks + 1)
    if observation is None:  # the read failed: that is not "absent"
        return replace(checked, next_check_at=_next_check(checked, now, loop_interval_s, policy)), None, False
    ours = observation.amount > 0 and observation.side == job.side
    lag = max(0.0, observation.observed_at - job.filled_at)
    if ours:
        tolerance = job.expected_amount * policy.size_tolerance_ratio
        if abs(observation.amount - job.expected_amount) > tolerance:
            done = replace(
                checked,
                outcome=SettlementOutcome.SIZE_MISMATCH,
                resolved_at=now,
                lag_s=lag,
                last_seen_amount=observation.amount,
            )
            return (
                done,
                Verdict(
                    SettlementOutcome.SIZE_MISMATCH,
                    lag,
                    f"expected {job.expected_amount}, the exchange shows {observation.amount}",
                    "warning",
                ),
                False,
            )
        late = lag > policy.late_after_s or job.outcome is SettlementOutcome.UNKNOWN
        outcome = SettlementOutcome.VERIFIED_LATE if late else SettlementOutcome.VERIFIED
        done = replace(checked, outcome=outcome, resolved_at=now, lag_s=lag, last_seen_amount=observation.amount)
        return done, Verdict(outcome, lag, f"position visible after {lag:.1f}s", "warning" if late else "info"), False
    # absent (or the other side): explain it from the history, never from the absence alone
    age = now - job.filled_at
    if history is not None:
        checked = replace(checked, history_checked_at=now)
        if history.our_fill_seen and (history.liquidated or history.closing_fill_after):
            how = "liquidated" if history.liquidated else "closed"
            done = replace(checked, outcome=SettlementOutcome.CLOSED_IMMEDIATELY, resolved_at=now)
            return (
                done,
                Verdict(
                    SettlementOutcome.CLOSED_IMMEDIATELY,
                    None,
                    f"opened and {how} right after the fill (exit at {history.exit_price})",
                    "warning",
                ),
                False,
            )
        if not history.our_fill_seen and age >= policy.deadline_s:
            done = replace(checked, outcome=SettlementOutcome.NEVER_FILLED, resolved_at=now)
            return (
                done,
                Verdict(
                    SettlementOutcome.NEVER_FILLED,
                    None,
                    "reported filled, but no fill of ours in the trade history",
                    "warning",
                ),
                False,
            )
    if age >= policy.deadline_s and job.outcome is SettlementOutcome.PENDING:
        if history is None:
            return checked, None, True  # decide at the deadline only with the history in hand
        unknown = replace(checked, outcome=SettlementOutcome.UNKNOWN, next_check_at=now + policy.max_spacing_s)
        return (
            unknown,
            Verdict(
                SettlementOutcome.UNKNOWN,
                None,
                "no position after the deadline and the history does "
                "not explain it: a position may be open without protection",
                "critical",
            ),
            False,
        )
    spacing_since_history = now - (checked.history_checked_at or job.filled_at)
    needs_history = history is None and age > policy.late_after_s and spacing_since_history >= policy.late_after_s
    return replace(checked, next_check_at=_next_check(checked, now, loop_interval_s, policy)), None, needs_history
