"""Three bot processes start at once on one empty store and write at the same time: nothing is lost."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, text

from robust_plugin.store import EventStore, migrate

ROOT = Path(__file__).resolve().parents[2]
BOTS = ("bot-a", "bot-b", "bot-c")
PER_BOT = 300


def test_three_bot_processes_writing_at_once_lose_nothing(store_url, tmp_path):
    go = tmp_path / "go"
    procs = []
    for bot in BOTS:
        ready = tmp_path / f"{bot}.ready"
        args = [sys.executable, "-m", "tests.store.bot_writer", store_url, bot, str(PER_BOT), str(ready), str(go)]
        procs.append(
            (bot, ready, subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        )
    deadline = time.monotonic() + 60
    while not all(ready.exists() for _, ready, _ in procs):
        assert time.monotonic() < deadline, "bot processes did not start"
        assert all(p.poll() is None for _, _, p in procs), [
            p.communicate() for _, _, p in procs if p.poll() is not None
        ]
        time.sleep(0.01)
    go.touch()
    for bot, _, proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{bot} failed:\n{err}"
        assert f"{bot} wrote {PER_BOT} at revision 0002" in out

    store = EventStore(store_url, "checker")
    for bot in BOTS:
        seqs = Counter(e.data["seq"] for e in store.events(bot_name=bot))
        assert seqs == Counter(range(PER_BOT)), f"{bot}: missing or doubled rows"
    assert len(store.events()) == len(BOTS) * PER_BOT
    assert len({e.id for e in store.events()}) == len(BOTS) * PER_BOT
    assert migrate.current_revision(store_url) == migrate.head()
    if store_url.startswith("sqlite"):  # the settings that let bots share one file held
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 5000
    else:  # one schema, one version row: the advisory lock serialised the three upgrades
        engine = create_engine(store_url)
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT COUNT(*) FROM {migrate.VERSION_TABLE}")).scalar_one() == 1
        engine.dispose()
    store.close()
