"""What the close desk does in each freqtrade callback, decided from plain facts.

The desk gathers facts (the trade's amount, the exchange position from freqtrade's wallet sync, the
market's limits, a lookup by client order id, an order outcome from the order guard), calls one of
these functions, and carries out the answer: the new :class:`~robust_plugin.core.closing.CloseState`,
whether an order may go, and the effects (events to record, alerts to raise). The desk never builds a
close state itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from robust_plugin.core import closing as c
from robust_plugin.core.advice import Advice, severity_of
from robust_plugin.core.chunking import MarketLimits, plan_chunks, stake_for_amount
from robust_plugin.core.client_ids import BINANCE_RULE, IdRule
from robust_plugin.core.exchange_reports import LookupStatus, OrderLookup, OrderReport, OrderState
from robust_plugin.core.failures import Failure, FailureClass
from robust_plugin.core.kinds import EventKind, Severity


@dataclass(frozen=True)
class Record:
    """Write this event to the plugin's store."""

    kind: EventKind
    data: dict = field(default_factory=dict)
    severity: Severity = Severity.INFO


Effect = Record | c.Notify


@dataclass(frozen=True)
class Decision:
    """The new close state, whether an order may go now, and what to record and raise."""

    state: c.CloseState
    send: bool = False
    attempt: c.CloseAttempt | None = None
    effects: tuple[Effect, ...] = ()
    stake: Decimal | None = None  # a chunk's stake, for freqtrade's (-stake, tag)


@dataclass(frozen=True)
class ExitFacts:
    """What ``confirm_trade_exit`` knows about a full close freqtrade is about to place."""

    trade_id: int
    amount: Decimal  # the trade's amount: what freqtrade closes
    exit_reason: str
    now: float
    exchange_amount: Decimal | None  # the position freqtrade's wallet sync saw; None = not known
    market_max: float | None = None  # the largest market order
    settling: bool = False  # an entry of this trade is still being verified
    prefix: str = "rp"
    id_rule: IdRule = BINANCE_RULE
    stop_open: bool = False  # a stop order of this trade rests on the exchange (freqtrade skips its recovery)

    @property
    def protective(self) -> bool:
        """A stop-loss, liquidation-avoiding, emergency or forced exit: it never waits behind a backoff."""
        return self.exit_reason in PROTECTIVE_EXITS


PROTECTIVE_EXITS = frozenset(
    {"stop_loss", "stoploss_on_exchange", "trailing_stop_loss", "liquidation", "emergency_exit", "force_exit"}
)
"""freqtrade's exit types that protect the account (its ``ExitType`` values)."""


def _notify(advice: Advice, **facts) -> c.Notify:
    return c.Notify(advice, facts)


def confirm_exit(state: c.CloseState, facts: ExitFacts, config: c.ClosingConfig) -> Decision:
    """May freqtrade place this full close now? (A close left ``PLACING`` is resolved first, by
    :func:`resolve_lost`.)"""
    now = facts.now
    if facts.settling and not facts.exchange_amount:
        # the entry's position is not visible yet: not "gone" - settlement says what happened
        record = Record(EventKind.CLOSE_DEFERRED, {"reason": "entry not settled yet", "exit_reason": facts.exit_reason})
        return Decision(state, effects=(record,))
    if state.status is c.CloseStatus.PLACING:
        return Decision(state)  # its order must be looked up first: nothing goes meanwhile
    if state.status is c.CloseStatus.GONE:
        if not facts.exchange_amount:
            return Decision(state)  # still gone: no order, no repeated alert
        state = c.CloseState(c.CloseStatus.IDLE, state.attempts)  # it is back (a flapping view)
    if state.status is c.CloseStatus.CLOSED:
        state = c.CloseState()  # a new close after a finished one (e.g. after a re-entry)
    if c.closing_in_chunks(state):
        return Decision(state)
    if not c.may_signal_exit(state, now):
        if not (facts.protective and state.status in (c.CloseStatus.BACKING_OFF, c.CloseStatus.VERIFYING)):
            return Decision(state)
        # a stop-loss (or liquidation-avoiding) exit goes now; the look at the position below still applies
    effects: list[Effect] = []
    if facts.exchange_amount is not None:
        before = state
        state, check, pre = c.check_before_close(state, facts.exchange_amount, facts.amount, now)
        if pre is c.PreClose.WAIT_SMALLER and not facts.stop_open:
            return _wait_smaller(before, state, facts)
        if pre is c.PreClose.WAIT_SMALLER:
            # freqtrade never records the outside order while its stop rests on the exchange: a wait
            # would never end. The close goes now; its reduce-only order closes what is there.
            state, pre = replace(state, next_allowed_at=None, smaller_since=None), c.PreClose.SEND
        if check is not c.PositionCheck.MATCH:
            effects += _mismatch(facts.trade_id, check, facts.amount, facts.exchange_amount, facts.exit_reason)
        if pre is not c.PreClose.SEND:
            return Decision(state, effects=tuple(effects))
    if facts.market_max and float(facts.amount) > facts.market_max and config.chunked_fallback:
        state = replace(state, status=c.CloseStatus.CHUNKING, next_allowed_at=None, escalated_at=now)
        reason = f"the position ({facts.amount}) is above the market-order maximum ({facts.market_max})"
        data = {"reason": "above_market_max", "amount": float(facts.amount), "market_max": facts.market_max}
        effects += [
            Record(EventKind.CLOSE_ESCALATED, data, Severity.WARNING),
            _notify(Advice.CLOSE_CHUNKED, reason=reason),
        ]
        return Decision(state, effects=tuple(effects))
    state, attempt = c.start_attempt(
        state, now, facts.amount, c.CloseType.FULL, facts.trade_id, facts.prefix, facts.id_rule
    )
    effects.append(Record(EventKind.CLOSE_ATTEMPT, {**attempt.to_dict(), "exit_reason": facts.exit_reason}))
    return Decision(state, send=True, attempt=attempt, effects=tuple(effects))


def _wait_smaller(before: c.CloseState, state: c.CloseState, facts: ExitFacts) -> Decision:
    """The position is smaller than the trade: wait for freqtrade to record the outside order. Said
    once when the wait starts; a wait that outlasts ``SMALLER_ESCALATE_S`` (freqtrade does not record
    it, e.g. while a stop order is open on the exchange) escalates to a critical alert, once."""
    effects: list[Effect] = []
    if before.smaller_since is None:
        effects += _mismatch(
            facts.trade_id, c.PositionCheck.SMALLER, facts.amount, facts.exchange_amount, facts.exit_reason
        )
    elif not state.smaller_escalated and state.smaller_since is not None:
        waited = facts.now - state.smaller_since
        if waited >= c.SMALLER_ESCALATE_S:
            state = replace(state, smaller_escalated=True)
            data = {
                "reason": "position smaller than the trade",
                "waited_s": waited,
                "trade_amount": float(facts.amount),
                "exchange_amount": float(facts.exchange_amount or 0),
            }
            effects += [
                Record(EventKind.CLOSE_HELD_SMALLER, data, Severity.CRITICAL),
                _notify(Advice.POSITION_SMALLER_STUCK, trade_id=facts.trade_id, **data),
            ]
    return Decision(state, effects=tuple(effects))


def _mismatch(trade_id: int, check: c.PositionCheck, amount, exchange_amount, reason: str) -> list[Effect]:
    gone = check is c.PositionCheck.GONE
    data = {
        "trade_amount": float(amount),
        "exchange_amount": float(exchange_amount),
        "check": check.value,
        "exit_reason": reason,
    }
    effects: list[Effect] = [
        Record(EventKind.CLOSE_SKIPPED_GONE if gone else EventKind.SIZE_MISMATCH, data, Severity.WARNING)
    ]
    if gone:
        effects.append(_notify(Advice.POSITION_GONE, trade_id=trade_id))
    elif check is c.PositionCheck.SMALLER:
        effects.append(
            _notify(Advice.POSITION_SMALLER, exchange_amount=float(exchange_amount), trade_amount=float(amount))
        )
    return effects


def lost_response_failure(client_order_id: str) -> Failure:
    """The failure of an attempt whose response was lost and whose order does not exist."""
    return Failure(
        FailureClass.NETWORK, None, f"order {client_order_id} was not placed (response lost)", None, "LostResponse"
    )


def resting_exit(state: c.CloseState, protective: bool) -> Decision:
    """freqtrade asks for an exit while its own exit order of this close rests (a new exit reason,
    such as the next aged step): it would cancel that order and place another. A protective exit goes
    (its order replaces the resting one, which freqtrade cancels first); any other waits, quietly, for
    freqtrade's unfilled timeout. No lookup: freqtrade knows this order."""
    if not protective:
        return Decision(state)
    attempts = c._settle_last(state, outcome="replaced")
    return Decision(replace(state, status=c.CloseStatus.IDLE, attempts=attempts, next_allowed_at=None), send=True)


def resolve_lost(state: c.CloseState, lookup: OrderLookup | None, now: float, config: c.ClosingConfig) -> Decision:
    """An attempt whose outcome stayed unknown (``PLACING``), after a look by its client order id.

    ``send`` here means: the close may go on to :func:`confirm_exit` in this same callback.

    * the lookup failed: nothing is known, nothing is sent (never a second order);
    * the order filled, or partly filled before it ended: it counts as placed; freqtrade records the
      exchange's exit through its own recovery;
    * the order rests on the exchange: it stays ``PLACING``, is looked up again next time, and the
      trader is told (freqtrade does not know that order, so its unfilled timeout never cancels it);
    * the order ended without a fill (cancelled, expired, rejected): the attempt ended, the close may go;
    * no such order: the attempt failed (a lost response that never became an order); the close may go.
    """
    attempt = state.last
    if attempt is None or lookup is None:  # nothing to look up (or no guard): start afresh
        return Decision(c.CloseState(c.CloseStatus.IDLE, state.attempts), send=True)
    if lookup.status is LookupStatus.FAILED:
        return Decision(state)
    if lookup.status is LookupStatus.FOUND and lookup.order is not None:
        order = lookup.order
        data = {"client_order_id": attempt.client_order_id, "status": order.state.value, "filled": order.filled}
        if order.executed:
            state = c.order_found_after_loss(state, now)
            return Decision(state, effects=(Record(EventKind.CLOSE_FOUND_AFTER_LOSS, data),))
        if order.state is OrderState.OPEN:  # never a second order; say so (the alerter spaces repeats)
            return Decision(state, effects=(c.Notify(Advice.CLOSE_ORDER_RESTING, data),))
        state = replace(
            state,
            status=c.CloseStatus.IDLE,
            attempts=c._settle_last(state, outcome=f"ended_{order.state.value}"),
            next_allowed_at=None,
        )
        return Decision(state, send=True, effects=(Record(EventKind.CLOSE_FAILED, {**data, "outcome": "ended"}),))
    failure = lost_response_failure(attempt.client_order_id)
    failed, actions = c.attempt_failed(state, failure, now, config)
    state = c.CloseState(
        c.CloseStatus.IDLE, failed.attempts, failed.consecutive_failures, None, failed.alerted_at_failures
    )
    return Decision(state, send=True, effects=_carry(actions))


def _carry(actions) -> tuple[Effect, ...]:
    effects: list[Effect] = []
    for action in actions:
        if isinstance(action, c.Notify):
            if action.advice is Advice.CLOSE_STUCK:
                effects.append(Record(EventKind.CLOSE_STUCK, dict(action.facts), Severity.CRITICAL))
            effects.append(action)
        elif isinstance(action, c.Escalate):
            effects.append(Record(EventKind.CLOSE_ESCALATED, {"reason": action.reason}, Severity.WARNING))
    return tuple(effects)


@dataclass(frozen=True)
class Placement:
    """What the order guard saw when freqtrade placed one of the plugin's close orders."""

    client_order_id: str
    purpose: str  # "close" / "chunk"
    order: OrderReport | None = None
    failure: Failure | None = None
    found_after_loss: bool = False
    lookup_failed: bool = False


def order_outcome(state: c.CloseState, placement: Placement, now: float, config: c.ClosingConfig) -> Decision:
    """An order of this close was placed, failed, or its outcome stayed unknown."""
    data = {"client_order_id": placement.client_order_id, "purpose": placement.purpose}
    if placement.order is not None:
        effects: list[Effect] = []
        if placement.found_after_loss:
            error = placement.failure.exception_type if placement.failure else None
            effects.append(Record(EventKind.CLOSE_FOUND_AFTER_LOSS, {**data, "error": error}))
        order = placement.order
        placed = {**data, "order_id": order.order_id, "status": order.state.value}
        effects.append(Record(EventKind.CLOSE_PLACED, placed))
        return Decision(state, effects=tuple(effects))
    if placement.lookup_failed:
        error = placement.failure.message[:300] if placement.failure else ""
        unresolved = Record(EventKind.CLOSE_UNRESOLVED, {**data, "error": error}, Severity.WARNING)
        return Decision(state, effects=(unresolved,))  # stays PLACING: looked up again before anything is sent
    failure = placement.failure or lost_response_failure(placement.client_order_id)
    state, actions = c.attempt_failed(state, failure, now, config)
    failed = {**data, **failure.to_dict(), "status": state.status.value, "next_allowed_at": state.next_allowed_at}
    return Decision(state, effects=(Record(EventKind.CLOSE_FAILED, failed, Severity.WARNING), *_carry(actions)))


def exit_filled(state: c.CloseState, now: float, trade_open: bool, data: dict) -> Decision:
    """An exit order of this trade filled (``order_filled``)."""
    if state.status not in (c.CloseStatus.PLACING, c.CloseStatus.CHUNKING, c.CloseStatus.BACKING_OFF):
        return Decision(state)
    state = c.attempt_filled(state, now)
    if not trade_open:
        state = c.CloseState(
            c.CloseStatus.CLOSED, state.attempts, 0, None, state.alerted_at_failures, escalated_at=state.escalated_at
        )
    return Decision(state, effects=(Record(EventKind.CLOSE_FILLED, {**data, "status": state.status.value}),))


def closed_outside(state: c.CloseState, data: dict) -> Decision:
    """freqtrade recorded an exit it found on the exchange (liquidation, a stop, someone else)."""
    effects = (
        Record(EventKind.CLOSED_OUTSIDE, data, Severity.WARNING),
        _notify(Advice.CLOSED_OUTSIDE, exit_reason=data.get("exit_reason"), price=data.get("price")),
    )
    return Decision(c.CloseState(c.CloseStatus.GONE, state.attempts), effects=effects)


def liquidation_exit(state: c.CloseState, data: dict) -> Decision:
    """freqtrade exited the trade on its own liquidation-price check: said as exactly that."""
    young = ", moments after its entry (before its position was seen)" if data.get("young") else ""
    effects = (
        Record(EventKind.LIQUIDATION_EXIT, data, Severity.WARNING),
        _notify(Advice.LIQUIDATION_EXIT, liquidation_price=data.get("liquidation_price"), young=young),
    )
    return Decision(state, effects=effects)


def reduced_outside(state: c.CloseState, data: dict) -> Decision:
    """freqtrade recorded an order from outside the bot that reduced the position."""
    effects = (
        Record(EventKind.REDUCED_OUTSIDE, data, Severity.WARNING),
        _notify(Advice.REDUCED_OUTSIDE, amount=data.get("amount")),
    )
    return Decision(state, effects=effects)


@dataclass(frozen=True)
class ChunkFacts:
    """What ``adjust_trade_position`` knows when a close has escalated to chunks."""

    trade_id: int
    amount: Decimal  # the trade's amount
    stake: Decimal  # the trade's stake
    rate: Decimal
    now: float
    exchange_amount: Decimal | None  # from freqtrade's wallet sync; None = not known
    prefix: str = "rp"
    id_rule: IdRule = BINANCE_RULE


def next_chunk(state: c.CloseState, facts: ChunkFacts, limits: MarketLimits) -> Decision:
    """The next chunk of an escalated close (``send`` with ``stake``), or nothing yet.

    After a doubtful chunk failure (insufficient margin, reduce-only rejection) the close waits for one
    look at the position: gone ends it without an order; otherwise chunking goes on, sized on what the
    exchange still holds.
    """
    effects: list[Effect] = []
    now = facts.now
    if c.closing_in_chunks(state) and c.verification_due(state, now) and facts.exchange_amount is not None:
        state, check = c.position_seen(state, facts.exchange_amount, facts.amount, c.size_tolerance(facts.amount), now)
        if check is not c.PositionCheck.MATCH:
            effects += _mismatch(facts.trade_id, check, facts.amount, facts.exchange_amount, "chunked close")
    if not c.may_send_chunk(state, now) or chunk_pending(state):
        return Decision(state, effects=tuple(effects))
    amount = facts.amount
    if facts.exchange_amount:  # close no more than the exchange still holds
        amount = min(amount, facts.exchange_amount)
    plan = plan_chunks(amount, facts.rate, limits)
    if not plan.chunks:
        return Decision(state, effects=tuple(effects))
    chunk = plan.chunks[0]
    stake = stake_for_amount(chunk, amount, facts.stake, limits.step)
    state, attempt = c.start_attempt(state, now, chunk, c.CloseType.CHUNK, facts.trade_id, facts.prefix, facts.id_rule)
    data = {**attempt.to_dict(), "plan": [str(x) for x in plan.chunks], "dust_folded": str(plan.dust_folded)}
    effects.append(Record(EventKind.CLOSE_CHUNK, data))
    return Decision(state, send=True, attempt=attempt, effects=tuple(effects), stake=stake)


def chunk_pending(state: c.CloseState) -> bool:
    """The last chunk's order was sent and no fill or failure has come back for it yet."""
    return state.last is not None and state.last.close_type is c.CloseType.CHUNK and state.last.outcome == "pending"


def resolve_chunk(state: c.CloseState, lookup: OrderLookup | None, now: float, config: c.ClosingConfig) -> Decision:
    """A chunk still pending while freqtrade holds no open order of the trade: freqtrade cancelled it
    (its unfilled timeout on a limit exit) or never recorded it (the bot stopped while placing it).
    Decided after a look by its client order id; ``lookup`` None: no order guard, so no such look.

    * the lookup failed: nothing is known, nothing is sent (never a second chunk beside the first);
    * the order executed, in full or in part before it ended: the chunk counts; the next one is sized on
      what the exchange still holds;
    * the order rests on the exchange: it stays pending and the trader is told (freqtrade has no record
      of it, so its unfilled timeout never cancels it);
    * the order ended without a fill, or no look was possible: the chunk ended; the next may go now;
    * no such order: the chunk failed, with the retry rules of any failure.
    """
    attempt = state.last
    if attempt is None or not chunk_pending(state):
        return Decision(state)
    ended = replace(state, status=c.CloseStatus.CHUNKING, next_allowed_at=None)
    data: dict = {"client_order_id": attempt.client_order_id, "purpose": "chunk"}
    if lookup is None:
        ended = replace(ended, attempts=c._settle_last(state, outcome="ended"))
        return Decision(ended, effects=(Record(EventKind.CLOSE_FAILED, {**data, "outcome": "ended"}),))
    if lookup.status is LookupStatus.FAILED:
        return Decision(state)
    if lookup.status is LookupStatus.FOUND and lookup.order is not None:
        order = lookup.order
        data |= {"status": order.state.value, "filled": order.filled}
        if order.state is OrderState.OPEN:
            return Decision(state, effects=(c.Notify(Advice.CLOSE_ORDER_RESTING, data),))
        if order.executed:
            filled = c.attempt_filled(state, now, outcome=f"filled_then_{order.state.value}")
            return Decision(filled, effects=(Record(EventKind.CLOSE_FILLED, data),))
        ended = replace(ended, attempts=c._settle_last(state, outcome=f"ended_{order.state.value}"))
        return Decision(ended, effects=(Record(EventKind.CLOSE_FAILED, {**data, "outcome": "ended"}),))
    failure = lost_response_failure(attempt.client_order_id)
    failed, actions = c.attempt_failed(state, failure, now, config)
    record = Record(EventKind.CLOSE_FAILED, {**data, **failure.to_dict()}, Severity.WARNING)
    return Decision(failed, effects=(record, *_carry(actions)))


def alert_severity(effect: c.Notify) -> Severity:
    return severity_of(effect.advice)
