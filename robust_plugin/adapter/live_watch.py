"""One batched position read per loop, shared by settlement and reconciliation, only when one of
them is due (``bot_loop_start``)."""

from __future__ import annotations

from robust_plugin.adapter.entry_desk import EntryDesk
from robust_plugin.adapter.exchange.boundary import ExchangeBoundary
from robust_plugin.adapter.reconcile_desk import ReconcileDesk
from robust_plugin.adapter.settlement_desk import SettlementDesk


class LiveWatch:
    def __init__(
        self,
        boundary: ExchangeBoundary,
        settlement: SettlementDesk,
        reconcile: ReconcileDesk | None,
        entries: EntryDesk | None = None,
    ):
        self.boundary = boundary
        self.settlement = settlement
        self.reconcile = reconcile
        self.entries = entries  # the entry circuit breaker, told after each check

    def on_loop(self, now: float) -> None:
        settle = bool(self.settlement.due(now))
        reconcile = self.reconcile is not None and self.reconcile.due(now)
        if not settle and not reconcile:
            return
        positions = self.boundary.positions()
        if settle:
            self.settlement.step_due(positions, now)
        if reconcile and positions is not None:
            assert self.reconcile is not None
            self.reconcile.run(positions, self.settlement.settling_ids(), now)
        if self.entries is not None:
            self.entries.update()
