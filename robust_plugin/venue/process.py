"""Run the venue as a child process (for the demo, benchmarks and tests)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robust_plugin.venue.tls import CA_FILE, client_context

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
    base_url: str  # https://127.0.0.1:PORT
    port: int
    proc: subprocess.Popen
    ca_file: Path  # the certificate of the CA this venue's HTTPS certificate comes from
    output: list[str] = field(default_factory=list)
    exchange: str = "binance"  # the dialect it speaks: binance or bybit

    @functools.cached_property
    def ssl_context(self) -> ssl.SSLContext:
        """For HTTP clients other than ccxt (ccxt takes ``ccxt_config``): trusts this venue only."""
        return client_context(self.ca_file)

    def ccxt_config(self) -> dict[str, Any]:
        """ccxt constructor options that send every request of this venue's exchange (ccxt's binance
        classes, or bybit) to this venue (see ``ccxt_config``)."""
        from robust_plugin.venue.ccxt_config import venue_ccxt_config

        return venue_ccxt_config(self.port, self.ca_file, self.exchange)

    def call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """A request to the venue's own endpoints (``/_venue/...``); ``body`` a dict (JSON) or a str
        (TOML); the JSON answer. Raises ``urllib.error.HTTPError`` on a refusal."""
        data, content_type = None, "application/json"
        if isinstance(body, str):
            data, content_type = body.encode(), "application/toml"
        elif body is not None:
            data = json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": content_type}
        )
        with urllib.request.urlopen(request, timeout=timeout, context=self.ssl_context) as response:
            return json.loads(response.read())

    def state(self) -> dict:
        """The ground truth: ``GET /_venue/state``."""
        return self.call("GET", "/_venue/state")


def _command(
    data_dir: Path,
    host: str,
    port: int,
    scenario: Path | None,
    seed: int | None,
    api_key: str | None,
    api_secret: str | None,
    tls_dir: Path,
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
        "--tls-dir",
        str(tls_dir),
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
    tls_dir: Path | None = None,
    exchange: str = "binance",
) -> Iterator[RunningVenue]:
    """Start ``python -m robust_plugin.venue``, wait until it listens, stop it with SIGTERM on exit.

    The venue's CA certificate goes to ``tls_dir`` (default: a temporary directory removed afterwards).
    The child inherits this process's environment, ``PYTHONPATH`` included. ``exchange`` picks the
    dialect (``binance`` or ``bybit``).
    """
    with contextlib.ExitStack() as stack:
        if tls_dir is None:
            tls_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="venue-tls-")))
        extra = (["--exchange", exchange] if exchange != "binance" else []) + list(extra_args or [])
        command = _command(Path(data_dir), host, port, scenario, seed, api_key, api_secret, tls_dir, extra)
        yield from _run(command, api_key, api_secret, Path(tls_dir) / CA_FILE, start_timeout, exchange)


def _run(
    command: list[str],
    api_key: str | None,
    api_secret: str | None,
    ca_file: Path,
    start_timeout: float,
    exchange: str = "binance",
) -> Iterator[RunningVenue]:
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
    venue = RunningVenue(
        base_url=base_url,
        port=int(base_url.rsplit(":", 1)[1]),
        proc=proc,
        ca_file=ca_file,
        output=output,
        exchange=exchange,
    )
    try:
        yield venue
    finally:
        stop_process(proc, signal.SIGTERM, timeout=10)
        reader.join(timeout=5)  # the last lines ("venue stopped") are in ``output`` afterwards
