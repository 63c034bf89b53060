"""Schema migrations of the plugin's database: Alembic, configured in code (no alembic.ini needed).

``upgrade(url)`` brings any store to the newest schema in one transaction, under a lock, so bots that
start at the same time on one database migrate one after the other: PostgreSQL takes a transaction-level
advisory lock, SQLite a write lock (``BEGIN IMMEDIATE``). Both databases roll DDL back on failure, so a
failed upgrade leaves the store as it was.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DatabaseError, InterfaceError

from robust_plugin.store.engine import (
    URL_KEY,
    StoreConfigError,
    check_sqlite_file,
    open_engine,
    parse_url,
    refuse_freqtrades_database,
    shown,
)
from robust_plugin.store.schema_plan import plan_upgrade

MIGRATIONS = Path(__file__).with_name("migrations")
# Not Alembic's default "alembic_version": the plugin's tables may share a PostgreSQL database with an
# application that has its own Alembic history.
VERSION_TABLE = "robust_alembic_version"
EVENTS_TABLE = "robust_events"
PG_LOCK_KEY = 7_261_706_269_751_108  # any fixed bigint; the same for every bot of every version


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = VERSION_TABLE
    return config


def revisions() -> list[str]:
    """Every schema revision this plugin version knows, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head() -> str:
    return revisions()[-1]


def _connect(engine) -> Connection:
    try:
        return engine.connect()
    except (DatabaseError, InterfaceError) as error:  # unreachable, refused, or not a database at all
        raise StoreConfigError(URL_KEY, f"cannot open {shown(engine.url)}: {error.orig}") from None


def current_revision(url: str | URL) -> str | None:
    """The schema revision recorded in the store (None: empty or from before migrations)."""
    engine = open_engine(url, for_migration=True)
    try:
        with _connect(engine) as connection:
            return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str | URL, target: str = "head") -> str:
    """Bring the store at ``url`` to ``target`` (default: the newest schema); returns the revision it is at."""
    known = revisions()
    target = known[-1] if target == "head" else target
    check_sqlite_file(parse_url(url))  # before the first connection switches the file to WAL
    engine = open_engine(url, for_migration=True)
    try:
        with _connect(engine) as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            refuse_freqtrades_database(engine.url, inspect(connection).get_table_names())
            current = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
            plan = plan_upgrade(
                has_events_table=inspect(connection).has_table(EVENTS_TABLE),
                current=current,
                revisions=known,
                target=target,
            )
            config = alembic_config(connection)
            if plan.stamp is not None:
                command.stamp(config, plan.stamp)
                current = plan.stamp
            if plan.upgrade_to is not None:
                command.upgrade(config, plan.upgrade_to)
                current = plan.upgrade_to
            return current or target
    finally:
        engine.dispose()
