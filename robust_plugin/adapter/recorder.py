"""The one way plugin events are recorded: stamped, written to the store, passed to listeners.

Every part of the adapter (close desk, settlement desk, aged journal, alerts) records what it did
through a :class:`Recorder`. A failing store is logged and never raised into freqtrade's callbacks;
a failing listener (the metrics exporter) is logged the same way and does not keep the event from
the store or from the other listeners.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from robust_plugin.core.kinds import EventKind, Severity
from robust_plugin.store import Event, EventStore

logger = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class Recorder:
    def __init__(self, store: EventStore | None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """``listener(event)`` is called for every recorded or announced event."""
        self.listeners.append(listener)

    def record(
        self,
        kind: EventKind | str,
        trade_id: int | None = None,
        pair: str | None = None,
        data: dict[str, Any] | None = None,
        severity: Severity | str = "info",
        *,
        at: datetime | float | None = None,
    ) -> Event:
        """Write one event to the store (if there is one) and tell the listeners; never raises."""
        event = self._event(kind, trade_id, pair, data, severity, at)
        if self.store is not None:
            try:
                event = self.store.record(event)
            except Exception:
                on = f" for trade {trade_id}" if trade_id is not None else ""
                logger.exception("robust_plugin: could not record %s%s", kind, on)
        self._tell(event)
        return event

    def announce(
        self,
        kind: EventKind | str,
        trade_id: int | None = None,
        pair: str | None = None,
        data: dict[str, Any] | None = None,
        severity: Severity | str = "info",
        *,
        at: datetime | float | None = None,
    ) -> Event:
        """Tell the listeners only: a fact they need (a trade closed, a stage read back after a restart)
        that is not worth a row in the store."""
        event = self._event(kind, trade_id, pair, data, severity, at)
        self._tell(event)
        return event

    def _event(self, kind, trade_id, pair, data, severity, at) -> Event:
        if at is None:
            at = self.clock()
        if not isinstance(at, datetime):
            at = datetime.fromtimestamp(at, UTC)
        kind, severity = getattr(kind, "value", kind), getattr(severity, "value", severity)  # EventKind, Severity
        return Event(kind=kind, created_at=at, trade_id=trade_id, pair=pair, severity=severity, data=data or {})

    def _tell(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("robust_plugin: event listener %r failed on %s", listener, event.kind)


def as_recorder(sink: Recorder | EventStore | None) -> Recorder:
    """A recorder for ``sink``: itself when it is one, otherwise one writing to the store (or nowhere)."""
    return sink if isinstance(sink, Recorder) else Recorder(sink)
