"""The chaos rehearsal's built-in scenario: every fault kind of the venue, seeded, timed as shares of
the run (an orphan at 20 %, stops cancelled at 30 %, a halt at 35 %, a position closed from outside
at 50 %, a phantom fill at 80 %)."""

from __future__ import annotations

import argparse
from pathlib import Path

from robust_plugin.tools import chaos_check as cc

ORPHAN_PAIR, ORPHAN_QTY = "XRP/USDT:USDT", "300"  # never traded by the bot; about 165 USDT

SCENARIO = """seed = {seed}

[[faults]]
kind = "disconnect"
endpoint = "order.new"
probability = 0.05

[[faults]]
kind = "lost_response"
endpoint = "order.new"
probability = 0.05

[[faults]]
kind = "rate_limit"
endpoint = "*"
retry_after = 1
probability = 0.005

[[faults]]
kind = "server_error"
status = 502
endpoint = "*"
probability = 0.005

[[faults]]
kind = "insufficient_margin"
endpoint = "order.new"
reduce_only = true
probability = 0.05

[[faults]]
kind = "reduce_only_reject"
endpoint = "order.new"
reduce_only = true
probability = 0.04

[[faults]]
kind = "partial_fill"
endpoint = "order.new"
reduce_only = false
ratio = 0.5
probability = 0.06

[[faults]]
kind = "liquidate_after_entry"
reduce_only = false
probability = 0.04

# answered filled, nothing executed; the order's status query says filled too, as both exchanges
# answer for an order they acknowledged (a query that cannot find it makes freqtrade hold its loop in
# its own fetch_order retries, about 35 s every loop, and nothing of the bot runs)
[[faults]]
kind = "phantom_fill"
reduce_only = false
after = "{phantom_at}s"
occurrences = [1]
status_query = true

[[faults]]
kind = "halt"
symbols = ["{second}"]
after = "{halt_at}s"
until = "{halt_until}s"

[[faults]]
kind = "position_lag"
seconds = 4

[[faults]]
kind = "latency"
seconds = 0.3
probability = 0.01

[[faults]]
kind = "external"
symbols = ["{orphan}"]
at = "{orphan_at}s"
action = "open"
side = "SELL"
quantity = {orphan_qty}

[[faults]]
kind = "external"
symbols = ["{first}"]
at = "{cancel_at}s"
action = "cancel_stops"

[[faults]]
kind = "external"
symbols = ["{first}"]
at = "{close_at}s"
action = "close"
"""


def write_scenario(args: argparse.Namespace, workdir: Path, symbols: list[str], duration: float) -> Path:
    if args.scenario:
        return Path(args.scenario)
    path = workdir / "chaos.toml"
    path.write_text(
        SCENARIO.format(
            seed=args.seed,
            orphan=cc.symbol_of(ORPHAN_PAIR),
            orphan_qty=ORPHAN_QTY,
            first=symbols[0],
            second=symbols[1 % len(symbols)],
            orphan_at=int(duration * 0.2),
            cancel_at=int(duration * 0.3),
            halt_at=int(duration * 0.35),
            halt_until=int(duration * 0.35) + 20,
            close_at=int(duration * 0.5),
            phantom_at=int(duration * 0.8),
        )
    )
    return path
