"""The chaos rehearsal's checker: the venue's ground truth against freqtrade's database and the
plugin's events, as one row per check with an ok flag (pure: no I/O, no clock, no freqtrade).

Times are epoch milliseconds throughout; the venue's clock is the wall clock, so its times compare
with freqtrade's and the plugin's. Time while freqtrade is down (from a SIGKILL until the restarted
bot runs its loop) counts towards no duration: nothing can report anything then.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from robust_plugin.core.advice import TABLE, Advice
from robust_plugin.core.kinds import CLOSE_EVENTS, EventKind
from robust_plugin.tools.chaos_run import (  # noqa: F401 - the run model, re-exported for the runner
    Episode,
    Event,
    Limits,
    Order,
    Restart,
    Row,
    Run,
    Sample,
    Timeline,
    Trade,
    _downtime,
    _subtract,
    pair_of,
    symbol_of,
    timelines,
    up_ms,
)

FULL_CLOSE_ID = re.compile(r"-t(\d+)-x(\d+)$")

# event kind -> subject of the alert it deserves (the same trade and pair), from the advice table
_DESERVES = {
    EventKind.FINDING_ORPHAN: Advice.FINDING_ORPHAN,
    EventKind.FINDING_GHOST: Advice.FINDING_GHOST,
    EventKind.FINDING_SIZE_MISMATCH: Advice.FINDING_SIZE_MISMATCH,
    EventKind.FINDING_UNPROTECTED: Advice.FINDING_UNPROTECTED,
    EventKind.SETTLEMENT_VERIFIED_LATE: Advice.SETTLEMENT_VERIFIED_LATE,
    EventKind.SETTLEMENT_SIZE_MISMATCH: Advice.SETTLEMENT_SIZE_MISMATCH,
    EventKind.SETTLEMENT_CLOSED_IMMEDIATELY: Advice.SETTLEMENT_CLOSED_IMMEDIATELY,
    EventKind.SETTLEMENT_NEVER_FILLED: Advice.SETTLEMENT_NEVER_FILLED,
    EventKind.SETTLEMENT_UNKNOWN: Advice.SETTLEMENT_UNKNOWN,
    EventKind.CLOSE_SKIPPED_GONE: Advice.POSITION_GONE,
    EventKind.CLOSED_OUTSIDE: Advice.CLOSED_OUTSIDE,
    EventKind.CLOSE_STUCK: Advice.CLOSE_STUCK,
    EventKind.CLOSE_HELD_SMALLER: Advice.POSITION_SMALLER_STUCK,
}
ALERT_SUBJECTS = {kind.value: TABLE[advice].subject for kind, advice in _DESERVES.items()}
# what tells the user that an open trade has no position
GHOST_REPORTS = frozenset(
    {
        "finding_ghost",
        "finding_size_mismatch",
        "close_skipped_gone",
        "closed_outside",
        "settlement_closed_immediately",
        "settlement_never_filled",
        "settlement_unknown",
    }
)
# what tells the user that a position has no stop order
UNPROTECTED_REPORTS = frozenset({"finding_unprotected", "finding_orphan"})


def unprotected_episodes(run: Run) -> list[Episode]:
    """Stretches in which a position was open on the exchange with no live stop order on its closing side."""
    end = int(run.truth["now"])
    downtime = _downtime(run)
    stops: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for algo in run.truth.get("algo_orders", []):
        until = end if algo["algo_status"] == "NEW" else int(algo["update_time"])
        stops[(algo["symbol"], algo["side"])].append((int(algo["create_time"]), until))
    episodes = []
    for symbol, timeline in timelines(run.truth).items():
        exposures: list[list] = []  # merged stretches of one sign: [start, end, sign]
        for start, stop, amount in timeline.segments(end):
            sign = (amount > 0) - (amount < 0)
            if sign and exposures and exposures[-1][2] == sign and exposures[-1][1] == start:
                exposures[-1][1] = stop
            elif sign:
                exposures.append([start, stop, sign])
        for start, stop, sign in exposures:
            covers = stops.get((symbol, "SELL" if sign > 0 else "BUY"), [])
            for a, b in _subtract((start, stop), covers):
                episodes.append(Episode(symbol, pair_of(symbol), a, b, up_ms(a, b, downtime)))
    return episodes


def ghost_episodes(run: Run) -> list[Episode]:
    """Stretches in which freqtrade had a trade open and the exchange had no position of its side."""
    lines = timelines(run.truth)
    downtime = _downtime(run)
    open_runs: dict[int, list[int]] = {}  # trade id -> sample times of the current stretch
    pairs: dict[int, str] = {}
    episodes = []

    def close(trade_id: int) -> None:
        times = open_runs.pop(trade_id)
        episodes.append(
            Episode(str(trade_id), pairs[trade_id], times[0], times[-1], up_ms(times[0], times[-1], downtime))
        )

    for sample in sorted(run.samples, key=lambda s: s.at_ms):
        absent_now = set()
        for trade_id, pair, is_short in sample.open_trades:
            pairs[trade_id] = pair
            timeline = lines.get(symbol_of(pair))
            amount = timeline.at(sample.at_ms) if timeline else 0.0
            if amount * (-1 if is_short else 1) <= 0:
                absent_now.add(trade_id)
                open_runs.setdefault(trade_id, []).append(sample.at_ms)
        for trade_id in [t for t in open_runs if t not in absent_now]:
            close(trade_id)
    for trade_id in list(open_runs):
        close(trade_id)
    return episodes


def _reported(
    events: list[Event],
    kinds: frozenset[str],
    start: int,
    end: int,
    slack_ms: int,
    *,
    trade_id: int | None = None,
    pair: str | None = None,
) -> bool:
    return any(
        e.kind in kinds
        and start - slack_ms <= e.at_ms <= end + slack_ms
        and (trade_id is None or e.trade_id == trade_id)
        and (pair is None or e.pair == pair)
        for e in events
    )


def orphan_since(run: Run, symbol: str) -> int:
    """Since when the position on ``symbol`` has had no open trade: the later of the start of its
    current stretch and the last sample in which a trade of that symbol was open."""
    timeline = timelines(run.truth).get(symbol)
    since, before = 0, 0.0
    for t, amount in zip(timeline.times, timeline.amounts, strict=True) if timeline else ():
        if amount and before * amount <= 0:  # opened, or flipped side
            since = t
        before = amount
    covered = [s.at_ms for s in run.samples if any(symbol_of(p) == symbol for _, p, _ in s.open_trades)]
    return max([since, *covered])


def stalled_closes(run: Run) -> list[int]:
    """Open trades whose close started but which showed no close activity for longer than the
    plugin's longest wait, and whose last word was not an alert handing the trade to the user."""
    end = int(run.truth["now"])
    downtime = _downtime(run)
    open_ids = {t.id for t in run.trades if t.is_open}
    started = {e.trade_id for e in run.events if e.kind in ("close_attempt", "close_chunk")}
    last: dict[int, Event] = {}
    for e in run.events:
        if e.trade_id in open_ids and (
            e.kind == EventKind.ALERT or e.kind in CLOSE_EVENTS
        ):  # attempts, failures, waits
            last[e.trade_id] = e
    return sorted(
        t
        for t in open_ids & started
        if last[t].kind != "alert" and up_ms(last[t].at_ms, end, downtime) > run.limits.stall_limit_ms
    )


def unrecorded_orders(run: Run) -> tuple[list[dict], list[dict]]:
    """Orders the bot sent that executed on the exchange but are not in freqtrade's database:
    (unexcused, sent just before a SIGKILL or the final stop)."""
    known = {o.exchange_id for o in run.orders}
    deaths = [r.killed_ms for r in run.restarts] + ([run.stopped_ms] if run.stopped_ms else [])
    unexcused, at_kill = [], []
    for order in run.truth.get("orders", []):
        if order.get("origin", "api") != "api" or float(order["executed_qty"]) <= 0 or str(order["order_id"]) in known:
            continue
        sent = int(order["time"])
        killed = any(t - run.kill_window_ms <= sent <= t + run.kill_window_ms for t in deaths)
        (at_kill if killed else unexcused).append(order)
    return unexcused, at_kill


def double_closes(truth: dict) -> list[int]:
    """Trades with more than one executed full-close order (client ids ``...-t<trade>-x<attempt>``)."""
    executed = Counter()
    for order in truth.get("orders", []):
        match = FULL_CLOSE_ID.search(order["client_order_id"])
        if match and float(order["executed_qty"]) > 0:
            executed[int(match[1])] += 1
    return sorted(t for t, n in executed.items() if n > 1)


def missing_events(run: Run) -> tuple[list[str], list[str]]:
    """(entry fills without a settlement outcome, executed closes without their attempt event)."""
    end = int(run.truth["now"])
    outcomes = {
        (e.trade_id, str(e.data.get("order_id")))
        for e in run.events
        if (EventKind.parse(e.kind) or EventKind.ALERT).settlement_verdict is not None
    }
    settle_by = end - int((run.limits.settlement_deadline_s + run.limits.slack_s) * 1000)
    unsettled = [
        f"trade {o.trade_id} order {o.exchange_id}"
        for o in run.orders
        if o.entry and o.filled > 0 and (o.trade_id, o.exchange_id) not in outcomes and (o.filled_ms or 0) <= settle_by
    ]
    attempted = {str(e.data.get("client_order_id")) for e in run.events if e.kind in ("close_attempt", "close_chunk")}
    unattempted = [
        o["client_order_id"]
        for o in run.truth.get("orders", [])
        if FULL_CLOSE_ID.search(o["client_order_id"])
        and float(o["executed_qty"]) > 0
        and o["client_order_id"] not in attempted
    ]
    return unsettled, unattempted


def unalerted(run: Run) -> tuple[int, list[Event]]:
    """(events that deserve an alert, those that got none within the alert's dedup interval)."""
    alerts = [e for e in run.events if e.kind == "alert"]
    window = int(run.limits.alert_min_interval_s * 1000)
    slack = int(run.limits.slack_s * 1000)
    due = [e for e in run.events if e.kind in ALERT_SUBJECTS]
    missing = [
        e
        for e in due
        if not any(
            a.trade_id == e.trade_id
            and a.pair == e.pair
            and a.data.get("subject") == ALERT_SUBJECTS[e.kind]
            and e.at_ms - window <= a.at_ms <= e.at_ms + slack
            for a in alerts
        )
    ]
    return len(due), missing


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.0f}s"


def check(run: Run) -> list[Row]:
    """Every row of the table; a row with ``ok`` False is a broken invariant."""
    truth, limits, events = run.truth, run.limits, list(run.events)
    slack = int(limits.slack_s * 1000)
    rows = [
        Row(
            "trades (closed / open)", f"{sum(not t.is_open for t in run.trades)} / {sum(t.is_open for t in run.trades)}"
        )
    ]
    faults = Counter(f["kind"] for f in truth.get("faults_fired", []))
    rows.append(Row("faults fired", str(sum(faults.values()))))
    rows += [Row(f"  {kind}", str(n)) for kind, n in sorted(faults.items())]
    kills = [r.kind for r in run.restarts]
    rows.append(Row("SIGKILL restarts", ", ".join(kills) or "none", all(k in kills for k in run.expected_restarts)))

    open_symbols = {symbol_of(t.pair) for t in run.trades if t.is_open}
    orphans = [p["symbol"] for p in truth.get("positions", []) if p["symbol"] not in open_symbols]
    end, report_within = int(truth["now"]), int((limits.reconcile_interval_s + limits.slack_s) * 1000)
    unreported = [
        s
        for s in orphans
        if end - orphan_since(run, s) > report_within
        and not any(e.kind == "finding_orphan" and e.pair == pair_of(s) for e in events)
    ]
    rows.append(Row("orphan positions at the end (unreported)", f"{len(orphans)} ({len(unreported)})", not unreported))

    naked = unprotected_episodes(run)
    over = [e for e in naked if e.up_ms > limits.unprotected_limit_ms]
    silent = [e for e in over if not _reported(events, UNPROTECTED_REPORTS, e.start_ms, e.end_ms, slack, pair=e.pair)]
    excess = sum(e.up_ms - limits.unprotected_limit_ms for e in over)
    rows.append(
        Row(
            f"position-seconds without a stop beyond {_seconds(limits.unprotected_limit_ms)} (unreported)",
            f"{excess / 1000:.0f} in {len(over)} ({len(silent)})",
            # without stops on the exchange freqtrade's stop-loss runs in the bot: a figure, not an invariant
            not silent if limits.stops_on_exchange else None,
        )
    )

    stalled = stalled_closes(run)
    rows.append(
        Row(f"closes started and then silent > {_seconds(limits.stall_limit_ms)}", str(len(stalled)), not stalled)
    )

    doubles = double_closes(truth)
    rows.append(Row("close orders executed twice for one decision", str(len(doubles)), not doubles))

    lost, at_kill = unrecorded_orders(run)
    rows.append(
        Row(
            "executed orders freqtrade never recorded (at a kill or the stop)",
            f"{len(lost)} ({len(at_kill)})",
            not lost,
        )
    )

    ghosts = ghost_episodes(run)
    longer = [g for g in ghosts if g.up_ms > limits.reconcile_interval_s * 1000]
    silent_ghosts = [
        g
        for g in longer
        if g.up_ms > limits.ghost_limit_ms
        and not _reported(events, GHOST_REPORTS, g.start_ms, g.end_ms, slack, trade_id=int(g.key))
    ]
    rows.append(
        Row(
            f"open trades without a position > {_seconds(int(limits.reconcile_interval_s * 1000))} "
            f"(unreported > {_seconds(limits.ghost_limit_ms)})",
            f"{len(longer)} ({len(silent_ghosts)})",
            not silent_ghosts,
        )
    )

    due, missing_alerts = unalerted(run)
    rows.append(
        Row("findings that deserve an alert (without one)", f"{due} ({len(missing_alerts)})", not missing_alerts)
    )
    rows.append(Row("alerts raised", str(sum(e.kind == "alert" for e in events))))

    unsettled, unattempted = missing_events(run)
    rows.append(
        Row(
            "events missing after restarts: settlement outcomes, close attempts",
            f"{len(unsettled)}, {len(unattempted)}",
            not unsettled and not unattempted,
        )
    )
    return rows


def broken(rows: list[Row]) -> list[str]:
    return [row.check for row in rows if row.ok is False]
