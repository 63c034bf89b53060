"""Records what the aged policy did to each trade, in dry-run and live only.

Stage changes go to the trade's custom data (readable through ``/list_custom_data``) and to the
plugin's event store; each is written once, when it changes, never once per loop. The last stage
written is read back from custom data after a restart, so a restart does not repeat events.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core.aging import AgedDecision, is_aged_reason, net_result
from robust_plugin.core.trade_facts import position_costs, trade_age
from robust_plugin.core.trade_state import read_state, write_part
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)


def _stage_key(phase: str | None, loss: float | None) -> tuple[str | None, float | None]:
    return (phase, None if loss is None else round(float(loss), 6))


class AgedJournal:
    def __init__(self, recorder: Recorder | EventStore | None) -> None:
        self.recorder = as_recorder(recorder)
        self._last: dict[int, tuple[str | None, float | None]] = {}

    def stage_seen(self, trade: Any, decision: AgedDecision, age: float, now: datetime) -> None:
        stage = decision.stage
        key = _stage_key(stage.phase.value, stage.accepted_loss_pct)
        last = self._last.get(trade.id)
        if last is None:
            stored = read_state(trade).get("aged", {})
            last = _stage_key(stored.get("phase"), stored.get("accepted_loss_pct"))
            if last == key:  # read back after a restart: not a change, but listeners (metrics) need the stage
                self.recorder.announce("aged_stage", trade.id, trade.pair, {**stored, "resumed": True}, at=now)
        if last == key:
            self._last[trade.id] = key
            return
        self._last[trade.id] = key
        opened = now.timestamp() - age
        next_at = (
            datetime.fromtimestamp(opened + stage.next_change_age, tz=UTC).isoformat()
            if stage.next_change_age is not None
            else None
        )
        value = {
            "phase": stage.phase.value,
            "accepted_loss_pct": stage.accepted_loss_pct,
            "target": decision.target,
            "exit_reason": stage.exit_reason,
            "since": now.astimezone(UTC).isoformat(),
            "next_step_at": next_at,
        }
        write_part(trade, "aged", value)
        logger.info(
            "robust_plugin: trade %s (%s) is now %s, accepted loss %s %%, target %s",
            trade.id,
            trade.pair,
            stage.phase.value,
            stage.accepted_loss_pct,
            decision.target,
        )
        self._record(trade, "aged_stage", now, {**value, "age_s": round(age, 3), "from": last[0]})

    def exit_filled(self, trade: Any, order: Any, now: datetime) -> None:
        """An exit order of an aged exit filled: record the price and the net result."""
        if not trade.is_open:  # whatever closed it: the trade has no aged stage any more
            self.recorder.announce("trade_closed", trade.id, trade.pair, {"exit_reason": trade.exit_reason}, at=now)
        reason = getattr(order, "ft_order_tag", None) or trade.exit_reason
        if not is_aged_reason(reason):
            return
        price = float(order.safe_price)
        self._last.pop(trade.id, None)
        self._record(
            trade,
            "aged_exit",
            now,
            {
                "exit_reason": reason,
                "price": price,
                "amount": float(order.safe_filled),
                "net_result_pct": round(net_result(position_costs(trade), price) * 100, 6),
                "age_s": round(trade_age(trade, now), 3),
            },
        )

    def _record(self, trade: Any, kind: str, now: datetime, data: dict[str, Any]) -> None:
        self.recorder.record(kind, trade.id, trade.pair, data, at=now)
