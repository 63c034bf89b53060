"""The chaos checker on small hand-built ground truths: every invariant row passes on a clean run
and fails on the one fault it exists to catch."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from robust_plugin.tools import chaos_check as cc

S = 1000  # ms
LIMITS = cc.Limits(
    reconcile_interval_s=10,
    reconcile_grace_s=20,
    unprotected_after_s=30,
    settlement_deadline_s=60,
    alert_min_interval_s=60,
    close_backoff_max_s=10,
    slack_s=5,
)
BOTH_KILLS = (cc.Restart("close", 500 * S, 510 * S), cc.Restart("settlement", 600 * S, 610 * S))
PAIR, SYMBOL = "BTC/USDT:USDT", "BTCUSDT"


def truth(now=1000 * S, **parts) -> dict:
    return {
        "now": now,
        "orders": [],
        "algo_orders": [],
        "position_history": [],
        "positions": [],
        "faults_fired": [],
        **parts,
    }


def position(t, amount, symbol=SYMBOL) -> dict:
    return {"time": t, "symbol": symbol, "amount": str(amount), "entryPrice": "100", "margin": "1"}


def stop(created, updated, status="CANCELED", side="SELL", symbol=SYMBOL) -> dict:
    return {"symbol": symbol, "side": side, "create_time": created, "update_time": updated, "algo_status": status}


def venue_order(order_id, client_id, executed="1", t=100 * S, origin="api") -> dict:
    return {"order_id": order_id, "client_order_id": client_id, "executed_qty": executed, "time": t, "origin": origin}


def event(kind, at, trade_id=None, pair=PAIR, **data) -> cc.Event:
    return cc.Event(kind, trade_id, pair, at, data)


def run(**changes) -> cc.Run:
    base = cc.Run(truth(), (), (), (), (), BOTH_KILLS, LIMITS)
    return replace(base, **changes)


def row(r: cc.Run, prefix: str) -> cc.Row:
    rows = cc.check(r)
    matches = [x for x in rows if x.check.startswith(prefix)]
    assert len(matches) == 1, [x.check for x in rows]
    return matches[0]


def test_an_empty_clean_run_breaks_nothing_and_prints_every_row():
    rows = cc.check(run())
    assert cc.broken(rows) == []
    names = " | ".join(r.check for r in rows)
    for part in (
        "trades",
        "faults fired",
        "SIGKILL",
        "orphan",
        "without a stop",
        "silent",
        "executed twice",
        "never recorded",
        "without a position",
        "alert",
        "events missing",
    ):
        assert part in names


def test_faults_are_counted_by_kind():
    fired = [{"kind": "lost_response"}, {"kind": "rate_limit"}, {"kind": "lost_response"}]
    rows = cc.check(run(truth=truth(faults_fired=fired)))
    values = {r.check.strip(): r.value for r in rows}
    assert values["faults fired"] == "3" and values["lost_response"] == "2" and values["rate_limit"] == "1"


def test_a_missing_restart_fails_the_restart_row():
    assert row(run(), "SIGKILL").ok
    assert row(run(restarts=BOTH_KILLS[:1]), "SIGKILL").ok is False


def test_an_orphan_at_the_end_must_have_been_reported():
    orphan = truth(positions=[{"symbol": "XRPUSDT", "amount": "-300"}])
    assert row(run(truth=orphan), "orphan").ok is False
    reported = (event("finding_orphan", 300 * S, pair="XRP/USDT:USDT"),)
    assert row(run(truth=orphan, events=reported), "orphan").ok
    covered = (cc.Trade(1, "XRP/USDT:USDT", True, True),)  # an open trade covers it: not an orphan
    assert row(run(truth=orphan, trades=covered), "orphan").ok


def test_an_orphan_younger_than_one_reconcile_interval_need_not_be_reported_yet():
    history = [position(100 * S, -300, "XRPUSDT"), position(990 * S, -600, "XRPUSDT")]  # grew, same side
    old = truth(positions=[{"symbol": "XRPUSDT", "amount": "-600"}], position_history=history)
    assert row(run(truth=old), "orphan").ok is False
    young = truth(
        positions=[{"symbol": "XRPUSDT", "amount": "-300"}], position_history=[position(990 * S, -300, "XRPUSDT")]
    )
    assert row(run(truth=young), "orphan").ok
    trade_until_recently = (cc.Sample(992 * S, ((4, "XRP/USDT:USDT", True),)),)  # its trade closed after 992 s
    assert row(run(truth=old, samples=trade_until_recently), "orphan").ok


def test_a_position_without_a_stop_beyond_the_limit_must_have_been_reported():
    # long from 100 s to 200 s; the limit is 20 s grace + 30 s + 10 s interval + 5 s slack = 65 s
    history = [position(100 * S, 1), position(200 * S, 0)]
    naked = truth(position_history=history)
    assert row(run(truth=naked), "position-seconds").ok is False
    assert row(run(truth=naked), "position-seconds").value.startswith("35 in 1")
    protected = truth(position_history=history, algo_orders=[stop(101 * S, 200 * S, "FINISHED")])
    assert row(run(truth=protected), "position-seconds").ok
    wrong_side = truth(position_history=history, algo_orders=[stop(101 * S, 200 * S, side="BUY")])
    assert row(run(truth=wrong_side), "position-seconds").ok is False
    cancelled_early = truth(position_history=history, algo_orders=[stop(101 * S, 120 * S)])  # 80 s bare afterwards
    assert row(run(truth=cancelled_early), "position-seconds").ok is False
    reported = (event("finding_unprotected", 160 * S, trade_id=1),)
    assert row(run(truth=cancelled_early, events=reported), "position-seconds").ok
    bot_down = (cc.Restart("close", 130 * S, 190 * S), BOTH_KILLS[1])  # only 20 s of it with the bot running
    assert row(run(truth=cancelled_early, restarts=bot_down), "position-seconds").ok


def test_a_stop_still_open_at_the_end_covers_the_position_to_the_end():
    history = [position(100 * S, -2)]
    assert row(
        run(truth=truth(position_history=history, algo_orders=[stop(100 * S, 0, "NEW", side="BUY")])),
        "position-seconds",
    ).ok
    assert row(run(truth=truth(position_history=history)), "position-seconds").ok is False


def test_a_close_that_started_and_then_went_silent_fails():
    # limit: 10 s longest backoff + 3 x 5 s slack = 25 s; the run ends at 1000 s
    open_trade = (cc.Trade(9, PAIR, False, True),)
    silent = (event("close_attempt", 900 * S, trade_id=9), event("close_failed", 900 * S, trade_id=9))
    assert row(run(trades=open_trade, events=silent), "closes started").ok is False
    retrying = (*silent, event("close_attempt", 990 * S, trade_id=9))
    assert row(run(trades=open_trade, events=retrying), "closes started").ok
    handed_over = (*silent, event("alert", 901 * S, trade_id=9, subject="close keeps failing"))
    assert row(run(trades=open_trade, events=handed_over), "closes started").ok
    closed = (cc.Trade(9, PAIR, False, False),)
    assert row(run(trades=closed, events=silent), "closes started").ok
    never_started = (event("aged_stage", 100 * S, trade_id=9),)
    assert row(run(trades=open_trade, events=never_started), "closes started").ok


def test_two_executed_full_closes_for_one_trade_fail():
    once = [venue_order(1, "chaos-t5-x1"), venue_order(2, "chaos-t5-x2", executed="0")]
    assert row(run(truth=truth(orders=once)), "close orders executed twice").ok
    twice = [venue_order(1, "chaos-t5-x1"), venue_order(2, "chaos-t5-x2")]
    assert row(run(truth=truth(orders=twice)), "close orders executed twice").ok is False
    chunks = [venue_order(1, "chaos-t5-c1"), venue_order(2, "chaos-t5-c2")]  # chunks are separate decisions
    assert row(run(truth=truth(orders=chunks)), "close orders executed twice").ok


def test_an_executed_order_freqtrade_never_recorded_fails_unless_a_sigkill_took_it():
    lost = truth(orders=[venue_order(7, "rp-BTC-1", t=300 * S)])
    assert row(run(truth=lost), "executed orders").ok is False
    recorded = (cc.Order(1, "7", True, 1.0, 300 * S),)
    assert row(run(truth=lost, orders=recorded), "executed orders").ok
    killed = (cc.Restart("close", 302 * S, 320 * S), BOTH_KILLS[1])
    assert row(run(truth=lost, restarts=killed), "executed orders").ok
    assert row(run(truth=lost, stopped_ms=299 * S), "executed orders").ok  # in flight when the run stopped the bot
    assert row(run(truth=lost, stopped_ms=400 * S), "executed orders").ok is False
    outside = truth(
        orders=[venue_order(8, "web_1", origin="external"), venue_order(9, "autoclose-1", origin="liquidation")]
    )
    assert row(run(truth=outside), "executed orders").ok


def _samples(trade_id, start_s, end_s, is_short=False):
    return tuple(cc.Sample(t * S, ((trade_id, PAIR, is_short),)) for t in range(start_s, end_s + 1, 2))


def test_an_open_trade_without_a_position_for_long_must_have_been_reported():
    # trade 3 long, open 100-200 s; the position went away at 120 s (liquidated)
    gone = truth(position_history=[position(99 * S, 1), position(120 * S, 0)])
    samples = _samples(3, 100, 200)
    assert row(run(truth=gone, samples=samples), "open trades without a position").ok is False
    reported = (event("settlement_closed_immediately", 121 * S, trade_id=3),)
    assert row(run(truth=gone, samples=samples, events=reported), "open trades without a position").ok
    other_trade = (event("finding_ghost", 150 * S, trade_id=4),)
    assert row(run(truth=gone, samples=samples, events=other_trade), "open trades without a position").ok is False
    brief = truth(position_history=[position(99 * S, 1), position(190 * S, 0)])  # 10 s: below every limit
    assert row(run(truth=brief, samples=samples), "open trades without a position").ok
    opposite = truth(position_history=[position(99 * S, -1)])  # a short position does not hold a long trade
    assert row(run(truth=opposite, samples=samples), "open trades without a position").ok is False
    held = truth(position_history=[position(99 * S, 1)])
    assert row(run(truth=held, samples=samples), "open trades without a position").ok


def test_a_finding_without_its_alert_fails():
    finding = event("finding_orphan", 300 * S, pair="XRP/USDT:USDT")
    assert row(run(events=(finding,)), "findings that deserve").ok is False
    alert = event("alert", 300 * S + 5, pair="XRP/USDT:USDT", subject="reconciliation: orphan")
    assert row(run(events=(finding, alert)), "findings that deserve").ok
    deduplicated = event("alert", 260 * S, pair="XRP/USDT:USDT", subject="reconciliation: orphan")  # 40 s earlier
    assert row(run(events=(finding, deduplicated)), "findings that deserve").ok
    other_subject = event("alert", 300 * S, pair="XRP/USDT:USDT", subject="reconciliation: ghost")
    assert row(run(events=(finding, other_subject)), "findings that deserve").ok is False
    gone = event("close_skipped_gone", 300 * S, trade_id=2)
    assert row(run(events=(gone,)), "findings that deserve").ok is False


def test_an_entry_fill_without_a_settlement_outcome_fails_after_the_deadline():
    fill = (cc.Order(2, "11", True, 1.0, 500 * S),)
    assert row(run(orders=fill), "events missing").ok is False
    outcome = (event("settlement_verified", 503 * S, trade_id=2, order_id="11"),)
    assert row(run(orders=fill, events=outcome), "events missing").ok
    recent = (cc.Order(2, "11", True, 1.0, 990 * S),)  # still within the 60 s deadline at the end
    assert row(run(orders=recent), "events missing").ok
    exit_fill = (cc.Order(2, "12", False, 1.0, 500 * S),)  # exits have no settlement
    assert row(run(orders=exit_fill), "events missing").ok


def test_an_executed_close_without_its_attempt_event_fails():
    close = truth(orders=[venue_order(1, "chaos-t5-x1")])
    assert row(run(truth=close), "events missing").ok is False
    attempt = (event("close_attempt", 99 * S, trade_id=5, client_order_id="chaos-t5-x1"),)
    assert row(run(truth=close, events=attempt), "events missing").ok


intervals = st.tuples(st.integers(0, 1000), st.integers(0, 1000)).map(lambda p: (min(p), max(p)))


@given(interval=intervals, covers=st.lists(intervals, max_size=6))
def test_uncovered_parts_are_exactly_the_interval_minus_the_covers(interval, covers):
    gaps = cc._subtract(interval, covers)
    for t in range(interval[0], interval[1]):
        in_gap = any(a <= t < b for a, b in gaps)
        covered = any(a <= t < b for a, b in covers)
        assert in_gap != covered
    assert all(a < b for a, b in gaps)


@given(span=intervals, down=intervals)
def test_running_time_is_the_span_minus_its_overlap_with_the_downtime(span, down):
    up = cc.up_ms(span[0], span[1], [down])
    running = sum(1 for t in range(span[0], span[1]) if not down[0] <= t < down[1])
    assert up == running
