"""The report's target staircase, over generated policies, trades and exit times."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from robust_plugin.core.aging import AgedPhase, AgedPolicy, PositionCosts, Side, stage_at, target_price
from robust_plugin.core.staircase import staircase
from tests.unit.test_aging import HOUR, costs_st, policies

OPENED = datetime(2026, 8, 1, 12, tzinfo=UTC)
exit_ages = st.floats(0, 300 * HOUR)


def _on_policy_grid(policy: AgedPolicy, age: float) -> bool:
    """A step starts at max_age, at the end of grace, at a step boundary, or at force_close_after."""
    if age in (policy.max_age, policy.max_age + policy.grace_period, policy.force_close_after):
        return True
    steps = (age - policy.max_age - policy.grace_period) / policy.step_interval
    return steps > 0 and math.isclose(steps, round(steps), abs_tol=1e-9)


@given(policies(), costs_st, exit_ages)
def test_staircase_moves_only_against_the_trade_and_steps_on_the_policys_times(policy, costs, exit_age):
    exit_at = OPENED + timedelta(seconds=exit_age)
    exit_age = (exit_at - OPENED).total_seconds()  # datetimes keep microseconds
    steps = staircase(policy, costs, OPENED, exit_at)
    if exit_age < policy.max_age and (policy.force_close_after is None or exit_age < policy.force_close_after):
        assert steps == []  # never aged
        return
    assert steps, "an aged trade has a staircase"
    assert steps[-1].at == exit_at and steps[-1].age_s == exit_age, "the last point is the exit"
    assert all(a.age_s < b.age_s and a.at <= b.at for a, b in zip(steps, steps[1:])), "time moves forward"
    for step in steps:
        stage = stage_at(policy, step.age_s)
        assert step.phase is stage.phase and step.accepted_loss_pct == stage.accepted_loss_pct
        assert step.phase is not AgedPhase.FRESH
        if step.phase is AgedPhase.FORCED:
            assert step.price is None
        else:
            assert step.price == target_price(costs, stage.accepted_loss_pct)
    for step in steps[:-1]:
        assert _on_policy_grid(policy, step.age_s), (step, policy)
    # Between two consecutive steps the stage does not change: no step is missing.
    for a, b in zip(steps, steps[1:]):
        middle = stage_at(policy, (a.age_s + b.age_s) / 2)
        assert (middle.phase, middle.accepted_loss_pct) == (a.phase, a.accepted_loss_pct)
    prices = [s.price for s in steps if s.price is not None]
    if costs.side is Side.LONG:  # a long accepts lower and lower exits, a short higher and higher
        assert all(b <= a for a, b in zip(prices, prices[1:])), prices
    else:
        assert all(b >= a for a, b in zip(prices, prices[1:])), prices


def test_a_known_staircase():
    policy = AgedPolicy(
        max_age=12 * HOUR,
        grace_period=4 * HOUR,
        step_interval=HOUR,
        loss_step_pct=0.5,
        max_loss_pct=1.5,
        force_close_after=24 * HOUR,
    )
    costs = PositionCosts(Side.SHORT, entry_price=100.0, amount=1.0, fee_open=0.0, fee_close=0.0)
    steps = staircase(policy, costs, OPENED, OPENED + timedelta(hours=30))
    assert [(s.age_s / HOUR, s.phase.value, s.accepted_loss_pct) for s in steps] == [
        (12, "grace", 0.0),
        (16, "progressive", 0.5),
        (17, "progressive", 1.0),
        (18, "capped", 1.5),
        (24, "forced", None),
        (30, "forced", None),
    ]
    assert [round(s.price, 9) for s in steps[:4]] == [100.0, 100.5, 101.0, 101.5]
    late_exit = staircase(policy, costs, OPENED, OPENED + timedelta(hours=16, minutes=30))
    assert [s.age_s / HOUR for s in late_exit] == [12, 16, 16.5]
    assert staircase(policy, costs, OPENED, OPENED + timedelta(hours=11)) == []
