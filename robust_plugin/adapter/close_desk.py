"""The close desk: carries out the close decisions (:mod:`robust_plugin.core.close_decisions`) in live
trading. It gathers facts, asks the core, and does what the answer says: keeps the state, records
events, raises alerts, announces attempts to the order guard. It decides nothing itself.

* ``confirm_exit`` runs in ``confirm_trade_exit``, right before freqtrade places a full close: a
  close whose response was lost is looked up first; then the pre-close decision (backoff, the
  exchange position from freqtrade's wallet sync, the market-order maximum).
* ``on_outcome`` receives every order outcome from the order guard.
* ``next_chunk`` runs in ``adjust_trade_position`` once a close has escalated (a chunk freqtrade
  cancelled, or never recorded, is looked up by its client order id first).
* ``exit_filled`` / ``closed_outside`` / ``reduced_outside`` run in ``order_filled``.

State lives in memory and in the trade's custom data (part ``closing``), written from callbacks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.exchange.boundary import ExchangeBoundary
from robust_plugin.adapter.exchange.order_guard import Intent, OrderGuard, Outcome
from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core import close_decisions as decide
from robust_plugin.core import closing as core
from robust_plugin.core.chunking import MarketLimits
from robust_plugin.core.client_ids import BINANCE_RULE, IdRule
from robust_plugin.core.exchange_reports import OrderLookup
from robust_plugin.core.failures import classify
from robust_plugin.core.trade_state import read_state, write_part
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class CloseDesk:
    def __init__(
        self,
        config: core.ClosingConfig,
        alerts: Alerter,
        recorder: Recorder | EventStore | None,
        guard: OrderGuard | None = None,
        prefix: str = "rp",
        clock: Callable[[], float] = time.time,
        boundary: ExchangeBoundary | None = None,
        id_rule: IdRule = BINANCE_RULE,
    ):
        self.config = config
        self.alerts = alerts
        self.recorder = as_recorder(recorder)
        self.guard = guard
        self.prefix = prefix
        self.clock = clock
        self.boundary = boundary
        self.id_rule = id_rule
        self._states: dict[int, core.CloseState] = {}
        self._dirty: set[int] = set()

    # -- state ------------------------------------------------------------------------------
    def state(self, trade: Any) -> core.CloseState:
        if trade.id not in self._states:
            try:
                self._states[trade.id] = core.CloseState.from_dict(read_state(trade).get("closing"))
            except ValueError as error:
                logger.warning("robust_plugin: trade %s: ignoring unreadable close state: %s", trade.id, error)
                self._states[trade.id] = core.CloseState()
        return self._states[trade.id]

    def in_chunked_close(self, trade: Any) -> bool:
        """The trade's close escalated to chunks (or a chunk waits for its position check)."""
        return core.closing_in_chunks(self.state(trade))

    def persist(self, trade: Any) -> None:
        if trade.id in self._dirty:
            write_part(trade, "closing", self._states[trade.id].to_dict())
            self._dirty.discard(trade.id)

    def _apply(self, trade_id: int, pair: str, decision: decide.Decision) -> decide.Decision:
        """Carry out a decision: keep its state, record its events, raise its alerts."""
        if decision.state is not self._states.get(trade_id):
            self._states[trade_id] = decision.state
            self._dirty.add(trade_id)
        for effect in decision.effects:
            if isinstance(effect, decide.Record):
                self.recorder.record(effect.kind, trade_id, pair, effect.data, effect.severity)
            else:
                facts = {"trade_id": trade_id, **effect.facts}
                if "next_at" not in facts and decision.state.next_allowed_at is not None:
                    facts["next_at"] = f"{datetime.fromtimestamp(decision.state.next_allowed_at, UTC):%H:%M:%S}"
                self.alerts.advise(effect.advice, facts, trade_id=trade_id, pair=pair)
        return decision

    def _announce(self, trade: Any, attempt: core.CloseAttempt, purpose: str, now: float) -> None:
        if self.guard is not None:
            intent = Intent(trade.pair, trade.exit_side, True, attempt.client_order_id, trade.id, purpose, now)
            self.guard.expect(intent)

    def _look_up_last(self, trade: Any, state: core.CloseState) -> OrderLookup | None:
        """The last attempt's order, looked up by its client order id; None without the order guard
        (no client order id was sent) or the exchange boundary."""
        if self.boundary is None or self.guard is None or state.last is None:
            return None
        return self.boundary.order_by_client_id(trade.pair, state.last.client_order_id)

    # -- callbacks --------------------------------------------------------------------------
    def may_signal_exit(self, trade: Any, now: float) -> bool:
        """For ``custom_exit``: False while a close of this trade backs off or escalated. A close left
        placing (a lost response whose lookup failed, or a bot killed mid-close) is signalled, so that
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
        try:
            facts = decide.ExitFacts(
                trade.id,
                Decimal(str(amount)),
                exit_reason,
                now,
                _dec(exchange_amount),
                market_max,
                settling,
                self.prefix,
                self.id_rule,
                bool(getattr(trade, "has_open_sl_orders", False)),
            )
            state = self.state(trade)
            if state.status is core.CloseStatus.PLACING:
                if getattr(trade, "has_open_orders", False):  # freqtrade's own exit order rests
                    resolved = decide.resting_exit(state, facts.protective)
                else:  # the outcome is unknown (a lost response, a bot stopped mid-close): look it up
                    resolved = decide.resolve_lost(state, self._look_up_last(trade, state), now, self.config)
                if not self._apply(trade.id, trade.pair, resolved).send:
                    return False
            decision = self._apply(trade.id, trade.pair, decide.confirm_exit(self.state(trade), facts, self.config))
            if decision.send and decision.attempt is not None:
                self._announce(trade, decision.attempt, "close", now)
            return decision.send
        finally:
            self.persist(trade)

    def on_outcome(self, outcome: Outcome) -> None:
        intent = outcome.intent
        if intent is None or intent.trade_id is None:
            if outcome.error is not None:
                data = {"client_order_id": outcome.client_order_id, "error": str(outcome.error)[:300]}
                self.recorder.record("order_failed", None, None, data, "warning")
            return
        failure = None
        if outcome.error is not None:
            failure = self.boundary.classify(outcome.error) if self.boundary else classify(outcome.error)
        placement = decide.Placement(
            outcome.client_order_id,
            intent.purpose,
            outcome.order,
            failure,
            outcome.found_after_loss,
            outcome.lookup_failed,
        )
        state = self._states.get(intent.trade_id, core.CloseState())
        self._apply(intent.trade_id, intent.pair, decide.order_outcome(state, placement, self.clock(), self.config))

    def exit_filled(self, trade: Any, order: Any, now: float) -> None:
        data = {"order_id": order.order_id, "amount": float(order.safe_filled), "price": float(order.safe_price)}
        open_ = bool(trade.is_open and trade.amount > 0)
        self._apply(trade.id, trade.pair, decide.exit_filled(self.state(trade), now, open_, data))
        self.persist(trade)

    def reduced_outside(self, trade: Any, order: Any) -> None:
        """freqtrade found an order from outside the bot that reduced the position (recorded on the trade)."""
        data = {
            "order_id": order.order_id,
            "amount": float(order.safe_filled),
            "trade_amount_now": float(trade.amount),
        }
        self._apply(trade.id, trade.pair, decide.reduced_outside(self.state(trade), data))

    def liquidation_exit(self, trade: Any, order: Any, young: bool) -> None:
        """freqtrade closed the trade on its own liquidation-price check (not the exchange's liquidation)."""
        data = {
            "order_id": order.order_id,
            "price": float(order.safe_price),
            "liquidation_price": getattr(trade, "liquidation_price", None),
            "young": young,
        }
        self._apply(trade.id, trade.pair, decide.liquidation_exit(self.state(trade), data))

    def closed_outside(self, trade: Any, order: Any) -> None:
        """freqtrade recorded an exit it found on the exchange (liquidation, a stop, someone else)."""
        data = {"order_id": order.order_id, "exit_reason": trade.exit_reason, "price": float(order.safe_price)}
        self._apply(trade.id, trade.pair, decide.closed_outside(self.state(trade), data))
        self.persist(trade)

    def next_chunk(
        self, trade: Any, now: float, rate: float, limits: MarketLimits, exchange_amount: float | None = None
    ) -> tuple[float, str] | None:
        """The next chunk of an escalated close as freqtrade's ``(-stake, tag)``, or None. A chunk still
        pending while freqtrade holds no open order of the trade (cancelled by its unfilled timeout, or
        never recorded) is looked up by its client order id first."""
        try:
            state = self.state(trade)
            if decide.chunk_pending(state) and not getattr(trade, "has_open_orders", False):
                lookup = self._look_up_last(trade, state)
                self._apply(trade.id, trade.pair, decide.resolve_chunk(state, lookup, now, self.config))
            facts = decide.ChunkFacts(
                trade.id,
                Decimal(str(trade.amount)),
                Decimal(str(trade.stake_amount)),
                Decimal(str(rate)),
                now,
                _dec(exchange_amount),
                self.prefix,
                self.id_rule,
            )
            decision = self._apply(trade.id, trade.pair, decide.next_chunk(self.state(trade), facts, limits))
            if not decision.send or decision.attempt is None or decision.stake is None:
                return None
            self._announce(trade, decision.attempt, "chunk", now)
            return -float(decision.stake), f"robust_chunk_{decision.attempt.number}"
        finally:
            self.persist(trade)
