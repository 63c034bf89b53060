"""Store tests run on SQLite and on a real PostgreSQL server started for the session on loopback."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import require_binary

DATABASES = ["sqlite", "postgresql"]


def postgres_binary(name: str) -> str:
    """``name`` from the newest Debian PostgreSQL install (``/usr/lib/postgresql/<version>/bin``), else PATH."""
    installed = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]), reverse=True
    )
    return require_binary(*installed, name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    port: int
    _names = itertools.count(1)

    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg", options: str = "") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}{options}"

    def new_database(self) -> str:
        """A fresh, empty database on the server; its SQLAlchemy URL."""
        name = f"robust_store_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 (a free port), in a temporary directory, stopped at the end."""
    initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
    as_postgres: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="robust-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user, in a dir it owns
        as_postgres = [require_binary("runuser"), "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
    data, log = base / "data", base / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_postgres, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}\n{server_log}")

    try:
        run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        # fsync off: a throwaway server; -k: its socket stays in our directory
        run(
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=50",
            "start",
        )
        yield PostgresServer(port)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=DATABASES)
def store_url(request, tmp_path) -> str:
    """An empty plugin store: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'robust_plugin.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()
