"""Settlement jobs and reconciliation findings (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robust_plugin.core import reconcile as rec
from robust_plugin.core import settlement as core

POLICY = core.SettlementPolicy(deadline_s=120, late_after_s=10, dense_window_s=30, max_spacing_s=60)


def run(job, visible_at: float | None, loop: float, until: float, history=None, policy=POLICY):
    """Step ``job`` every ``loop`` seconds; the position appears at ``visible_at``. (job, verdicts, check times)."""
    verdicts, checks, now = [], [], job.filled_at
    while now <= until:
        if core.is_due(job, now) or job.outcome is core.SettlementOutcome.UNKNOWN and now >= job.next_check_at:
            amount = 1.0 if visible_at is not None and now >= visible_at else 0.0
            check = core.step(job, core.PositionObservation("long", amount, now), now, loop, policy)
            if check.action is core.SettlementAction.READ_HISTORY:
                check = core.step(job, core.PositionObservation("long", amount, now), now, loop, policy, history)
            job, verdict = check.job, check.verdict
            checks.append(now)
            if verdict:
                verdicts.append(verdict)
        now += loop
    return job, verdicts, checks


def fresh(filled_at=1000.0):
    return core.new_job(1, "BTC/USDT:USDT", "long", "42", filled_at, 1.0, filled_at)


def test_the_seeds_case_visible_after_three_polls_is_verified():
    job, verdicts, checks = run(fresh(), visible_at=1001.5, loop=0.5, until=1010)
    assert [v.outcome for v in verdicts] == [core.SettlementOutcome.VERIFIED]
    assert verdicts[0].severity == "info" and job.lag_s == pytest.approx(1.5) and job.checks == 4


def test_a_twenty_second_lag_is_late_but_never_a_failure():
    history = core.FillHistory(our_fill_seen=True)
    job, verdicts, _ = run(fresh(), visible_at=1020, loop=2, until=1200, history=history)
    assert [v.outcome for v in verdicts] == [core.SettlementOutcome.VERIFIED_LATE]
    assert verdicts[0].severity != "critical"


def test_liquidated_right_after_the_fill():
    history = core.FillHistory(our_fill_seen=True, closing_fill_after=True, liquidated=True, exit_price=90.0)
    _, verdicts, _ = run(fresh(), visible_at=None, loop=2, until=1200, history=history)
    assert [v.outcome for v in verdicts] == [core.SettlementOutcome.CLOSED_IMMEDIATELY]
    assert "liquidated" in verdicts[0].detail


def test_no_fill_in_history_becomes_never_filled_only_at_the_deadline():
    job, verdicts, _ = run(fresh(), visible_at=None, loop=2, until=1200, history=core.FillHistory(our_fill_seen=False))
    assert [v.outcome for v in verdicts] == [core.SettlementOutcome.NEVER_FILLED]
    assert job.resolved_at >= 1000 + POLICY.deadline_s


def test_unknown_is_critical_once_and_keeps_watching_until_the_position_appears():
    history = core.FillHistory(our_fill_seen=True)  # our fill, nothing after it, no position: unexplained
    job, verdicts, _ = run(fresh(), visible_at=1300, loop=5, until=1500, history=history)
    assert [v.outcome for v in verdicts] == [core.SettlementOutcome.UNKNOWN, core.SettlementOutcome.VERIFIED_LATE]
    assert verdicts[0].severity == "critical"


def test_failed_reads_never_produce_a_verdict():
    job = fresh()
    for i in range(200):
        check = core.step(job, None, 1000 + i * 2, 2, POLICY)
        job = check.job
        assert check.verdict is None and check.action is core.SettlementAction.WAIT
    assert job.outcome is core.SettlementOutcome.PENDING


@given(st.floats(0, 110), st.sampled_from([0.5, 1, 2, 5]))
def test_verified_within_one_loop_of_becoming_visible(lag, loop):
    """The promise: a position is verified on the first check after it becomes visible, and that check
    is never later than visibility plus one loop interval (within the dense window) - or the spacing."""
    visible = 1000 + lag
    job, verdicts, checks = run(fresh(), visible_at=visible, loop=loop, until=1400, history=core.FillHistory(True))
    assert verdicts and verdicts[-1].outcome in (core.SettlementOutcome.VERIFIED, core.SettlementOutcome.VERIFIED_LATE)
    assert all(v.outcome is not core.SettlementOutcome.NEVER_FILLED for v in verdicts)
    delay = job.resolved_at - visible
    allowed = loop if lag < POLICY.dense_window_s else POLICY.max_spacing_s + loop
    assert 0 <= delay <= allowed + 1e-9


def test_jobs_round_trip_and_reject_unknown_outcomes():
    job = fresh()
    assert core.SettlementJob.from_dict(job.to_dict()) == job
    with pytest.raises(ValueError, match="unknown settlement outcome"):
        core.SettlementJob.from_dict({**job.to_dict(), "outcome": "rolled_back"})
    with pytest.raises(ValueError, match="late_after_s"):
        core.SettlementPolicy(deadline_s=5, late_after_s=10)


def test_one_batched_read_serves_every_due_job():
    jobs = [core.new_job(i, pair, "long", str(i), 1000, 1, 1000) for i, pair in enumerate(["A", "B", "A", "C"])]
    assert core.pairs_to_read(jobs, 1000) == {"A", "B", "C"}


T = 10_000.0


def trade(i, pair, amount=1.0, side="long", opened=0.0, **kw):
    return rec.TradeView(i, pair, side, amount, opened, **kw)


def test_orphans_ghosts_and_mismatches():
    trades = [trade(1, "A"), trade(2, "B"), trade(3, "C", amount=2.0), trade(4, "D", side="short")]
    positions = [
        rec.PositionView("A", "long", 1.0),
        rec.PositionView("C", "long", 1.0),
        rec.PositionView("D", "long", 1.0),
        rec.PositionView("E", "short", 5.0),
    ]
    found = {(f.kind, f.pair) for f in rec.reconcile(trades, positions, T)}
    assert found == {
        (rec.FindingKind.GHOST, "B"),
        (rec.FindingKind.SIZE_MISMATCH, "C"),
        (rec.FindingKind.SIZE_MISMATCH, "D"),
        (rec.FindingKind.ORPHAN, "E"),
    }


def test_several_trades_on_one_pair_are_summed_and_young_or_settling_trades_wait():
    trades = [trade(1, "A", 0.4), trade(2, "A", 0.6), trade(3, "B", opened=T - 5), trade(4, "C", settling=True)]
    assert rec.reconcile(trades, [rec.PositionView("A", "long", 1.0)], T) == []


def test_a_trade_whose_entry_order_has_not_filled_is_no_ghost():
    """A limit entry resting on the book (or an entry the exchange never executed) expects no
    position: reporting it as a ghost after the grace would be a false alarm on every slow limit entry."""
    resting = trade(1, "A", entered=False)
    assert rec.reconcile([resting], [], T) == []
    # once a fill is recorded the trade expects its position again; a second entered trade still counts
    assert [f.kind for f in rec.reconcile([trade(1, "A")], [], T)] == [rec.FindingKind.GHOST]
    assert [f.kind for f in rec.reconcile([resting, trade(2, "A")], [], T)] == [rec.FindingKind.GHOST]
    # and a position on its pair is still compared (a fill freqtrade has not recorded shows up here)
    [mismatch] = rec.reconcile([trade(1, "A", amount=0.0, entered=False)], [rec.PositionView("A", "long", 1.0)], T)
    assert mismatch.kind == rec.FindingKind.SIZE_MISMATCH


def test_unprotected_after_the_configured_time():
    t = trade(1, "A", stoploss_on_exchange=True, stop_order_live=False)
    since = rec.track_missing_stops([t], {}, T)
    assert (
        rec.reconcile(
            [t], [rec.PositionView("A", "long", 1.0)], T + 30, stop_missing_since=since, unprotected_after_s=60
        )
        == []
    )
    [finding] = rec.reconcile(
        [t], [rec.PositionView("A", "long", 1.0)], T + 61, stop_missing_since=since, unprotected_after_s=60
    )
    assert finding.kind is rec.FindingKind.UNPROTECTED and finding.severity == "critical"
    protected = trade(1, "A", stoploss_on_exchange=True, stop_order_live=True)
    assert rec.track_missing_stops([protected], since, T + 61) == {}


def test_findings_are_reported_once_until_they_change():
    first = rec.reconcile([], [rec.PositionView("E", "long", 1.0)], T)
    delta = rec.diff_findings(set(), first)
    assert len(delta.new) == 1
    again = rec.diff_findings(
        {f.fingerprint for f in first}, rec.reconcile([], [rec.PositionView("E", "long", 1.0)], T + 60)
    )
    assert again.new == () and again.resolved == ()
    changed = rec.diff_findings(
        {f.fingerprint for f in first}, rec.reconcile([], [rec.PositionView("E", "long", 2.0)], T + 120)
    )
    assert len(changed.new) == 1 and len(changed.resolved) == 1


def test_a_stale_smaller_view_after_an_add_on_entry_is_not_a_verdict():
    """After an add-on entry the exchange may still show the position before it for a while: that view
    is 'not visible yet', not a size mismatch; the job verifies once the full size shows."""
    job = core.retarget(core.new_job(1, "BTC/USDT:USDT", "long", "43", 1000.0, 1.0, 1000.0), 2.0)
    verdicts = []
    for now, shown in [(1002, 1.0), (1004, 1.0), (1010, 1.0), (1015, 2.0)]:
        check = core.step(job, core.PositionObservation("long", shown, now), now, 2, POLICY)
        job = check.job
        verdicts += [check.verdict] if check.verdict else []
    assert [v.outcome for v in verdicts] == [core.SettlementOutcome.VERIFIED_LATE]


def test_a_size_that_stays_different_is_a_mismatch_at_the_deadline_only():
    job = fresh()
    verdicts = []
    now = 1000.0
    while now <= 1000 + POLICY.deadline_s + 5:
        if core.is_due(job, now):
            check = core.step(job, core.PositionObservation("long", 0.6, now), now, 2, POLICY)
            job = check.job
            verdicts += [check.verdict] if check.verdict else []
        now += 2
    assert [v.outcome for v in verdicts] == [core.SettlementOutcome.SIZE_MISMATCH]
    assert job.resolved_at >= 1000 + POLICY.deadline_s


def test_the_other_sides_stale_position_is_not_ours():
    """A new long opened while the exchange still shows the pair's previous short: not visible yet."""
    job = fresh()
    check = core.step(job, core.PositionObservation("short", 1.0, 1002), 1002, 2, POLICY)
    assert check.verdict is None and check.job.outcome is core.SettlementOutcome.PENDING


def test_verified_late_is_info_in_one_place():
    job, verdicts, _ = run(fresh(), visible_at=1020, loop=2, until=1200, history=core.FillHistory(True))
    assert verdicts[0].outcome is core.SettlementOutcome.VERIFIED_LATE and verdicts[0].severity == "info"


def test_the_history_explains_an_absent_position():
    from robust_plugin.core.exchange_reports import OrderReport, OrderState

    job = fresh()
    entry = OrderReport("BTC/USDT:USDT", "42", "x", "buy", OrderState.FILLED, 1.0, 1.0, 100.0, 1000.0)
    liq = OrderReport("BTC/USDT:USDT", "77", "autoclose-1", "sell", OrderState.FILLED, 1.0, 1.0, 90.0, 1001.0, True)
    history = core.fill_history(job, [entry, liq])
    assert history.our_fill_seen and history.closing_fill_after and history.liquidated and history.exit_price == 90.0
    assert not core.fill_history(job, [liq]).our_fill_seen
    assert not core.fill_history(job, [entry]).closing_fill_after


def test_a_shared_account_reports_only_what_this_bot_answers_for():
    positions = [rec.PositionView("BTC/USDT:USDT", "long", 1.0), rec.PositionView("ETH/USDT:USDT", "short", 2.0)]
    positions.append(rec.PositionView("XRP/USDT:USDT", "long", 300.0))
    bot_pairs = ["BTC/USDT:USDT", "XRP/USDT:USDT"]

    def orphans(scope, ignore=()):
        held = rec.in_scope(positions, scope, bot_pairs, trade_pairs=[], ignore_pairs=ignore)
        return [f.pair for f in rec.reconcile([], held, 0.0) if f.kind is rec.FindingKind.ORPHAN]

    assert orphans(rec.Scope.ACCOUNT) == ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT"]
    assert orphans(rec.Scope.PAIRS) == ["BTC/USDT:USDT", "XRP/USDT:USDT"]  # ETH: another bot's pair
    assert orphans(rec.Scope.ACCOUNT, ignore=["ETH/USDT:USDT"]) == ["BTC/USDT:USDT", "XRP/USDT:USDT"]
    # a trade of this bot on an ignored pair still makes the pair its business
    held = rec.in_scope(positions, rec.Scope.PAIRS, [], trade_pairs=["ETH/USDT:USDT"], ignore_pairs=["ETH/USDT:USDT"])
    assert [p.pair for p in held] == ["ETH/USDT:USDT"]


def test_findings_reported_before_a_restart_are_not_reported_again():
    orphan = rec.Finding(rec.FindingKind.ORPHAN, "ETH/USDT:USDT", None, None, 2.0, "x")
    ghost = rec.Finding(rec.FindingKind.GHOST, "BTC/USDT:USDT", 3, 1.0, 0.0, "y")
    history = [
        ("orphan", "ETH/USDT:USDT", None, {"trade_amount": None, "exchange_amount": 2.0}),
        ("ghost", "BTC/USDT:USDT", 3, {"trade_amount": 1.0, "exchange_amount": 0.0}),
        (None, "BTC/USDT:USDT", None, {"fingerprint": ghost.fingerprint}),
    ]
    reported = rec.open_fingerprints(history)
    assert reported == {orphan.fingerprint}
    delta = rec.diff_findings(reported, [orphan, ghost])
    assert [f.kind for f in delta.new] == [rec.FindingKind.GHOST]  # the ghost was resolved: new again
