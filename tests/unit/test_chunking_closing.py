"""Chunk plans within market limits, and the close-attempt state machine."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from robust_plugin.core import closing as core
from robust_plugin.core.advice import Advice
from robust_plugin.core.chunking import MarketLimits, amount_for_stake, minimum_chunk, plan_chunks, stake_for_amount
from robust_plugin.core.failures import Failure, FailureClass

STEPS = [Decimal("0.001"), Decimal("0.01"), Decimal("0.1"), Decimal("1")]


@st.composite
def markets(draw):
    step = draw(st.sampled_from(STEPS))
    price = Decimal(draw(st.integers(1, 100_000))) / Decimal(draw(st.sampled_from([1, 100, 10_000])))
    min_qty = step * draw(st.integers(1, 5))
    cap = step * draw(st.integers(5, 5000))
    notional = draw(st.sampled_from([None, Decimal(5), Decimal(100)]))
    return price, MarketLimits(step, min_qty, cap * 10, cap, notional)


@given(markets(), st.integers(0, 10**7))
def test_chunks_add_up_and_each_fits_the_limits(market, units):
    price, limits = market
    amount = limits.step * Decimal(units) / Decimal(7)  # not always on the grid
    low = minimum_chunk(price, limits)
    assume(low <= limits.market_max_qty)
    plan = plan_chunks(amount, price, limits)
    assert sum(plan.chunks, Decimal(0)) == plan.total
    assert plan.total + plan.unclosable == amount and plan.unclosable < limits.step
    for i, chunk in enumerate(plan.chunks):
        assert chunk > 0 and chunk % limits.step == 0
        assert chunk <= limits.market_max_qty
        last = i == len(plan.chunks) - 1
        if not plan.below_minimum and not (last and plan.last_below_minimum):
            assert chunk >= low
    if plan.last_below_minimum:  # only when no even split exists
        assert plan.total / len(plan.chunks) < low or (plan.total / len(plan.chunks)) // limits.step * limits.step < low
    assert list(plan.chunks) == sorted(plan.chunks, reverse=True)


def test_a_remainder_below_the_minimum_is_not_left_behind():
    limits = MarketLimits(Decimal("0.001"), Decimal("0.001"), Decimal(1000), Decimal("0.004"), Decimal(150))
    plan = plan_chunks(Decimal("0.009"), Decimal(60000), limits)  # greedy 0.004+0.004+0.001 would strand 0.001
    assert plan.chunks == (Decimal("0.003"),) * 3 and plan.dust_folded == Decimal("0.001")


@given(st.sampled_from(STEPS), st.integers(1, 10**6), st.integers(1, 10**6), st.floats(0.5, 500))
def test_stake_for_amount_round_trips_through_freqtrades_conversion(step, chunk_units, extra_units, stake):
    chunk = step * chunk_units
    trade_amount = chunk + step * extra_units
    trade_stake = Decimal(repr(stake))
    got = amount_for_stake(stake_for_amount(chunk, trade_amount, trade_stake, step), trade_amount, trade_stake, step)
    assert got == chunk


CONFIG = core.ClosingConfig(max_full_attempts=3, alert_after_failures=3)
NETWORK = Failure(FailureClass.NETWORK, -1001, "x", None, "OperationFailed")


def test_client_order_ids_are_deterministic_and_binance_safe():
    cid = core.client_order_id(42, 3, core.CloseType.FULL, "my bot!")
    assert cid == core.client_order_id(42, 3, core.CloseType.FULL, "my bot!") == "mybot-t42-x3"
    assert core.client_order_id(42, 4, core.CloseType.CHUNK) == "rp-t42-c4" and len(cid) <= 36


@given(st.lists(st.sampled_from(["start", "fail_net", "fail_margin", "fill", "wait", "seen"]), max_size=40))
def test_no_exit_is_ever_allowed_while_an_order_is_placing(ops):
    state, now = core.CloseState(), 0.0
    for op in ops:
        now += 1
        if op == "start" and core.may_signal_exit(state, now):
            state, _ = core.start_attempt(state, now, Decimal(1), core.CloseType.FULL, 1)
            assert not core.may_signal_exit(state, now)
        elif op == "fail_net" and state.status is core.CloseStatus.PLACING:
            state, _ = core.attempt_failed(state, NETWORK, now, CONFIG)
        elif op == "fail_margin" and state.status is core.CloseStatus.PLACING:
            state, _ = core.attempt_failed(
                state, Failure(FailureClass.INSUFFICIENT_MARGIN, -2019, "m", None, "X"), now, CONFIG
            )
        elif op == "fill" and state.status is core.CloseStatus.PLACING:
            state = core.attempt_filled(state, now)
        elif op == "seen":
            state, _ = core.position_seen(state, Decimal(1), Decimal(1), Decimal("0.001"), now)
        elif op == "wait":
            now += 1000
        if state.status is core.CloseStatus.PLACING:
            assert not core.may_signal_exit(state, now)  # no new order while one's outcome is unknown
            assert core.may_request_exit(state, now)  # but confirm_trade_exit runs, to look it up
        elif state.status is core.CloseStatus.CLOSED:  # ended: looked at again only if the trade stays open
            assert not core.may_signal_exit(state, now)
            assert core.may_request_exit(state, now) == (now >= state.next_allowed_at)
        else:
            assert core.may_request_exit(state, now) == core.may_signal_exit(state, now)
        assert core.CloseState.from_dict(state.to_dict()).status is state.status


def test_alerts_fire_at_the_configured_count_and_not_in_between():
    state, alerts, now = core.CloseState(), [], 0.0
    for _ in range(7):
        now += 1000
        state, _ = core.start_attempt(replace_status(state), now, Decimal(1), core.CloseType.CHUNK, 1)
        state, actions = core.attempt_failed(state, NETWORK, now, CONFIG)
        alerts += [a for a in actions if isinstance(a, core.Notify) and a.advice is Advice.CLOSE_FAILING]
    assert len(alerts) == 2  # at 3 and at 6 consecutive failures


def replace_status(state):
    return core.CloseState(
        core.CloseStatus.CHUNKING, state.attempts, state.consecutive_failures, None, state.alerted_at_failures
    )


def test_full_closes_escalate_after_max_attempts_and_limits_escalate_at_once():
    state, now = core.CloseState(), 0.0
    for _ in range(3):
        now += 100
        state, _ = core.start_attempt(
            core.CloseState(core.CloseStatus.IDLE, state.attempts, state.consecutive_failures),
            now,
            Decimal(1),
            core.CloseType.FULL,
            7,
        )
        state, actions = core.attempt_failed(state, NETWORK, now, CONFIG)
    assert state.status is core.CloseStatus.CHUNKING and any(isinstance(a, core.Escalate) for a in actions)
    limits = Failure(FailureClass.LIMITS, -4005, "too big", None, "BadRequest")
    fresh, _ = core.start_attempt(core.CloseState(), 1, Decimal(1), core.CloseType.FULL, 8)
    fresh, actions = core.attempt_failed(fresh, limits, 1, CONFIG)
    assert fresh.status is core.CloseStatus.CHUNKING and any(isinstance(a, core.Escalate) for a in actions)


def test_a_lost_response_whose_order_exists_counts_as_placed():
    state, _ = core.start_attempt(core.CloseState(), 1, Decimal(1), core.CloseType.FULL, 9)
    state = core.order_found_after_loss(state, 2)
    assert state.status is core.CloseStatus.CLOSED and state.last.outcome == "found_after_loss"


def test_position_checks_before_a_close():
    state = core.CloseState(core.CloseStatus.VERIFYING)
    assert core.position_seen(state, Decimal(0), Decimal(1), Decimal("0.001"), 1)[1] is core.PositionCheck.GONE
    after, check = core.position_seen(state, Decimal("0.5"), Decimal(1), Decimal("0.001"), 1)
    assert check is core.PositionCheck.SMALLER and after.status is core.CloseStatus.BACKING_OFF
    assert core.position_seen(state, Decimal(2), Decimal(1), Decimal("0.001"), 1)[1] is core.PositionCheck.LARGER


MARGIN = Failure(FailureClass.INSUFFICIENT_MARGIN, -2019, "margin", None, "InsufficientFunds")
REJECTED = Failure(FailureClass.POSITION_REJECTED, -2022, "reduce only", None, "InvalidOrder")
UNITS = st.integers(0, 2000).map(lambda n: Decimal(n) / 100)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["chunk", "fail_margin", "fail_rejected", "fail_net", "fill", "look", "wait"]), UNITS
        ),
        max_size=60,
    )
)
def test_a_chunked_close_never_stalls_waiting_for_a_position_check(ops):
    """After a doubtful chunk failure the close waits for one look at the position; that look always
    hands it back to chunking (or ends it when the position is gone) - it never stays stuck."""
    state, now = core.CloseState(core.CloseStatus.CHUNKING, escalated_at=0.0), 0.0
    for op, seen in ops:
        now += 1
        if op == "chunk" and core.may_send_chunk(state, now):
            state, _ = core.start_attempt(state, now, Decimal(1), core.CloseType.CHUNK, 1)
        elif op.startswith("fail") and state.last and state.last.outcome == "pending":
            failure = {"fail_margin": MARGIN, "fail_rejected": REJECTED, "fail_net": NETWORK}[op]
            state, actions = core.attempt_failed(state, failure, now, CONFIG)
            assert (state.status is core.CloseStatus.VERIFYING) == any(
                isinstance(a, core.VerifyPosition) for a in actions
            )
        elif op == "fill" and state.last and state.last.outcome == "pending":
            state = core.attempt_filled(state, now)
        elif op == "look" and core.verification_due(state, now):
            state, check = core.position_seen(state, seen, Decimal(10), core.size_tolerance(Decimal(10)), now)
            expected = core.CloseStatus.GONE if seen <= 0 else core.CloseStatus.CHUNKING
            assert state.status is expected and (check is core.PositionCheck.GONE) == (seen <= 0)
        elif op == "wait":
            now += 1000
        assert state.status in (core.CloseStatus.CHUNKING, core.CloseStatus.VERIFYING, core.CloseStatus.GONE)
        assert core.closing_in_chunks(state) == (state.status is not core.CloseStatus.GONE)  # the chunk path keeps it
        if state.status is core.CloseStatus.VERIFYING:
            assert core.verification_due(state, now + 10_000)  # a look is always due eventually


@given(UNITS, st.integers(1, 2000).map(lambda n: Decimal(n) / 100), st.floats(0, 1e6))
def test_the_last_look_before_a_full_close(exchange, trade, now):
    state, check, decision = core.check_before_close(core.CloseState(), exchange, trade, now)
    assert not core.closing_in_chunks(state)  # a full close's checks never hand it to the chunk path
    if exchange <= 0:
        assert decision is core.PreClose.GONE and state.status is core.CloseStatus.GONE
        assert not core.may_signal_exit(state, now + 1e9)  # no order for a position that is not there
    elif exchange < trade - core.size_tolerance(trade):
        assert decision is core.PreClose.WAIT_SMALLER and check is core.PositionCheck.SMALLER
        assert not core.may_signal_exit(state, now + core.SMALLER_BACKOFF_S / 2)
        assert core.may_signal_exit(state, now + core.SMALLER_BACKOFF_S)
    else:
        assert decision is core.PreClose.SEND and state.status is core.CloseStatus.IDLE
        assert check is (
            core.PositionCheck.LARGER if exchange > trade + core.size_tolerance(trade) else core.PositionCheck.MATCH
        )


def test_a_full_close_refused_for_margin_is_signalled_again_once_its_wait_is_over():
    # the look at the position happens in the pre-close check; withholding the exit until then stalled the close
    state, _ = core.start_attempt(core.CloseState(), 0.0, Decimal(1), core.CloseType.FULL, 1)
    state, _ = core.attempt_failed(state, MARGIN, 0.0, CONFIG)
    assert state.status is core.CloseStatus.VERIFYING
    wait = state.next_allowed_at or 0.0
    assert core.may_signal_exit(state, wait + 1)
    state, check, decision = core.check_before_close(state, Decimal(1), Decimal(1), wait + 1)
    assert decision is core.PreClose.SEND
    chunk, _ = core.start_attempt(core.CloseState(), 0.0, Decimal(1), core.CloseType.CHUNK, 1)
    chunk, _ = core.attempt_failed(chunk, MARGIN, 0.0, CONFIG)
    assert not core.may_signal_exit(chunk, 1e9)  # a refused chunk is verified on the chunk path, never as a full close
