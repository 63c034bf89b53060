"""Run the venue as a child process (for the demo, benchmarks and tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

READY_LINE = "venue listening on"


class VenueStartError(RuntimeError):
    """The venue process exited or stayed silent instead of listening."""


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Ask a child process to stop with ``sig``; kill it when it has not exited after ``timeout`` s."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class RunningVenue:
    base_url: str
    port: int
    proc: subprocess.Popen
    output: list[str] = field(default_factory=list)


def _command(
    data_dir: Path,
    host: str,
    port: int,
    scenario: Path | None,
    seed: int | None,
    api_key: str | None,
    api_secret: str | None,
    extra_args: list[str],
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "robust_plugin.venue",
        "--host",
        host,
        "--port",
        str(port),
        "--data",
        str(data_dir),
    ]
    if scenario is not None:
        command += ["--scenario", str(scenario)]
    if seed is not None:
        command += ["--seed", str(seed)]
    return command + list(extra_args)


@contextlib.contextmanager
def run_venue(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    scenario: Path | None = None,
    seed: int | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    extra_args: list[str] | None = None,
    start_timeout: float = 60.0,
) -> Iterator[RunningVenue]:
    """Start ``python -m robust_plugin.venue``, wait until it listens, stop it with SIGTERM on exit."""
    command = _command(Path(data_dir), host, port, scenario, seed, api_key, api_secret, extra_args or [])
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if api_key is not None:  # through the environment: keys stay out of the process list
        env.update(VENUE_API_KEY=api_key, VENUE_API_SECRET=api_secret or "")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output: list[str] = []
    ready = threading.Event()

    def pump() -> None:  # keep reading so the pipe never fills; remember the lines for error messages
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if READY_LINE in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + start_timeout
    while not ready.wait(0.05) and time.monotonic() < deadline:
        pass
    listening = [line for line in output if READY_LINE in line]
    if not listening:
        proc.kill()
        proc.wait()
        raise VenueStartError("venue did not start:\n" + "\n".join(output[-20:]))
    base_url = listening[0].split(READY_LINE, 1)[1].strip()
    venue = RunningVenue(base_url=base_url, port=int(base_url.rsplit(":", 1)[1]), proc=proc, output=output)
    try:
        yield venue
    finally:
        stop_process(proc, signal.SIGTERM, timeout=10)
        reader.join(timeout=5)  # the last lines ("venue stopped") are in ``output`` afterwards
