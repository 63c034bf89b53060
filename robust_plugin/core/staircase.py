"""The aged policy's target staircase for one trade: the target price over time, up to the exit.

Pure: asks :mod:`robust_plugin.core.aging` (``stage_at``, ``target_price``) at each age where the policy's
stage changes, so the staircase is the policy itself, not a second implementation of it. Used by the
HTML report to draw, for each aged trade, the target as a step line between the entry and the exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from robust_plugin.core.aging import AgedPhase, AgedPolicy, PositionCosts, stage_at, target_price


@dataclass(frozen=True)
class Step:
    """From ``at`` on (until the next step), the policy's target for the trade."""

    at: datetime
    age_s: float
    phase: AgedPhase
    accepted_loss_pct: float | None
    """0 in grace, the accepted loss when progressive or capped, ``None`` when forced."""
    price: float | None
    """The target price; ``None`` when forced (any price will do)."""


def staircase(
    policy: AgedPolicy,
    costs: PositionCosts,
    opened_at: datetime,
    exit_at: datetime,
    tick: float | None = None,
) -> list[Step]:
    """The target's steps between the trade's first aged stage and its exit.

    One step at each age where the policy's stage changes (the end of ``max_age``, the end of the
    grace period, every ``step_interval`` after it until the cap, ``force_close_after``), and a last
    point at ``exit_at`` repeating the stage in force then, so a step line ends at the exit. Empty
    when the trade exited before ``max_age`` (it never aged).
    """
    exit_age = (exit_at - opened_at).total_seconds()
    steps: list[Step] = []
    age: float | None = 0.0
    while age is not None and age <= exit_age:
        stage = stage_at(policy, age)
        if stage.phase is not AgedPhase.FRESH:
            steps.append(_step(policy, costs, opened_at, age, tick))
        age = stage.next_change_age
    if steps and steps[-1].age_s < exit_age:
        steps.append(_step(policy, costs, opened_at, exit_age, tick, at=exit_at))
    return steps


def _step(
    policy: AgedPolicy,
    costs: PositionCosts,
    opened_at: datetime,
    age: float,
    tick: float | None,
    at: datetime | None = None,
) -> Step:
    stage = stage_at(policy, age)
    loss = stage.accepted_loss_pct
    price = None if loss is None else target_price(costs, loss, tick)
    return Step(at or opened_at + timedelta(seconds=age), age, stage.phase, loss, price)
