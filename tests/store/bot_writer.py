"""One bot process for the concurrency test: waits for the go signal, opens the store, writes N events.

python -m tests.store.bot_writer URL BOT_NAME N READY_FILE GO_FILE
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from robust_plugin.store import Event, EventStore


def main(url: str, bot_name: str, count: int, ready: Path, go: Path) -> None:
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():  # every bot opens the store (and migrates it) at the same moment
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.005)
    store = EventStore(url, bot_name)
    for seq in range(count):
        store.record(
            Event(
                kind="aged_phase",
                created_at=datetime.now(UTC),
                trade_id=seq % 7,
                pair="BTC/USDT:USDT",
                data={"seq": seq},
            )
        )
    store.close()
    print(f"{bot_name} wrote {count} at revision {store.revision}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
