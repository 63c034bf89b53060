"""Schema changes go through Alembic: stores from revision 0001 and from before migrations upgrade in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, create_engine, inspect, text

from robust_plugin.store import Event, EventStore, migrate
from robust_plugin.store.models import Base
from robust_plugin.store.schema_plan import UnknownRevisionError

T0 = datetime(2026, 8, 1, 8, 30, tzinfo=UTC)


def _legacy_events_table(metadata: MetaData) -> Table:
    """The events table exactly as the plugin created it with ``create_all`` before it had migrations."""
    return Table(
        "robust_events",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("bot_name", String(100), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("kind", String(50), nullable=False),
        Column("severity", String(10), nullable=False, default="info"),
        Column("trade_id", Integer, nullable=True),
        Column("pair", String(50), nullable=True),
        Column("data", JSON, nullable=False, default=dict),
        Index("ix_robust_events_trade", "trade_id", "kind"),
        Index("ix_robust_events_time", "created_at"),
    )


def _old_rows(n: int) -> list[dict]:
    return [
        {
            "bot_name": f"bot-{i % 3}",
            "created_at": T0 + timedelta(minutes=i),
            "kind": "aged_phase" if i % 2 else "alert",
            "severity": "info",
            "trade_id": i,
            "pair": "BTC/USDT:USDT",
            "data": {"seq": i, "note": "before the upgrade"},
        }
        for i in range(n)
    ]


def _write_old_rows(url: str, rows: list[dict], *, create: bool) -> None:
    metadata = MetaData()
    table = _legacy_events_table(metadata)
    engine = create_engine(url)
    if create:
        metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    engine.dispose()


def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def _assert_upgraded_with_every_row(url: str, rows: list[dict]) -> None:
    store = EventStore(url, "bot-new")
    assert store.revision == migrate.head() == "0002"
    assert migrate.current_revision(url) == "0002"
    kept = store.events()
    assert [(e.bot_name, e.created_at, e.kind, e.trade_id, e.data) for e in kept] == [
        (r["bot_name"], r["created_at"], r["kind"], r["trade_id"], r["data"]) for r in rows
    ]
    assert [e.trade_id for e in store.events(bot_name="bot-1", since=T0 + timedelta(minutes=5))] == [7, 10, 13, 16, 19]
    new = store.record(Event(kind="aged_exit", created_at=T0 + timedelta(days=1)))
    assert new.id > max(e.id for e in kept)  # ids keep counting after the old rows
    indexes = {ix["name"] for ix in inspect(store.engine).get_indexes("robust_events")}
    assert {"ix_robust_events_bot_time", "ix_robust_events_kind_time", "ix_robust_events_trade"} <= indexes
    store.close()


def test_a_store_at_revision_0001_upgrades_in_place_keeping_every_row(store_url):
    assert migrate.upgrade(store_url, "0001") == "0001"
    assert migrate.current_revision(store_url) == "0001"
    rows = _old_rows(20)
    _write_old_rows(store_url, rows, create=False)
    _assert_upgraded_with_every_row(store_url, rows)


def test_a_store_from_before_migrations_is_adopted_and_upgraded_keeping_every_row(store_url):
    rows = _old_rows(20)
    _write_old_rows(store_url, rows, create=True)
    assert _table_names(store_url) == {"robust_events"}  # no version table: created by plain create_all
    assert migrate.current_revision(store_url) is None
    _assert_upgraded_with_every_row(store_url, rows)
    assert _table_names(store_url) == {"robust_events", migrate.VERSION_TABLE}


def test_the_newest_revision_builds_exactly_the_model_the_code_uses(store_url):
    migrate.upgrade(store_url)
    engine = create_engine(store_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrate.VERSION_TABLE})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_reopening_an_up_to_date_store_changes_nothing(store_url):
    first = EventStore(store_url, "bot-a")
    first.record(Event(kind="alert", created_at=T0))
    first.close()
    for _ in range(2):
        again = EventStore(store_url, "bot-a")
        assert again.revision == "0002" and len(again.events()) == 1
        again.close()


def test_a_store_migrated_by_a_newer_plugin_is_refused_and_left_untouched(store_url):
    store = EventStore(store_url, "bot-a")
    store.record(Event(kind="alert", created_at=T0))
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0099'"))
    store.close()
    with pytest.raises(UnknownRevisionError, match="'0099'.*upgrade robust_plugin"):
        EventStore(store_url, "bot-old")
    assert migrate.current_revision(store_url) == "0099"
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM robust_events")).scalar_one() == 1
    engine.dispose()


def test_a_backtest_never_loads_the_migration_machinery():
    # A backtest opens no store; Alembic's modules would only make every full garbage collection
    # of a long backtest walk more objects. They load when a store opens.
    import subprocess
    import sys

    probe = (
        "import sys, robust_plugin.adapter.mixin; print('alembic' in sys.modules); "
        "import tempfile, pathlib; from robust_plugin.store import EventStore; "
        "EventStore('sqlite:///' + str(pathlib.Path(tempfile.mkdtemp()) / 's.sqlite'), 'bot'); "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split() == ["False", "True"]
