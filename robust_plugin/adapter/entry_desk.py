"""The entry desk: carries out the entry circuit breaker (:mod:`robust_plugin.core.entry_guard`).

After each loop's settlement and reconciliation it collects the open problems (settlement ``unknown``,
``orphan``, ``unprotected``), records and alerts when entries are held and when they resume, and
answers ``confirm_trade_entry``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core import entry_guard as guard
from robust_plugin.core.advice import Advice
from robust_plugin.core.kinds import EventKind, Severity
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)


class EntryDesk:
    def __init__(
        self,
        sources: list[Callable[[], list[guard.Problem]]],
        alerts: Alerter,
        recorder: Recorder | EventStore | None,
        scope: guard.GuardScope = guard.GuardScope.ACCOUNT,
    ):
        self.sources = sources
        self.alerts = alerts
        self.recorder = as_recorder(recorder)
        self.scope = scope
        self.problems: list[guard.Problem] = []

    def update(self) -> None:
        current = [p for source in self.sources for p in source()]
        changed = guard.change(self.problems, current)
        self.problems = current
        where = "on every pair" if self.scope is guard.GuardScope.ACCOUNT else "on {pair}"
        for problem, kind, advice, severity in [
            *[(p, EventKind.ENTRIES_HELD, Advice.ENTRIES_HELD, Severity.WARNING) for p in changed.engaged],
            *[(p, EventKind.ENTRIES_RESUMED, Advice.ENTRIES_RESUMED, Severity.INFO) for p in changed.released],
        ]:
            facts = {"problem": problem.describe(), "where": where.format(pair=problem.pair), "kind": problem.kind}
            self.recorder.record(kind, problem.trade_id, problem.pair, facts, severity)
            self.alerts.advise(advice, facts, trade_id=problem.trade_id, pair=problem.pair)

    def allow(self, pair: str) -> bool:
        """For ``confirm_trade_entry``: False while a problem holds entries on ``pair``."""
        held = guard.holding(self.problems, pair, self.scope)
        if held:
            logger.warning("robust_plugin: entry on %s held: %s", pair, "; ".join(p.describe() for p in held))
        return not held
