"""The aged policy, exhaustively: properties over generated policies, trades, ages and prices."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from robust_plugin.core.aging import (
    REASON_FORCE,
    REASON_GRACE,
    AgedPhase,
    AgedPolicy,
    PositionCosts,
    Side,
    crossed,
    decide,
    net_result,
    progressive_reason,
    stage_at,
    target_price,
)

HOUR = 3600.0


@st.composite
def policies(draw, force=None):
    step_pct = draw(st.sampled_from([0.1, 0.25, 0.5, 1.0, 2.0]))
    cap = step_pct * draw(st.integers(1, 20))
    max_age = draw(st.integers(0, 72)) * HOUR
    force_close = draw(st.one_of(st.none(), st.integers(1, 200).map(lambda h: h * HOUR)))
    if force is False:
        force_close = None
    return AgedPolicy(
        max_age=max_age,
        grace_period=draw(st.integers(0, 24)) * HOUR,
        step_interval=draw(st.sampled_from([60.0, 300.0, 900.0, HOUR, 4 * HOUR])),
        loss_step_pct=step_pct,
        max_loss_pct=min(cap, 99.0),
        force_close_after=force_close,
    )


costs_st = st.builds(
    PositionCosts,
    side=st.sampled_from(list(Side)),
    entry_price=st.floats(1e-4, 1e5),
    amount=st.floats(1e-3, 1e6),
    fee_open=st.sampled_from([0.0, 0.0002, 0.0004, 0.001]),
    fee_close=st.sampled_from([0.0, 0.0002, 0.0004, 0.001]),
    funding_fees=st.just(0.0),
)
ages = st.floats(0, 400 * HOUR)


def expected_loss(policy: AgedPolicy, age: float) -> float:
    steps = math.floor((age - policy.max_age - policy.grace_period) / policy.step_interval) + 1
    return min(policy.max_loss_pct, policy.loss_step_pct * steps)


@given(policies(), ages, ages)
def test_accepted_loss_never_decreases_with_age_and_never_exceeds_cap(policy, a, b):
    young, old = sorted((a, b))
    s_young, s_old = stage_at(policy, young), stage_at(policy, old)
    for s in (s_young, s_old):
        if s.accepted_loss_pct is not None:
            assert 0 <= s.accepted_loss_pct <= policy.max_loss_pct
    if s_young.accepted_loss_pct is not None and s_old.accepted_loss_pct is not None:
        assert s_old.accepted_loss_pct >= s_young.accepted_loss_pct


@given(policies(), ages)
def test_progressive_loss_follows_the_documented_rule(policy, age):
    stage = stage_at(policy, age)
    if stage.phase in (AgedPhase.PROGRESSIVE, AgedPhase.CAPPED):
        assert stage.accepted_loss_pct == pytest.approx(expected_loss(policy, age))
        assert stage.exit_reason == progressive_reason(expected_loss(policy, age))


@given(policies(), costs_st, ages, st.floats(1e-4, 1e6))
def test_no_exit_before_max_age(policy, costs, age, price):
    assume(age < policy.max_age)
    assume(policy.force_close_after is None or age < policy.force_close_after)
    decision = decide(policy, costs, age, price)
    assert not decision.exit_now
    assert decision.stage.phase is AgedPhase.FRESH


@given(policies(force=False), costs_st, st.floats(0, 24 * HOUR), st.floats(1e-4, 1e6))
def test_a_grace_exit_never_loses_money_after_fees(policy, costs, into_grace, price):
    age = policy.max_age + into_grace
    assume(age < policy.max_age + policy.grace_period)  # the sum can round up to the grace's end
    decision = decide(policy, costs, age, price)
    assert decision.stage.phase is AgedPhase.GRACE
    if decision.exit_now:
        assert net_result(costs, price) >= 0
    # and the target itself is exactly breakeven or better
    assert net_result(costs, decision.target) >= 0


@given(policies(force=False), costs_st, ages, st.sampled_from([None, 1e-4, 0.01, 0.1]))
def test_exit_at_target_is_never_worse_than_accepted(policy, costs, age, tick):
    stage = stage_at(policy, age)
    assume(stage.accepted_loss_pct is not None)
    target = target_price(costs, stage.accepted_loss_pct, tick)
    assume(target > 0)
    assert net_result(costs, target) >= -stage.accepted_loss_pct / 100
    if tick:
        assert abs(target / tick - round(target / tick)) < 1e-6


@given(costs_st, st.floats(0, 20), st.floats(1e-4, 1e5))
def test_target_is_the_worst_acceptable_price(costs, loss_pct, price):
    target = target_price(costs, loss_pct)
    assume(target > 0)
    net = net_result(costs, price)
    if crossed(costs.side, price, target):
        assert net >= -loss_pct / 100 - 1e-9
    else:
        assert net < -loss_pct / 100 + 1e-9


@given(policies(), costs_st, ages, st.floats(0.5, 2.0))
def test_long_and_short_are_mirror_images(policy, costs, age, move):
    """A long seeing the price move by factor m decides like a short seeing 1/m, fees aside."""
    long = PositionCosts(Side.LONG, costs.entry_price, costs.amount, 0.0, 0.0)
    short = PositionCosts(Side.SHORT, costs.entry_price, costs.amount, 0.0, 0.0)
    up = costs.entry_price * move
    down = costs.entry_price * (2 - move)
    d_long = decide(policy, long, age, up)
    d_short = decide(policy, short, age, down)
    assert d_long.stage == d_short.stage
    if d_long.target is not None:
        assert d_long.target - costs.entry_price == pytest.approx(
            costs.entry_price - d_short.target, rel=1e-9, abs=costs.entry_price * 1e-11
        )  # float error scales with the price, not with the (possibly small) distance to it
        assert d_long.exit_now == crossed(Side.LONG, up, d_long.target)
        assert d_short.exit_now == crossed(Side.SHORT, down, d_short.target)


@given(policies(), costs_st, ages, st.floats(1e-4, 1e6))
def test_forced_phase_exits_whatever_the_price(policy, costs, age, price):
    assume(policy.force_close_after is not None and age >= policy.force_close_after)
    decision = decide(policy, costs, age, price)
    assert decision.exit_now and decision.exit_reason == REASON_FORCE


@given(policies(), ages)
def test_next_change_age_is_in_the_future_and_changes_the_stage(policy, age):
    stage = stage_at(policy, age)
    if stage.next_change_age is not None:
        assert stage.next_change_age > age
        assert stage_at(policy, stage.next_change_age) != stage


def test_example_staircase():
    policy = AgedPolicy(
        max_age=24 * HOUR,
        grace_period=6 * HOUR,
        step_interval=HOUR,
        loss_step_pct=0.5,
        max_loss_pct=2.0,
        force_close_after=48 * HOUR,
    )
    assert stage_at(policy, 23.9 * HOUR).phase is AgedPhase.FRESH
    assert stage_at(policy, 24 * HOUR).exit_reason == REASON_GRACE
    assert stage_at(policy, 30 * HOUR).exit_reason == "aged_progressive_0.5pct"
    assert stage_at(policy, 32.5 * HOUR).exit_reason == "aged_progressive_1.5pct"
    assert stage_at(policy, 40 * HOUR).phase is AgedPhase.CAPPED
    assert stage_at(policy, 40 * HOUR).exit_reason == "aged_progressive_2.0pct"
    assert stage_at(policy, 48 * HOUR).exit_reason == REASON_FORCE


def test_funding_paid_raises_the_breakeven_of_a_long():
    base = PositionCosts(Side.LONG, 100.0, 10.0, 0.0005, 0.0005, 0.0)
    paid = PositionCosts(Side.LONG, 100.0, 10.0, 0.0005, 0.0005, -2.0)
    assert target_price(paid, 0.0) > target_price(base, 0.0) > 100.0
    assert net_result(paid, target_price(paid, 0.0)) >= 0


@settings(max_examples=50)
@given(costs_st)
def test_net_result_matches_freqtrade_profit_ratio(costs):
    """The core's result is freqtrade's own profit ratio divided by the leverage."""
    from freqtrade.enums import TradingMode
    from freqtrade.persistence import LocalTrade

    leverage = 3.0
    trade = LocalTrade(
        pair="BTC/USDT:USDT",
        open_rate=costs.entry_price,
        amount=costs.amount,
        stake_amount=costs.entry_price * costs.amount / leverage,
        fee_open=costs.fee_open,
        fee_close=costs.fee_close,
        is_short=costs.side is Side.SHORT,
        leverage=leverage,
        trading_mode=TradingMode.FUTURES,
        exchange="binance",
        open_date=__import__("datetime").datetime(2026, 1, 1),
    )
    for move in (0.9, 1.0, 1.05):
        price = costs.entry_price * move
        assert trade.calc_profit_ratio(price) / leverage == pytest.approx(net_result(costs, price), abs=1e-7)
