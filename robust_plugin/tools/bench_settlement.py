"""The settlement benchmark: the seed system's fixed verification (wait 1 s, then 10 polls 0.5 s apart,
then "not found") and the plugin's settlement job (one position read per loop), side by side against
the same seeded visibility lags on the venue (``make bench``, part ``settlement``)."""

from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from robust_plugin.tools import sampledata
from robust_plugin.venue.process import run_venue

SPEED = 5.0  # venue seconds per wall second, so long lags do not take long


def _lags(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    # mostly quick, a fat tail into tens of seconds (the incident's API)
    return [round(min(40.0, rng.lognormvariate(0.7, 1.0)), 2) for _ in range(count)]


def _seed_policy(read, clock, sleep) -> tuple[bool, int, float | None]:
    """The seed system: 1 s, then 10 polls 0.5 s apart, then "not found"."""
    sleep(1.0)
    for n in range(10):
        if read():
            return True, n + 1, clock()
        sleep(0.5)
    return False, 10, None


def _our_policy(read, clock, sleep, filled_at: float, loop_s: float = 1.0) -> tuple[bool, int, float | None]:
    from robust_plugin.core import settlement as core

    policy = core.SettlementPolicy(deadline_s=120, late_after_s=10, dense_window_s=60, max_spacing_s=10)
    job = core.new_job(1, "BTC/USDT:USDT", "long", "1", filled_at, 0.01, filled_at)
    reads = 0
    history = core.FillHistory(our_fill_seen=True)  # the order reported filled (it did)
    while True:
        now = clock()
        if core.is_due(job, now):
            reads += 1
            seen = read()
            observation = core.PositionObservation("long", 0.01 if seen else 0.0, now)
            check = core.step(job, observation, now, loop_s, policy)
            if check.needs_history:
                check = core.step(job, observation, now, loop_s, policy, history)
            job = check.job
            if job.outcome in (core.SettlementOutcome.VERIFIED, core.SettlementOutcome.VERIFIED_LATE):
                return True, reads, now
            if job.outcome in (core.SettlementOutcome.NEVER_FILLED, core.SettlementOutcome.CLOSED_IMMEDIATELY):
                return False, reads, None
        sleep(loop_s)


def bench_settlement(quick: bool, seed: int = 7) -> dict:
    import ccxt

    count = 8 if quick else 20
    lags = _lags(count, seed)
    latencies: list[float] = []
    rows = {
        "seed": {"false_not_found": 0, "reads": [], "delays": []},
        "ours": {"false_not_found": 0, "reads": [], "delays": []},
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        datadir = Path(tmp_name) / "binance"
        sampledata.generate(datadir, pairs=("BTC/USDT:USDT",), days=5, seed=1)
        with run_venue(
            datadir, api_key="bench", api_secret="bench", extra_args=["--speed", str(SPEED), "--balance", "1000000"]
        ) as venue:

            def client():
                return ccxt.binanceusdm(
                    {
                        "apiKey": "bench",
                        "secret": "bench",
                        **venue.ccxt_config(),
                        "options": {"fetchCurrencies": False},
                    }
                )

            main = client()
            main.load_markets()
            started_wall = time.time()

            def venue_clock() -> float:  # venue seconds, as the venue counts them
                return started_wall + (time.time() - started_wall) * SPEED

            def sleep(venue_seconds: float) -> None:
                time.sleep(venue_seconds / SPEED)

            for i, lag in enumerate(lags):
                venue.call("DELETE", "/_venue/faults")
                venue.call("POST", "/_venue/faults", f'[[faults]]\nkind = "position_lag"\nseconds = {lag}\n')
                side = "buy" if i % 2 == 0 else "sell"
                # positionRisk shows the position as of ``lag`` ago: the previous round's position must
                # be that far in the past, or a lagged view would show it and pass for this fill
                sleep(lag + 0.5)
                filled_at = venue_clock()
                main.create_order("BTC/USDT:USDT", "market", side, 0.01)
                visible_at = filled_at + lag
                results = {}

                def run(name, policy):
                    ex = client()
                    ex.markets, ex.markets_by_id = main.markets, main.markets_by_id

                    def read() -> bool:
                        started = time.time()
                        positions = ex.fetch_positions(["BTC/USDT:USDT"])
                        latencies.append((time.time() - started) * SPEED)
                        expected = "long" if side == "buy" else "short"  # noqa: B023 - called within the iteration
                        return any(p["side"] == expected and p["contracts"] for p in positions)

                    results[name] = (  # noqa: B023 - called within the iteration
                        policy(read, venue_clock, sleep)
                        if name == "seed"
                        else policy(read, venue_clock, sleep, filled_at)  # noqa: B023 - called within the iteration
                    )

                threads = [
                    threading.Thread(target=run, args=("seed", _seed_policy)),
                    threading.Thread(target=run, args=("ours", _our_policy)),
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                for name, (found, reads, at) in results.items():
                    row = rows[name]
                    row["reads"].append(reads)
                    if not found:
                        row["false_not_found"] += 1  # the position was there: the order had filled
                    else:
                        row["delays"].append(max(0.0, at - visible_at))
                print(
                    f"  lag {lag:5.2f}s  seed: {'found' if results['seed'][0] else 'NOT FOUND':9} ours: "
                    f"{'found' if results['ours'][0] else 'NOT FOUND'}",
                    flush=True,
                )
                # flatten for the next round
                main.create_order(
                    "BTC/USDT:USDT", "market", "sell" if side == "buy" else "buy", 0.01, None, {"reduceOnly": True}
                )

    def summary(row):
        delays = sorted(row["delays"]) or [float("nan")]
        return {
            "false_not_found": row["false_not_found"],
            "reads_per_verification": statistics.mean(row["reads"]),
            "delay_median_s": statistics.median(delays),
            "delay_p95_s": delays[min(len(delays) - 1, int(0.95 * len(delays)))],
        }

    return {
        "verifications": count,
        "lags_s": lags,
        "seed_policy": summary(rows["seed"]),
        "ours": summary(rows["ours"]),
        "loop_interval_s": 1.0,
        "read_latency_s": statistics.mean(latencies),
    }
