"""The plugin's event store: its own SQLAlchemy engine, SQLite by default, PostgreSQL for many bots.

Opening a store brings its schema to the newest revision (``migrate.upgrade``), so a store written by an
older plugin version upgrades in place. Times are stored in UTC (``timestamptz`` on PostgreSQL) and read
back as timezone-aware UTC datetimes on every database; a naive time is taken as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from robust_plugin.store.engine import check_bot_name, open_engine
from robust_plugin.store.models import EventRow

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


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; naive times are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class EventStore:
    """Append-only log of plugin events; every row carries the name of the bot that wrote it.

    Raises ``StoreConfigError`` (a ``ValueError``) naming ``robust_plugin.store.url`` or ``.bot_name``
    when the database cannot be opened or the bot name is unusable.
    """

    def __init__(self, url: str, bot_name: str) -> None:
        self.url = url
        self.bot_name = check_bot_name(bot_name)
        from robust_plugin.store import migrate  # Alembic loads only when a store opens, never in a backtest

        self.revision = migrate.upgrade(url)
        self.engine: Engine = open_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def record(self, ev: Event) -> Event:
        """Write one event and return it with its id."""
        row = EventRow(
            bot_name=ev.bot_name or self.bot_name,
            created_at=as_utc(ev.created_at),
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
            query = query.where(EventRow.created_at >= as_utc(since))
        if bot_name is not None:
            query = query.where(EventRow.bot_name == bot_name)
        with Session(self.engine) as session:
            return [_to_event(row) for row in session.scalars(query)]

    def close(self) -> None:
        self.engine.dispose()


def _to_event(row: EventRow) -> Event:
    return Event(
        kind=row.kind,
        created_at=as_utc(row.created_at),  # SQLite drops the zone (we wrote UTC); PostgreSQL gives its session zone
        trade_id=row.trade_id,
        pair=row.pair,
        severity=row.severity,
        data=dict(row.data or {}),
        bot_name=row.bot_name,
        id=row.id,
    )
