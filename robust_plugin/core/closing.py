"""Close attempts as a state machine: every attempt recorded, backoff by withholding, escalation.

The state is plain data kept in the trade's custom data (so a restart resumes it) and changed only
by the pure transitions below, which return the new state and the actions the adapter must carry
out (alerts, a look at the exchange position, escalation to chunks).
A lost response never leads to a second order: its attempt stays ``PLACING`` until the order is
found (``order_found_after_loss``) or known not to exist (``attempt_failed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum

from robust_plugin.core.advice import Advice
from robust_plugin.core.client_ids import BINANCE_RULE, IdRule, make_id
from robust_plugin.core.failures import Failure, FailurePolicy
from robust_plugin.core.retry import RetryPolicy, default_policy


class CloseStatus(str, Enum):
    IDLE = "idle"
    PLACING = "placing"  # an order was sent; its outcome is not known yet
    BACKING_OFF = "backing_off"
    VERIFYING = "verifying"  # look at the exchange position before any retry
    CHUNKING = "chunking"  # full closes gave up: partial exits sized from the market's limits
    CLOSED = "closed"
    GONE = "gone"  # the position was already gone on the exchange


class CloseType(str, Enum):
    FULL = "full"
    CHUNK = "chunk"


class PositionCheck(str, Enum):
    MATCH = "match"
    SMALLER = "smaller"
    LARGER = "larger"
    GONE = "gone"


@dataclass(frozen=True)
class ClosingConfig:
    max_full_attempts: int = 3
    alert_after_failures: int = 3
    retry: RetryPolicy = field(default_factory=default_policy)
    chunked_fallback: bool = True  # escalations close in chunks; without it they keep retrying full closes


@dataclass(frozen=True)
class CloseAttempt:
    number: int
    close_type: CloseType
    started_at: float
    amount: str
    client_order_id: str
    outcome: str = "pending"  # pending, filled, failed, found_after_loss
    failure_class: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "close_type": self.close_type.value,
            "started_at": self.started_at,
            "amount": self.amount,
            "client_order_id": self.client_order_id,
            "outcome": self.outcome,
            "failure_class": self.failure_class,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CloseAttempt:
        return cls(
            int(data["number"]),
            CloseType(data.get("close_type", "full")),
            float(data["started_at"]),
            str(data["amount"]),
            str(data["client_order_id"]),
            data.get("outcome", "pending"),
            data.get("failure_class"),
            data.get("error"),
        )


@dataclass(frozen=True)
class Notify:
    """Raise the alert ``advice`` (see :mod:`robust_plugin.core.advice`) about these facts."""

    advice: Advice
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyPosition:
    pass


@dataclass(frozen=True)
class Escalate:
    reason: str


Action = Notify | VerifyPosition | Escalate


@dataclass(frozen=True)
class CloseState:
    status: CloseStatus = CloseStatus.IDLE
    attempts: tuple[CloseAttempt, ...] = ()
    consecutive_failures: int = 0
    next_allowed_at: float | None = None
    alerted_at_failures: int = 0
    escalated_at: float | None = None
    smaller_since: float | None = None  # the position has been smaller than the trade since then
    smaller_escalated: bool = False  # and that wait was escalated (a critical alert)

    @property
    def last(self) -> CloseAttempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def full_failures(self) -> int:
        return sum(1 for a in self.attempts if a.close_type is CloseType.FULL and a.outcome == "failed")

    def to_dict(self) -> dict:
        return {
            "status": self.status.value,
            "attempts": [a.to_dict() for a in self.attempts[-20:]],
            "attempt_count": len(self.attempts) and self.attempts[-1].number,
            "consecutive_failures": self.consecutive_failures,
            "next_allowed_at": self.next_allowed_at,
            "alerted_at_failures": self.alerted_at_failures,
            "escalated_at": self.escalated_at,
            "smaller_since": self.smaller_since,
            "smaller_escalated": self.smaller_escalated,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> CloseState:
        if not data:
            return cls()
        try:
            status = CloseStatus(data.get("status", "idle"))
        except ValueError:
            raise ValueError(f"unknown close status {data.get('status')!r}") from None
        return cls(
            status,
            tuple(CloseAttempt.from_dict(a) for a in data.get("attempts", [])),
            int(data.get("consecutive_failures", 0)),
            data.get("next_allowed_at"),
            int(data.get("alerted_at_failures", 0)),
            data.get("escalated_at"),
            data.get("smaller_since"),
            bool(data.get("smaller_escalated", False)),
        )


def client_order_id(
    trade_id: int, attempt: int, close_type: CloseType, prefix: str = "rp", rule: IdRule = BINANCE_RULE
) -> str:
    """Deterministic client order id of one attempt (``<bot tag>-t<trade>-x<n>``; chunks ``-c<n>``),
    in the form ``rule`` allows."""
    return make_id(prefix, trade_id, "x" if close_type is CloseType.FULL else "c", attempt, rule)


def may_signal_exit(state: CloseState, now: float) -> bool:
    """May the plugin (or freqtrade) send a full close now? A full close waiting for its look at the
    position may, once its wait is over: that look happens before the order (``check_before_close``)."""
    if state.status is CloseStatus.BACKING_OFF or (
        state.status is CloseStatus.VERIFYING and not closing_in_chunks(state)
    ):
        return state.next_allowed_at is None or now >= state.next_allowed_at
    return state.status is CloseStatus.IDLE


def may_request_exit(state: CloseState, now: float) -> bool:
    """May ``custom_exit`` signal the exit, so freqtrade asks ``confirm_trade_exit``? As
    :func:`may_signal_exit`, and also while an attempt's outcome is unknown (``PLACING``): the
    confirmation looks that order up first and sends nothing while the lookup cannot tell, so a close
    left placing (a lost response, a bot killed mid-close) is never stuck."""
    if state.status is CloseStatus.CLOSED:  # ended, yet the trade is still open: look again once due
        return state.next_allowed_at is not None and now >= state.next_allowed_at
    return state.status is CloseStatus.PLACING or may_signal_exit(state, now)


def may_send_chunk(state: CloseState, now: float) -> bool:
    if state.status is not CloseStatus.CHUNKING:
        return False
    return state.next_allowed_at is None or now >= state.next_allowed_at


def start_attempt(
    state: CloseState,
    now: float,
    amount: Decimal | float,
    close_type: CloseType,
    trade_id: int,
    prefix: str = "rp",
    rule: IdRule = BINANCE_RULE,
) -> tuple[CloseState, CloseAttempt]:
    number = (state.last.number if state.last else 0) + 1
    cid = client_order_id(trade_id, number, close_type, prefix, rule)
    attempt = CloseAttempt(number, close_type, now, str(amount), cid)
    status = CloseStatus.CHUNKING if close_type is CloseType.CHUNK else CloseStatus.PLACING
    return replace(state, status=status, attempts=state.attempts + (attempt,), next_allowed_at=None), attempt


def _settle_last(state: CloseState, **changes) -> tuple[CloseAttempt, ...]:
    if not state.attempts:
        return state.attempts
    return state.attempts[:-1] + (replace(state.attempts[-1], **changes),)


def attempt_filled(state: CloseState, now: float, outcome: str = "filled") -> CloseState:
    """The last attempt's order filled. A full close ends; a chunk lets the next chunk go.

    A full close that ended while its trade stays open (freqtrade never recorded the fill: a bot killed
    before it saw the response, or a stop order on the exchange holding back freqtrade's recovery) is
    looked at again after ``CLOSED_RECHECK_S``: the close is never left silent."""
    attempts = _settle_last(state, outcome=outcome)
    chunk = state.last is not None and state.last.close_type is CloseType.CHUNK
    if chunk:
        return replace(
            state, status=CloseStatus.CHUNKING, attempts=attempts, consecutive_failures=0, next_allowed_at=None
        )
    return replace(
        state,
        status=CloseStatus.CLOSED,
        attempts=attempts,
        consecutive_failures=0,
        next_allowed_at=now + CLOSED_RECHECK_S,
    )


def order_found_after_loss(state: CloseState, now: float) -> CloseState:
    """The response was lost but the order exists: it counts as placed, never to be sent again."""
    return attempt_filled(state, now, outcome="found_after_loss")


def attempt_failed(
    state: CloseState, failure: Failure, now: float, config: ClosingConfig
) -> tuple[CloseState, tuple[Action, ...]]:
    """The last attempt failed: back off, look at the position first, or escalate.

    * every ``alert_after_failures`` consecutive failures: a warning (``CLOSE_FAILING``);
    * a failure whose policy is to escalate (limits), or ``max_full_attempts`` failed full closes:
      the close goes on in chunks, or, with ``chunked_fallback`` off, keeps retrying full closes;
    * once the retry policy stops (``max_attempts`` consecutive failures) the close is stuck: a full
      close escalates to chunks if it can; otherwise (already chunking, or no fallback) every
      ``max_attempts`` failures raise a critical alert (``CLOSE_STUCK``) and attempts go on at the
      longest wait. A close never ends in a quiet loop.
    """
    attempts = _settle_last(
        state, outcome="failed", failure_class=failure.failure_class.value, error=failure.message[:200]
    )
    failures = state.consecutive_failures + 1
    state = replace(state, attempts=attempts, consecutive_failures=failures)
    actions: list[Action] = []
    if failures % config.alert_after_failures == 0 and failures != state.alerted_at_failures:
        state = replace(state, alerted_at_failures=failures)
        actions.append(Notify(Advice.CLOSE_FAILING, _failure_facts(failures, failure)))
    chunk = state.last is not None and state.last.close_type is CloseType.CHUNK
    full_failures = state.full_failures
    wait = config.retry.wait(failures, failure)
    delay = config.retry.next_delay(failures, failure)
    stopped = config.retry.stop(failures)
    if not chunk and (failure.policy is FailurePolicy.ESCALATE or full_failures >= config.max_full_attempts or stopped):
        if failure.policy is FailurePolicy.ESCALATE:
            reason = "limits"
        elif stopped and full_failures < config.max_full_attempts:
            reason = f"{failures} failed attempts"
        else:
            reason = f"{full_failures} failed full closes"
        if config.chunked_fallback:
            state = replace(state, status=CloseStatus.CHUNKING, escalated_at=now, next_allowed_at=now + (delay or 0))
            actions += [Escalate(reason), Notify(Advice.CLOSE_CHUNKED, {"reason": reason})]
            return state, tuple(actions)
    if stopped:
        slowest = config.retry.wait(10**6, failure)  # the longest wait the policy allows
        status = CloseStatus.CHUNKING if chunk else CloseStatus.BACKING_OFF
        every = config.retry.attempts or failures
        if failures % every == 0:
            facts = {**_failure_facts(failures, failure), "wait_s": slowest, "max_attempts": every}
            actions.append(Notify(Advice.CLOSE_STUCK, facts))
        return replace(state, status=status, next_allowed_at=now + slowest), tuple(actions)
    if failure.policy is FailurePolicy.VERIFY_THEN_DECIDE:
        state = replace(
            state, status=CloseStatus.VERIFYING, next_allowed_at=now + (delay if delay is not None else wait)
        )
        return state, tuple(actions) + (VerifyPosition(),)
    status = CloseStatus.CHUNKING if chunk else CloseStatus.BACKING_OFF
    return replace(state, status=status, next_allowed_at=now + (delay if delay is not None else wait)), tuple(actions)


def _failure_facts(failures: int, failure: Failure) -> dict:
    return {
        "failures": failures,
        "attempts": failures,
        "failure_class": failure.failure_class.value,
        "error": failure.message[:120],
    }


SIZE_TOLERANCE = Decimal("0.001")  # relative: a position within 0.1 % of the trade's amount matches it
SMALLER_BACKOFF_S = 5.0  # a smaller position: wait for freqtrade to record the outside order, then close the rest
CLOSED_RECHECK_S = 20.0  # a close ended but its trade is still open this long after: look at the position again
SMALLER_ESCALATE_S = 60.0  # still smaller after this long: freqtrade is not recording it (a critical alert)


def size_tolerance(trade_amount: Decimal) -> Decimal:
    return abs(trade_amount) * SIZE_TOLERANCE


def position_seen(
    state: CloseState, exchange_amount: Decimal, trade_amount: Decimal, tolerance: Decimal, now: float
) -> tuple[CloseState, PositionCheck]:
    """Compare the exchange position with the trade before a close (or after a doubtful failure).

    A check that ends a wait for verification returns the close to where it was: chunking when the
    failed attempt was a chunk (so chunked closes never stall), backing off otherwise.
    """
    if exchange_amount <= 0:
        return replace(state, status=CloseStatus.GONE, next_allowed_at=None), PositionCheck.GONE
    if abs(exchange_amount - trade_amount) <= tolerance:
        check = PositionCheck.MATCH
    else:
        check = PositionCheck.SMALLER if exchange_amount < trade_amount else PositionCheck.LARGER
    if state.status is CloseStatus.VERIFYING:
        chunk = state.last is not None and state.last.close_type is CloseType.CHUNK
        state = replace(state, status=CloseStatus.CHUNKING if chunk else CloseStatus.BACKING_OFF)
    return state, check


class PreClose(str, Enum):
    """What a look at the exchange position means for a full close about to be sent."""

    SEND = "send"  # the position is there as the trade says: the close may go
    GONE = "gone"  # nothing to close: no order, the trade's exit is the exchange's to explain
    WAIT_SMALLER = "wait_smaller"  # reduced outside: wait for freqtrade to record it, then close the rest


def check_before_close(
    state: CloseState, exchange_amount: Decimal, trade_amount: Decimal, now: float
) -> tuple[CloseState, PositionCheck, PreClose]:
    """The last look before a full close: gone -> no order; smaller -> back off ``SMALLER_BACKOFF_S``
    (the attempt count is kept); larger or matching -> send (a larger position is reported, and the
    trade's amount is what freqtrade closes)."""
    state, check = position_seen(state, exchange_amount, trade_amount, size_tolerance(trade_amount), now)
    if check is PositionCheck.GONE:
        return state, check, PreClose.GONE
    if check is PositionCheck.SMALLER:
        since = state.smaller_since if state.smaller_since is not None else now
        waiting = replace(
            state, status=CloseStatus.BACKING_OFF, next_allowed_at=now + SMALLER_BACKOFF_S, smaller_since=since
        )
        return waiting, check, PreClose.WAIT_SMALLER
    return replace(state, smaller_since=None, smaller_escalated=False), check, PreClose.SEND


def closing_in_chunks(state: CloseState) -> bool:
    """The close escalated to chunks, or a refused chunk waits for its look at the position."""
    if state.status is CloseStatus.CHUNKING:
        return True
    return state.status is CloseStatus.VERIFYING and state.last is not None and state.last.close_type is CloseType.CHUNK


def verification_due(state: CloseState, now: float) -> bool:
    """A close waits for a look at the position (after a doubtful failure) and its wait is over."""
    return state.status is CloseStatus.VERIFYING and (state.next_allowed_at is None or now >= state.next_allowed_at)
