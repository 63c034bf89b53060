"""The close decisions (pure): what each callback does with its facts, and ``closing.max_attempts``."""

from __future__ import annotations

from decimal import Decimal

from robust_plugin.core import close_decisions as decide
from robust_plugin.core import closing as core
from robust_plugin.core.advice import Advice, severity_of
from robust_plugin.core.exchange_reports import OrderLookup, OrderReport, OrderState
from robust_plugin.core.failures import Failure, FailureClass
from robust_plugin.core.kinds import EventKind, Severity
from robust_plugin.core.retry import default_policy

NETWORK = Failure(FailureClass.NETWORK, None, "timed out", None, "RequestTimeout")


def config(max_attempts: int, chunked_fallback: bool = False, max_full_attempts: int = 1000) -> core.ClosingConfig:
    return core.ClosingConfig(
        max_full_attempts=max_full_attempts,
        alert_after_failures=3,
        retry=default_policy(max_attempts, 2.0, 300.0),
        chunked_fallback=chunked_fallback,
    )


def fail_forever(cfg: core.ClosingConfig, failures: int) -> tuple[core.CloseState, list, list[float]]:
    """A full close that fails every time it is allowed to go, as freqtrade would retry it."""
    state, now, actions, waits = core.CloseState(), 0.0, [], []
    for _ in range(failures):
        now = max(now, state.next_allowed_at or 0.0)
        facts = decide.ExitFacts(1, Decimal(1), "aged_force", now, Decimal(1))
        decision = decide.confirm_exit(state, facts, cfg)
        assert decision.send, state
        state, done = core.attempt_failed(decision.state, NETWORK, now, cfg)
        actions += done
        waits.append((state.next_allowed_at or now) - now)
    return state, actions, waits


def stuck_alerts(actions) -> list:
    return [a for a in actions if isinstance(a, core.Notify) and a.advice is Advice.CLOSE_STUCK]


def test_max_attempts_ends_in_a_critical_alert_and_the_slowest_pace():
    """README: after max_attempts consecutive failures the close is stuck: a critical alert (repeated
    every max_attempts failures) and attempts at backoff_max. Before, the key changed nothing."""
    _, actions, waits = fail_forever(config(max_attempts=3), 9)
    assert len(stuck_alerts(actions)) == 3  # at 3, 6 and 9 failures
    assert severity_of(Advice.CLOSE_STUCK) is Severity.CRITICAL
    assert waits[:2] == [2.0, 4.0] and waits[2:] == [300.0] * 7  # backoff, then the longest wait


def test_a_larger_max_attempts_keeps_backing_off_quietly_for_longer():
    _, small, _ = fail_forever(config(max_attempts=3), 9)
    _, large, waits = fail_forever(config(max_attempts=1000), 9)
    assert stuck_alerts(small) and not stuck_alerts(large)
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0]


def test_with_chunked_fallback_max_attempts_escalates_a_full_close_to_chunks():
    state, actions, _ = fail_forever(config(max_attempts=4, chunked_fallback=True), 4)
    assert state.status is core.CloseStatus.CHUNKING
    assert any(isinstance(a, core.Notify) and a.advice is Advice.CLOSE_CHUNKED for a in actions)


def placing(trade_id: int = 7) -> core.CloseState:
    state, _ = core.start_attempt(core.CloseState(), 1.0, Decimal(1), core.CloseType.FULL, trade_id, "bot")
    return state


def report(state: OrderState, filled: float) -> OrderReport:
    return OrderReport("BTC/USDT:USDT", "9", "bot-t7-x1", "sell", state, 1.0, filled)


def test_a_lost_response_found_cancelled_without_a_fill_lets_the_close_go_on():
    """The found order's status decides: a limit exit freqtrade cancelled for not filling is not a close."""
    decision = decide.resolve_lost(placing(), OrderLookup.found(report(OrderState.CANCELED, 0.0)), 5.0, config(10))
    assert decision.send and decision.state.status is core.CloseStatus.IDLE
    assert decision.state.last.outcome == "ended_canceled"
    assert not any(
        isinstance(e, decide.Record) and e.kind is EventKind.CLOSE_FOUND_AFTER_LOSS for e in decision.effects
    )


def test_a_lost_response_found_filled_counts_as_placed_and_sends_nothing():
    decision = decide.resolve_lost(placing(), OrderLookup.found(report(OrderState.FILLED, 1.0)), 5.0, config(10))
    assert not decision.send and decision.state.status is core.CloseStatus.CLOSED
    assert [e.kind for e in decision.effects] == [EventKind.CLOSE_FOUND_AFTER_LOSS]


def test_a_close_found_filled_that_freqtrade_never_records_is_looked_at_again_and_said():
    """A bot killed mid-close: after the restart the order is found filled, but freqtrade never records
    it (its recovery is skipped while a stop order is open), so the trade stays open. Before, the close
    was ``closed`` for good and ``custom_exit`` stayed silent forever; now it is looked at again and a
    position that is gone raises the alert that says how to make freqtrade record it."""
    found = decide.resolve_lost(placing(), OrderLookup.found(report(OrderState.FILLED, 1.0)), 5.0, config(10))
    assert not core.may_request_exit(found.state, 5.0 + core.CLOSED_RECHECK_S - 1)
    assert core.may_request_exit(found.state, 5.0 + core.CLOSED_RECHECK_S)
    later = 5.0 + core.CLOSED_RECHECK_S
    decision = decide.confirm_exit(
        found.state, decide.ExitFacts(7, Decimal(1), "aged_force", later, Decimal(0)), config(10)
    )
    assert not decision.send
    assert [e.advice for e in decision.effects if isinstance(e, core.Notify)] == [Advice.POSITION_GONE]


def test_a_lost_response_still_resting_is_looked_up_again_and_never_sent_twice():
    """A limit close placed just before the bot was killed rests on the exchange, unknown to freqtrade:
    its unfilled timeout never cancels it, so the close would wait in silence. The trader is told."""
    decision = decide.resolve_lost(placing(), OrderLookup.found(report(OrderState.OPEN, 0.0)), 5.0, config(10))
    assert not decision.send and decision.state.status is core.CloseStatus.PLACING
    [notify] = [e for e in decision.effects if isinstance(e, core.Notify)]
    assert notify.advice is Advice.CLOSE_ORDER_RESTING and notify.facts["client_order_id"]


def test_a_failed_lookup_sends_nothing_and_no_such_order_is_a_failure():
    assert not decide.resolve_lost(placing(), OrderLookup.failed("timeout"), 5.0, config(10)).send
    missing = decide.resolve_lost(placing(), OrderLookup.not_found(), 5.0, config(10))
    assert missing.send and missing.state.consecutive_failures == 1 and missing.state.last.outcome == "failed"


def test_a_stop_loss_never_waits_behind_a_backoff():
    state = core.CloseState(core.CloseStatus.BACKING_OFF, placing().attempts, 1, next_allowed_at=300.0)
    aged = decide.confirm_exit(state, decide.ExitFacts(7, Decimal(1), "aged_force", 10.0, Decimal(1)), config(10))
    stop = decide.confirm_exit(state, decide.ExitFacts(7, Decimal(1), "stop_loss", 10.0, Decimal(1)), config(10))
    assert not aged.send and stop.send and stop.attempt.number == 2


def test_a_stop_loss_still_sends_nothing_for_a_position_that_is_gone():
    state = core.CloseState(core.CloseStatus.BACKING_OFF, placing().attempts, 1, next_allowed_at=300.0)
    gone = decide.confirm_exit(state, decide.ExitFacts(7, Decimal(1), "stop_loss", 10.0, Decimal(0)), config(10))
    assert not gone.send and gone.state.status is core.CloseStatus.GONE


def test_each_alert_has_one_severity_in_one_table():
    from robust_plugin.core.advice import TABLE, message

    assert set(TABLE) == set(Advice)
    text = message(Advice.POSITION_GONE, {"trade_id": 12})
    assert "/reload_trade 12" in text.you_should
    assert message(Advice.CLOSE_STUCK, {}).happened.startswith("?")  # a missing fact never breaks an alert


def test_a_smaller_position_is_said_once_and_a_wait_that_never_ends_escalates_once():
    """Issue: with the stop-loss on the exchange freqtrade never records an outside reduction, and the
    close waited for ever, with an alert every loop."""
    state, now, effects = core.CloseState(), 0.0, []
    while now < 200:
        facts = decide.ExitFacts(3, Decimal("0.009"), "aged_force", now, Decimal("0.005"))
        decision = decide.confirm_exit(state, facts, config(10))
        assert not decision.send
        state, effects = decision.state, effects + list(decision.effects)
        now = max(now + 1, state.next_allowed_at or 0)
    notes = [e.advice for e in effects if isinstance(e, core.Notify)]
    assert notes == [Advice.POSITION_SMALLER, Advice.POSITION_SMALLER_STUCK]
    assert severity_of(Advice.POSITION_SMALLER_STUCK) is Severity.CRITICAL
    assert [e.kind for e in effects if isinstance(e, decide.Record)] == [
        EventKind.SIZE_MISMATCH,
        EventKind.CLOSE_HELD_SMALLER,
    ]
    # once freqtrade records the change, the close goes, and a later wait is said afresh
    matched = decide.confirm_exit(
        state, decide.ExitFacts(3, Decimal("0.005"), "aged_force", now, Decimal("0.005")), config(10)
    )
    assert matched.send and matched.state.smaller_since is None


def test_a_smaller_position_with_the_stop_on_the_exchange_is_closed_at_once():
    """Issue 15: with a stop order resting on the exchange freqtrade skips its recovery of outside
    orders, so waiting for it never ends (41 denied exits, no close). The close goes at once (its
    reduce-only order closes what is there) and the reduction is said once."""
    facts = decide.ExitFacts(3, Decimal("0.009"), "aged_force", 10.0, Decimal("0.005"), stop_open=True)
    decision = decide.confirm_exit(core.CloseState(), facts, config(10))
    assert decision.send and decision.state.status is core.CloseStatus.PLACING
    assert [e.advice for e in decision.effects if isinstance(e, core.Notify)] == [Advice.POSITION_SMALLER]
    assert decision.state.smaller_since is None


def chunk_sent() -> core.CloseState:
    state = core.CloseState(core.CloseStatus.CHUNKING)
    state, _ = core.start_attempt(state, 1.0, Decimal(1), core.CloseType.CHUNK, 7, "bot")
    return state


def test_a_pending_chunk_whose_order_never_existed_fails_and_one_that_ended_lets_the_next_go():
    missing = decide.resolve_chunk(chunk_sent(), OrderLookup.not_found(), 5.0, config(10, chunked_fallback=True))
    assert missing.state.last.outcome == "failed" and missing.state.consecutive_failures == 1
    assert not decide.chunk_pending(missing.state)
    unguarded = decide.resolve_chunk(chunk_sent(), None, 5.0, config(10, chunked_fallback=True))
    assert unguarded.state.last.outcome == "ended" and core.may_send_chunk(unguarded.state, 5.0)
    cancelled = OrderLookup.found(report(OrderState.CANCELED, 0.0))
    ended = decide.resolve_chunk(chunk_sent(), cancelled, 5.0, config(10, chunked_fallback=True))
    assert ended.state.last.outcome == "ended_canceled" and core.may_send_chunk(ended.state, 5.0)
    unchanged = decide.resolve_chunk(chunk_sent(), OrderLookup.failed("timeout"), 5.0, config(10))
    assert decide.chunk_pending(unchanged.state) and not unchanged.effects
