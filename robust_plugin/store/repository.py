"""The plugin's event store: its own SQLAlchemy engine, SQLite by default, any SQLAlchemy URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from robust_plugin.store.models import Base, EventRow

DEFAULT_FILENAME = "robust_plugin.sqlite"


def default_url(user_data_dir: str | Path) -> str:
    """``sqlite:///<user_data_dir>/robust_plugin.sqlite``."""
    return f"sqlite:///{Path(user_data_dir).resolve() / DEFAULT_FILENAME}"


@dataclass(frozen=True)
class Event:
    """An event as the plugin records and reads it."""

    kind: str
    created_at: datetime
    trade_id: int | None = None
    pair: str | None = None
    severity: str = "info"
    data: dict[str, Any] = field(default_factory=dict)
    bot_name: str = ""
    id: int | None = None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets freqtrade's UI or our CLI read while the bot writes; busy_timeout avoids spurious locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class EventStore:
    """Append-only log of plugin events for one bot."""

    def __init__(self, url: str, bot_name: str) -> None:
        self.url = url
        self.bot_name = bot_name
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def record(self, ev: Event) -> Event:
        """Write one event and return it with its id."""
        row = EventRow(
            bot_name=ev.bot_name or self.bot_name,
            created_at=ev.created_at,
            kind=ev.kind,
            severity=ev.severity,
            trade_id=ev.trade_id,
            pair=ev.pair,
            data=ev.data,
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return _to_event(row)

    def events(
        self,
        *,
        trade_id: int | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        bot_name: str | None = None,
    ) -> list[Event]:
        """Events in the order they were recorded, filtered by trade, kind, time and bot."""
        query = select(EventRow).order_by(EventRow.id)
        if trade_id is not None:
            query = query.where(EventRow.trade_id == trade_id)
        if kind is not None:
            query = query.where(EventRow.kind == kind)
        if since is not None:
            query = query.where(EventRow.created_at >= since)
        if bot_name is not None:
            query = query.where(EventRow.bot_name == bot_name)
        with Session(self.engine) as session:
            return [_to_event(row) for row in session.scalars(query)]

    def close(self) -> None:
        self.engine.dispose()


def _to_event(row: EventRow) -> Event:
    created = row.created_at
    if created.tzinfo is None:  # SQLite drops the zone; every time we write is UTC
        created = created.replace(tzinfo=timezone.utc)
    return Event(
        kind=row.kind,
        created_at=created,
        trade_id=row.trade_id,
        pair=row.pair,
        severity=row.severity,
        data=dict(row.data or {}),
        bot_name=row.bot_name,
        id=row.id,
    )
