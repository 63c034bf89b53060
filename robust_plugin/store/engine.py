"""Opening the plugin's database: URL checks with errors naming the config key, SQLite settings."""

from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

URL_KEY = "robust_plugin.store.url"
BOT_NAME_KEY = "robust_plugin.store.bot_name"
BOT_NAME_MAX = 100  # the width of the bot_name column
SQLITE_BUSY_MS = 5000
SQLITE_MIGRATION_BUSY_MS = 60000


class StoreConfigError(ValueError):
    """The store's URL or bot name is unusable; the message starts with the config key."""


def parse_url(url: str | URL) -> URL:
    """The SQLAlchemy URL; a bare ``postgresql://`` uses psycopg 3, the driver robust_plugin installs."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError) as error:
        raise StoreConfigError(f"{URL_KEY}: not a SQLAlchemy URL: {url!r} ({error})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def shown(url: URL) -> str:
    """The URL as it may appear in a message or a log: without its password."""
    return url.render_as_string(hide_password=True)


def check_bot_name(bot_name: str) -> str:
    if not isinstance(bot_name, str) or not bot_name.strip():
        raise StoreConfigError(f"{BOT_NAME_KEY}: every row carries the bot name, it cannot be empty")
    if len(bot_name) > BOT_NAME_MAX:
        raise StoreConfigError(f"{BOT_NAME_KEY}: at most {BOT_NAME_MAX} characters, got {len(bot_name)}")
    return bot_name


def _sqlite_settings(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # busy_timeout first, so that even switching to WAL waits for another process instead of failing.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    # WAL lets freqtrade's UI or the CLI read while bots write.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def open_engine(url: str | URL, *, for_migration: bool = False) -> Engine:
    """An engine for ``url``; ``for_migration``: one connection at a time whose transactions lock the database.

    On SQLite a migration transaction starts with ``BEGIN IMMEDIATE``, so two bots opening one file at
    the same time migrate one after the other (the second waits, then finds nothing to do).
    """
    parsed = parse_url(url)
    try:
        engine = create_engine(parsed, poolclass=NullPool) if for_migration else create_engine(parsed)
    except (NoSuchModuleError, ModuleNotFoundError) as error:
        raise StoreConfigError(f"{URL_KEY}: no database driver for {shown(parsed)} ({error})") from None
    except ArgumentError as error:
        raise StoreConfigError(f"{URL_KEY}: cannot use {shown(parsed)} ({error})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_settings)
        if for_migration:
            event.listen(engine, "connect", _sqlite_manual_transactions)
            event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_manual_transactions(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # the driver stops issuing its own BEGIN; we issue ours
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_MIGRATION_BUSY_MS}")  # wait for another bot's migration
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
