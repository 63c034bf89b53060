"""The close desk: carries out the closing state machine (:mod:`robust_plugin.core.closing`) in live trading.

* ``confirm_exit`` runs in ``confirm_trade_exit``, right before freqtrade places a full close: it
  resolves a close whose response was lost, withholds closes during backoff, compares the exchange
  position (freqtrade refreshed its wallets a moment earlier, so this costs no request) with the
  trade, escalates to chunks when the position is above the market-order maximum, and announces the
  attempt to the order guard with its client order id.
* ``on_outcome`` receives every order outcome from the guard and records success or failure.
* ``next_chunk`` runs in ``adjust_trade_position`` once a close has escalated.
* ``exit_filled`` runs in ``order_filled``.

State lives in memory and in the trade's custom data (part ``closing``), written from callbacks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from robust_plugin.adapter import close_alerts
from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.order_guard import Intent, OrderGuard, Outcome
from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core import closing as core
from robust_plugin.core.chunking import MarketLimits, plan_chunks, stake_for_amount
from robust_plugin.core.failures import classify
from robust_plugin.core.trade_state import read_state, write_part
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)


class CloseDesk:
    def __init__(
        self,
        config: core.ClosingConfig,
        alerts: Alerter,
        recorder: Recorder | EventStore | None,
        guard: OrderGuard | None = None,
        chunked_fallback: bool = True,
        prefix: str = "rp",
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.alerts = alerts
        self.recorder = as_recorder(recorder)
        self.guard = guard
        self.chunked_fallback = chunked_fallback
        self.prefix = prefix
        self.clock = clock
        self._states: dict[int, core.CloseState] = {}
        self._pairs: dict[int, str] = {}
        self._dirty: set[int] = set()

    # -- state ------------------------------------------------------------------------------
    def state(self, trade: Any) -> core.CloseState:
        if trade.id not in self._states:
            try:
                self._states[trade.id] = core.CloseState.from_dict(read_state(trade).get("closing"))
            except ValueError as error:
                logger.warning("robust_plugin: trade %s: ignoring unreadable close state: %s", trade.id, error)
                self._states[trade.id] = core.CloseState()
        self._pairs[trade.id] = trade.pair
        return self._states[trade.id]

    def in_chunked_close(self, trade: Any) -> bool:
        """The trade's close escalated to chunks (or a chunk waits for its position check)."""
        return core.closing_in_chunks(self.state(trade))

    def _set(self, trade_id: int, state: core.CloseState) -> None:
        self._states[trade_id] = state
        self._dirty.add(trade_id)

    def persist(self, trade: Any) -> None:
        if trade.id in self._dirty:
            write_part(trade, "closing", self._states[trade.id].to_dict())
            self._dirty.discard(trade.id)

    # -- callbacks --------------------------------------------------------------------------
    def may_signal_exit(self, trade: Any, now: float) -> bool:
        """For ``custom_exit``: False while a close of this trade backs off or escalated. A close left placing
        (a lost response whose lookup failed, or a bot killed mid-close) is signalled, so that
        ``confirm_exit`` looks its order up first; it sends nothing while the lookup cannot tell."""
        return core.may_request_exit(self.state(trade), now)

    def confirm_exit(
        self,
        trade: Any,
        amount: float,
        exit_reason: str,
        now: float,
        exchange_amount: float | None,
        market_max: float | None,
        settling: bool = False,
    ) -> bool:
        state = self.state(trade)
        if settling and not exchange_amount:
            # the entry's position is not visible yet: not "gone" - wait for settlement to say what happened
            self.recorder.record(
                "close_deferred", trade.id, trade.pair, {"reason": "entry not settled yet", "exit_reason": exit_reason}
            )
            return False
        try:
            if state.status is core.CloseStatus.PLACING and not self._resolve_lost(trade, state, now):
                return False
            state = self.state(trade)
            if state.status is core.CloseStatus.GONE:
                if not exchange_amount:
                    return False  # still gone: no order, no repeated alert
                state = core.CloseState(core.CloseStatus.IDLE, state.attempts)  # it is back (a flapping view)
            if state.status in (core.CloseStatus.CLOSED, core.CloseStatus.CHUNKING):
                if state.status is core.CloseStatus.CLOSED:  # a new close after a finished one (e.g. re-entry)
                    state = core.CloseState()
                else:
                    return False
            verifying = state.status is core.CloseStatus.VERIFYING
            if not verifying and not core.may_signal_exit(state, now):
                return False
            if verifying and state.next_allowed_at is not None and now < state.next_allowed_at:
                return False
            if exchange_amount is not None:
                state, check, decision = core.check_before_close(
                    state, Decimal(str(exchange_amount)), Decimal(str(amount)), now
                )
                if check is not core.PositionCheck.MATCH:
                    self._position_mismatch(trade, check, amount, exchange_amount, exit_reason)
                if decision is not core.PreClose.SEND:
                    self._set(trade.id, state)
                    return False
            if market_max and amount > market_max and self.chunked_fallback:
                state = core.CloseState(
                    core.CloseStatus.CHUNKING, state.attempts, 0, None, state.alerted_at_failures, escalated_at=now
                )
                self._set(trade.id, state)
                self.recorder.record(
                    "close_escalated",
                    trade.id,
                    trade.pair,
                    {"reason": "above_market_max", "amount": amount, "market_max": market_max},
                    "critical",
                )
                close_alerts.escalation(
                    self.alerts,
                    trade.id,
                    trade.pair,
                    f"the position ({amount}) is above the market-order maximum ({market_max})",
                    self.chunked_fallback,
                )
                return False
            state, attempt = core.start_attempt(
                state, now, Decimal(str(amount)), core.CloseType.FULL, trade.id, self.prefix
            )
            self._set(trade.id, state)
            if self.guard is not None:
                self.guard.expect(
                    Intent(trade.pair, trade.exit_side, True, attempt.client_order_id, trade.id, "close", now)
                )
            self.recorder.record(
                "close_attempt", trade.id, trade.pair, {**attempt.to_dict(), "exit_reason": exit_reason}
            )
            return True
        finally:
            self.persist(trade)

    def _resolve_lost(self, trade: Any, state: core.CloseState, now: float) -> bool:
        """An attempt whose outcome stayed unknown: look it up before anything else. True = go on."""
        attempt = state.last
        if attempt is None or self.guard is None:
            self._set(trade.id, core.CloseState(core.CloseStatus.IDLE, state.attempts))
            return True
        found, failed = self.guard.lookup(trade.pair, attempt.client_order_id)
        if failed:
            return False  # still cannot tell: never send a second order
        if found is not None:
            self._set(trade.id, core.order_found_after_loss(state, now))
            self.recorder.record(
                "close_found_after_loss",
                trade.id,
                trade.pair,
                {"client_order_id": attempt.client_order_id, "status": found.get("status")},
            )
            return False  # freqtrade learns the order through its own recovery (the position is gone)
        failure = classify(TimeoutError(f"order {attempt.client_order_id} was not placed (response lost)"))
        state, actions = core.attempt_failed(state, failure, now, self.config)
        self._set(
            trade.id,
            core.CloseState(
                core.CloseStatus.IDLE, state.attempts, state.consecutive_failures, None, state.alerted_at_failures
            ),
        )
        self._carry_out(trade.id, trade.pair, actions, failure)
        return True

    def on_outcome(self, outcome: Outcome) -> None:
        intent = outcome.intent
        if intent is None or intent.trade_id is None:
            if outcome.error is not None:
                self.recorder.record(
                    "order_failed",
                    None,
                    None,
                    {"client_order_id": outcome.client_order_id, "error": str(outcome.error)[:300]},
                    "warning",
                )
            return
        trade_id, now = intent.trade_id, self.clock()
        state = self._states.get(trade_id, core.CloseState())
        data = {"client_order_id": outcome.client_order_id, "purpose": intent.purpose}
        if outcome.order is not None:
            if outcome.found_after_loss:
                self.recorder.record(
                    "close_found_after_loss", trade_id, intent.pair, {**data, "error": type(outcome.error).__name__}
                )
            self.recorder.record(
                "close_placed",
                trade_id,
                intent.pair,
                {**data, "order_id": outcome.order.get("id"), "status": outcome.order.get("status")},
            )
            return
        if outcome.lookup_failed:
            self.recorder.record(
                "close_unresolved", trade_id, intent.pair, {**data, "error": str(outcome.error)[:300]}, "warning"
            )
            return  # stays PLACING: the next confirm looks the order up again before anything is sent
        retry_after = None
        if self.guard is not None and self.guard._api is not None:
            header = (getattr(self.guard._api, "last_response_headers", None) or {}).get("Retry-After")
            retry_after = float(header) if header and str(header).replace(".", "", 1).isdigit() else None
        failure = classify(outcome.error, retry_after)
        state, actions = core.attempt_failed(state, failure, now, self.config)
        if state.status is core.CloseStatus.CHUNKING and not self.chunked_fallback:
            wait = self.config.retry.wait(state.consecutive_failures, failure)
            state = core.CloseState(
                core.CloseStatus.BACKING_OFF,
                state.attempts,
                state.consecutive_failures,
                now + wait,
                state.alerted_at_failures,
            )
        self._set(trade_id, state)
        self.recorder.record(
            "close_failed",
            trade_id,
            intent.pair,
            {**data, **failure.to_dict(), "status": state.status.value, "next_allowed_at": state.next_allowed_at},
            "warning",
        )
        self._carry_out(trade_id, intent.pair, actions, failure)

    def _carry_out(self, trade_id: int, pair: str, actions, failure) -> None:
        for action in actions:
            if isinstance(action, core.Alert):
                state = self._states.get(trade_id, core.CloseState())
                close_alerts.failures(self.alerts, trade_id, pair, action.severity, state, failure)
            elif isinstance(action, core.Escalate):
                self.recorder.record("close_escalated", trade_id, pair, {"reason": action.reason}, "critical")
                close_alerts.escalation(self.alerts, trade_id, pair, action.reason, self.chunked_fallback)

    def _position_mismatch(
        self, trade: Any, check: core.PositionCheck, amount: float, exchange_amount: float, reason: str
    ) -> None:
        gone = check is core.PositionCheck.GONE
        self.recorder.record(
            "close_skipped_gone" if gone else "size_mismatch",
            trade.id,
            trade.pair,
            {"trade_amount": amount, "exchange_amount": exchange_amount, "check": check.value, "exit_reason": reason},
            "warning",
        )
        if gone:
            close_alerts.position_gone(self.alerts, trade)
        elif check is core.PositionCheck.SMALLER:
            close_alerts.position_smaller(self.alerts, trade, amount, exchange_amount)

    def exit_filled(self, trade: Any, order: Any, now: float) -> None:
        state = self.state(trade)
        if state.status not in (core.CloseStatus.PLACING, core.CloseStatus.CHUNKING, core.CloseStatus.BACKING_OFF):
            return
        state = core.attempt_filled(state, now)
        if not trade.is_open or trade.amount <= 0:
            state = core.CloseState(
                core.CloseStatus.CLOSED,
                state.attempts,
                0,
                None,
                state.alerted_at_failures,
                escalated_at=state.escalated_at,
            )
        self._set(trade.id, state)
        self.recorder.record(
            "close_filled",
            trade.id,
            trade.pair,
            {
                "order_id": order.order_id,
                "amount": float(order.safe_filled),
                "price": float(order.safe_price),
                "status": state.status.value,
            },
        )
        self.persist(trade)

    def reduced_outside(self, trade: Any, order: Any) -> None:
        """freqtrade found an order from outside the bot that reduced the position (recorded on the trade)."""
        self.recorder.record(
            "reduced_outside",
            trade.id,
            trade.pair,
            {"order_id": order.order_id, "amount": float(order.safe_filled), "trade_amount_now": float(trade.amount)},
            "warning",
        )
        close_alerts.reduced_outside(self.alerts, trade, order)

    def closed_outside(self, trade: Any, order: Any) -> None:
        """freqtrade recorded an exit it found on the exchange (liquidation, a stop, someone else)."""
        self._set(trade.id, core.CloseState(core.CloseStatus.GONE, self.state(trade).attempts))
        self.recorder.record(
            "closed_outside",
            trade.id,
            trade.pair,
            {"order_id": order.order_id, "exit_reason": trade.exit_reason, "price": float(order.safe_price)},
            "warning",
        )
        close_alerts.closed_outside(self.alerts, trade, order)
        self.persist(trade)

    def next_chunk(
        self, trade: Any, now: float, rate: float, limits: MarketLimits, exchange_amount: float | None = None
    ) -> tuple[float, str] | None:
        """The next chunk of an escalated close as freqtrade's ``(-stake, tag)``, or None.

        After a doubtful chunk failure (insufficient margin, reduce-only rejection) the close waits
        for one look at the position (``exchange_amount``, from freqtrade's wallet sync): gone ends
        it without an order; otherwise chunking goes on, sized on what the exchange still holds.
        """
        state = self.state(trade)
        try:
            if core.closing_in_chunks(state) and core.verification_due(state, now) and exchange_amount is not None:
                state, check = core.position_seen(
                    state,
                    Decimal(str(exchange_amount)),
                    Decimal(str(trade.amount)),
                    core.size_tolerance(Decimal(str(trade.amount))),
                    now,
                )
                self._set(trade.id, state)
                if check is not core.PositionCheck.MATCH:
                    self._position_mismatch(trade, check, float(trade.amount), exchange_amount, "chunked close")
            if not core.may_send_chunk(state, now) or (
                state.last and state.last.close_type is core.CloseType.CHUNK and state.last.outcome == "pending"
            ):
                return None
            amount, step = Decimal(str(trade.amount)), limits.step
            if exchange_amount:  # close no more than the exchange still holds
                amount = min(amount, Decimal(str(exchange_amount)))
            plan = plan_chunks(amount, Decimal(str(rate)), limits)
            if not plan.chunks:
                return None
            chunk = plan.chunks[0]
            stake = stake_for_amount(chunk, amount, Decimal(str(trade.stake_amount)), step)
            state, attempt = core.start_attempt(state, now, chunk, core.CloseType.CHUNK, trade.id, self.prefix)
            self._set(trade.id, state)
            if self.guard is not None:
                self.guard.expect(
                    Intent(trade.pair, trade.exit_side, True, attempt.client_order_id, trade.id, "chunk", now)
                )
            self.recorder.record(
                "close_chunk",
                trade.id,
                trade.pair,
                {**attempt.to_dict(), "plan": [str(c) for c in plan.chunks], "dust_folded": str(plan.dust_folded)},
            )
            return -float(stake), f"robust_chunk_{attempt.number}"
        finally:
            self.persist(trade)
