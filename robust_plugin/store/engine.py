"""Opening the plugin's database: URL checks with errors naming the config key, SQLite settings."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

URL_KEY = "robust_plugin.store.url"
BOT_NAME_KEY = "robust_plugin.store.bot_name"
BOT_NAME_MAX = 100  # the width of the bot_name column
SQLITE_BUSY_MS = 5000
SQLITE_MIGRATION_BUSY_MS = 60000


# freqtrade's own tables: a database holding them is freqtrade's, and the plugin never writes into it
# (freqtrade's migrations rename ``trades`` and drop ``orders``).
FREQTRADE_TABLES = frozenset(("trades", "orders"))


class StoreConfigError(ValueError):
    """The store's URL or bot name is unusable; the message starts with the config key.

    ``key`` is the config key and ``detail`` the rest, so a command line can name its own argument.
    """

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key = key
        self.detail = detail


def parse_url(url: str | URL) -> URL:
    """The SQLAlchemy URL; a bare ``postgresql://`` uses psycopg 3, the driver robust_plugin installs."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError) as error:
        raise StoreConfigError(URL_KEY, f"not a SQLAlchemy URL: {url!r} ({error})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def shown(url: URL) -> str:
    """The URL as it may appear in a message or a log: without its password."""
    return url.render_as_string(hide_password=True)


def check_bot_name(bot_name: str) -> str:
    if not isinstance(bot_name, str) or not bot_name.strip():
        raise StoreConfigError(BOT_NAME_KEY, "every row carries the bot name, it cannot be empty")
    if len(bot_name) > BOT_NAME_MAX:
        raise StoreConfigError(BOT_NAME_KEY, f"at most {BOT_NAME_MAX} characters, got {len(bot_name)}")
    return bot_name


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; ``None`` for an in-memory database or another database system."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "oracle": 1521}


def database_identity(url: str | URL) -> tuple | None:
    """What tells databases apart, whatever the URL's spelling: the resolved file for SQLite (relative
    paths are relative to the working directory, as for freqtrade); the system, host, port and database
    name otherwise (driver, user and options do not matter). ``None`` for an in-memory database."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = sqlite_file(parsed)
        return None if path is None else ("sqlite", str(path.resolve()))
    host = (parsed.host or "localhost").lower()
    return (backend, host, parsed.port or _DEFAULT_PORTS.get(backend), parsed.database)


def same_database(a: str | URL, b: str | URL) -> bool:
    """Do two SQLAlchemy URLs lead to the same database? (An unreadable ``b`` is taken as not the same.)"""
    first = database_identity(a)
    try:
        second = database_identity(b)
    except StoreConfigError:
        return False
    return first is not None and first == second


def freqtrade_tables(names: set[str] | list[str]) -> bool:
    """Do these table names show freqtrade's own database?"""
    return FREQTRADE_TABLES <= set(names)


def refuse_freqtrades_database(url: URL, names: set[str] | list[str]) -> None:
    if freqtrade_tables(names):
        raise StoreConfigError(
            URL_KEY,
            f"{shown(url)} is freqtrade's database (it holds freqtrade's trades and orders tables); the plugin "
            "keeps its events in a database of its own: give another file or database, or leave it out",
        )


def check_sqlite_file(url: URL) -> None:
    """Before any connection that writes (the WAL switch, a migration): an existing SQLite file must
    be a SQLite database, and not freqtrade's. Read-only; a file that does not exist yet passes."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return
    try:
        with closing(sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)) as connection:
            names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise StoreConfigError(URL_KEY, f"{path} is not a SQLite database ({error})") from None
    refuse_freqtrades_database(url, names)


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
        raise StoreConfigError(URL_KEY, f"no database driver for {shown(parsed)} ({error})") from None
    except ArgumentError as error:
        raise StoreConfigError(URL_KEY, f"cannot use {shown(parsed)} ({error})") from None
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
