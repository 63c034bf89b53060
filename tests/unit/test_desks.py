"""The desks against a fake exchange boundary: each decision they carry out, in milliseconds.

The live tests prove the same paths against freqtrade and the venue; these pin down what each desk
does with each answer the exchange can give.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.close_desk import CloseDesk
from robust_plugin.adapter.exchange.order_guard import Intent, Outcome
from robust_plugin.adapter.live_watch import LiveWatch
from robust_plugin.adapter.reconcile_desk import ReconcileDesk
from robust_plugin.adapter.recorder import Recorder
from robust_plugin.adapter.settlement_desk import SettlementDesk
from robust_plugin.core import closing as core
from robust_plugin.core import settlement as settle
from robust_plugin.core.advice import Advice
from robust_plugin.core.chunking import MarketLimits
from robust_plugin.core.exchange_reports import OrderLookup, OrderReport, OrderState, PositionReport
from robust_plugin.core.failures import classify
from robust_plugin.core.kinds import Side
from robust_plugin.core.retry import default_policy

PAIR = "BTC/USDT:USDT"


class FakeBoundary:
    """Scripted answers of the exchange boundary."""

    def __init__(self):
        self.lookups: list[OrderLookup] = []
        self.looked_up: list[str] = []
        self.position_map: dict[str, PositionReport] | None = {}
        self.history: list[OrderReport] | None = []
        self.reads = 0

    def order_by_client_id(self, pair, client_order_id):
        self.looked_up.append(client_order_id)
        return self.lookups.pop(0)

    def positions(self):
        self.reads += 1
        return self.position_map

    def history_since(self, pair, since):
        return self.history

    def classify(self, error):
        return classify(error)


class FakeGuard:
    def __init__(self):
        self.expected: list[Intent] = []

    def expect(self, intent):
        self.expected.append(intent)


class Trade(SimpleNamespace):
    def __init__(self, **kw):
        defaults = dict(id=7, pair=PAIR, is_short=False, exit_side="sell", amount=1.0, stake_amount=100.0, is_open=True)
        super().__init__(**{**defaults, **kw})
        self.custom = {}

    def get_custom_data(self, key):
        return self.custom.get(key)

    def set_custom_data(self, key, value):
        self.custom[key] = value


def sinks():
    events, sent = [], []
    recorder = Recorder(None)
    recorder.subscribe(events.append)
    return recorder, Alerter(sent.append, recorder, min_interval_s=0, max_per_hour=1000), events, sent


def close_desk(boundary=None, max_attempts=10):
    recorder, alerts, events, sent = sinks()
    config = core.ClosingConfig(3, 3, default_policy(max_attempts, 2, 300), chunked_fallback=False)
    desk = CloseDesk(config, alerts, recorder, FakeGuard(), prefix="bot", clock=lambda: 100.0, boundary=boundary)
    return desk, events, sent


def test_a_close_left_placing_is_looked_up_and_never_sent_while_the_lookup_fails():
    boundary = FakeBoundary()
    desk, events, _ = close_desk(boundary)
    trade = Trade()
    assert desk.confirm_exit(trade, 1.0, "aged_force", 10.0, 1.0, None)  # attempt 1 goes out
    boundary.lookups = [OrderLookup.failed("timeout"), OrderLookup.not_found()]
    assert not desk.confirm_exit(trade, 1.0, "aged_force", 20.0, 1.0, None)  # outcome unknown: nothing sent
    assert desk.confirm_exit(trade, 1.0, "aged_force", 30.0, 1.0, None)  # no such order: attempt 2 goes out
    assert boundary.looked_up == ["bot-t7-x1", "bot-t7-x1"]
    assert [i.client_order_id for i in desk.guard.expected] == ["bot-t7-x1", "bot-t7-x2"]
    assert trade.custom["robustplugin"]["closing"]["status"] == "placing"  # kept for a restart


def test_a_found_order_cancelled_unfilled_is_not_recorded_as_a_close():
    boundary = FakeBoundary()
    desk, events, _ = close_desk(boundary)
    trade = Trade()
    desk.confirm_exit(trade, 1.0, "aged_force", 10.0, 1.0, None)
    boundary.lookups = [OrderLookup.found(OrderReport(PAIR, "5", "bot-t7-x1", "sell", OrderState.CANCELED, 1, 0))]
    assert desk.confirm_exit(trade, 1.0, "aged_force", 20.0, 1.0, None)
    assert "close_found_after_loss" not in [e.kind for e in events]


def test_a_new_exit_reason_while_freqtrades_own_limit_close_rests_waits_quietly_and_a_stop_replaces_it():
    """With limit exits, freqtrade asks again at every aged step while its exit order rests. Before, the
    plugin looked that order up and told the trader it rested "unknown to freqtrade" and to cancel it."""
    boundary = FakeBoundary()
    desk, events, sent = close_desk(boundary)
    trade = Trade(has_open_orders=False)
    assert desk.confirm_exit(trade, 1.0, "aged_progressive_0.2pct", 10.0, 1.0, None)
    trade.has_open_orders = True  # freqtrade placed it and holds it open
    assert not desk.confirm_exit(trade, 1.0, "aged_progressive_0.4pct", 12.0, 1.0, None)
    assert not boundary.looked_up and not sent
    assert desk.confirm_exit(trade, 1.0, "stop_loss", 14.0, 1.0, None)  # freqtrade cancels it, then sends this
    assert [i.client_order_id for i in desk.guard.expected] == ["bot-t7-x1", "bot-t7-x2"]
    assert desk.state(trade).attempts[0].outcome == "replaced"


def test_failures_from_the_guard_back_off_and_a_stuck_close_alerts_critical():
    desk, events, sent = close_desk(FakeBoundary(), max_attempts=2)
    trade, now = Trade(), 10.0
    for _ in range(2):
        assert desk.confirm_exit(trade, 1.0, "aged_force", now, 1.0, None)
        intent = desk.guard.expected[-1]
        desk.on_outcome(Outcome(intent, intent.client_order_id, None, TimeoutError("timed out")))
        now = desk.state(trade).next_allowed_at
    assert desk.state(trade).status is core.CloseStatus.BACKING_OFF
    assert any("critical: close cannot get through" in text for text in sent)
    assert [e.severity for e in events if e.kind == "close_stuck"] == ["critical"]
    assert [e.kind for e in events].count("close_failed") == 2


def test_the_position_gone_before_a_close_sends_nothing_and_alerts_once():
    desk, events, sent = close_desk(FakeBoundary())
    trade = Trade()
    assert not desk.confirm_exit(trade, 1.0, "aged_force", 10.0, 0.0, None)
    assert not desk.confirm_exit(trade, 1.0, "aged_force", 20.0, 0.0, None)
    assert [e.kind for e in events if e.kind != "alert"] == ["close_skipped_gone"]
    assert len(sent) == 1 and "/reload_trade 7" in sent[0]


def test_above_the_market_maximum_the_close_goes_in_chunks():
    desk, events, sent = close_desk(FakeBoundary())
    desk.config = core.ClosingConfig(3, 3, default_policy(10, 2, 300), chunked_fallback=True)
    trade = Trade(amount=5.0)
    assert not desk.confirm_exit(trade, 5.0, "aged_force", 10.0, 5.0, 2.0)
    assert desk.in_chunked_close(trade) and "close_escalated" in [e.kind for e in events]
    assert any("closing in chunks" in text for text in sent)


def chunking_desk(boundary):
    """A close escalated to chunks (above the market maximum) whose first chunk went out."""
    desk, events, sent = close_desk(boundary)
    desk.config = core.ClosingConfig(3, 3, default_policy(10, 2, 300), chunked_fallback=True)
    trade = Trade(amount=5.0, has_open_orders=False)
    desk.confirm_exit(trade, 5.0, "aged_force", 10.0, 5.0, 2.0)
    limits = MarketLimits(Decimal("0.001"), market_max_qty=Decimal(2))
    assert desk.next_chunk(trade, 20.0, 100.0, limits, 5.0) is not None
    return desk, trade, limits, events, sent


def chunk(report_state: OrderState, filled: float) -> OrderLookup:
    return OrderLookup.found(OrderReport(PAIR, "5", "bot-t7-c1", "sell", report_state, 2, filled))


def test_a_chunk_freqtrade_cancelled_for_not_filling_is_looked_up_and_the_next_chunk_goes():
    """A limit chunk cancelled by freqtrade's unfilled timeout: before, the chunk stayed pending for
    ever and the close went silent (the matrix cell with the stop on the exchange and limit exits)."""
    boundary = FakeBoundary()
    desk, trade, limits, events, _ = chunking_desk(boundary)
    trade.has_open_orders = True  # the chunk rests; freqtrade still holds it: no lookup, nothing sent
    assert desk.next_chunk(trade, 25.0, 100.0, limits, 5.0) is None and not boundary.looked_up
    trade.has_open_orders = False  # freqtrade cancelled it
    boundary.lookups = [chunk(OrderState.CANCELED, 0)]
    stake, tag = desk.next_chunk(trade, 30.0, 100.0, limits, 5.0)
    assert boundary.looked_up == ["bot-t7-c1"] and tag == "robust_chunk_2" and stake < 0
    assert [i.client_order_id for i in desk.guard.expected] == ["bot-t7-c1", "bot-t7-c2"]


def test_a_pending_chunk_is_never_sent_again_while_its_lookup_fails_or_its_order_rests():
    boundary = FakeBoundary()
    desk, trade, limits, events, sent = chunking_desk(boundary)
    boundary.lookups = [OrderLookup.failed("timeout"), chunk(OrderState.OPEN, 0)]
    assert desk.next_chunk(trade, 30.0, 100.0, limits, 5.0) is None
    assert desk.next_chunk(trade, 35.0, 100.0, limits, 5.0) is None
    assert [i.client_order_id for i in desk.guard.expected] == ["bot-t7-c1"]
    assert any("close order rests unknown to freqtrade" in text for text in sent)


def test_a_pending_chunk_found_partly_filled_counts_and_the_next_is_sized_on_what_is_left():
    boundary = FakeBoundary()
    desk, trade, limits, events, _ = chunking_desk(boundary)
    boundary.lookups = [chunk(OrderState.CANCELED, 1.5)]
    stake, tag = desk.next_chunk(trade, 30.0, 100.0, limits, 3.5)
    assert tag == "robust_chunk_2" and desk.state(trade).attempts[-2].outcome == "filled_then_canceled"
    assert "close_filled" in [e.kind for e in events]


def settlement_desk(boundary):
    recorder, alerts, events, sent = sinks()
    policy = settle.SettlementPolicy(deadline_s=60, late_after_s=10, dense_window_s=20, max_spacing_s=10)
    trades = {}
    desk = SettlementDesk(policy, boundary, alerts, recorder, loop_interval_s=5, load_trade=trades.get)
    return desk, trades, events, sent


def fill(order_id: str, at: float):
    from datetime import UTC, datetime

    return SimpleNamespace(order_id=order_id, order_filled_utc=datetime.fromtimestamp(at, UTC))


def run_loops(watch, start, end, step=5.0):
    now = start
    while now <= end:
        watch.on_loop(now)
        now += step


def test_an_entry_whose_history_explains_nothing_is_unknown_and_critical_at_the_deadline():
    boundary = FakeBoundary()
    desk, trades, events, sent = settlement_desk(boundary)
    trade = Trade()
    trades[7] = trade
    desk.entry_filled(trade, fill("42", 1000.0), 1000.0)
    boundary.history = [OrderReport(PAIR, "42", "bot-t0-o1", "buy", OrderState.FILLED, 1, 1, 100, 1000.0)]
    run_loops(LiveWatch(boundary, desk, None), 1000.0, 1070.0)
    assert "settlement_unknown" in [e.kind for e in events]
    assert any("critical: entry settlement: unknown" in text for text in sent)


def test_a_liquidation_marked_by_the_dialect_is_closed_immediately():
    boundary = FakeBoundary()
    desk, trades, events, _ = settlement_desk(boundary)
    trades[7] = Trade()
    desk.entry_filled(trades[7], fill("42", 1000.0), 1000.0)
    boundary.history = [
        OrderReport(PAIR, "42", None, "buy", OrderState.FILLED, 1, 1, 100, 1000.0),
        OrderReport(PAIR, "43", None, "sell", OrderState.FILLED, 1, 1, 90, 1001.0, liquidation=True),
    ]
    run_loops(LiveWatch(boundary, desk, None), 1000.0, 1030.0)
    verdicts = [e for e in events if e.kind == "settlement_closed_immediately"]
    assert len(verdicts) == 1 and "liquidated" in verdicts[0].data["detail"]


def test_an_add_on_entry_is_verified_against_the_trades_new_amount():
    boundary = FakeBoundary()
    desk, trades, events, _ = settlement_desk(boundary)
    trade = Trade(amount=1.0)
    trades[7] = trade
    desk.entry_filled(trade, fill("42", 1000.0), 1000.0)
    trade.amount = 2.0  # the add-on entry filled before the first job was verified
    desk.entry_filled(trade, fill("44", 1003.0), 1003.0)
    boundary.position_map = {PAIR: PositionReport(PAIR, Side.LONG, 1.0)}  # the stale view, then the truth
    run_loops(LiveWatch(boundary, desk, None), 1003.0, 1010.0)
    boundary.position_map = {PAIR: PositionReport(PAIR, Side.LONG, 2.0)}
    run_loops(LiveWatch(boundary, desk, None), 1011.0, 1020.0)
    kinds = [e.kind for e in events]
    verified = [k for k in kinds if k in ("settlement_verified", "settlement_verified_late")]
    assert "settlement_size_mismatch" not in kinds and len(verified) == 2


def test_one_position_read_serves_settlement_and_reconciliation_and_a_failed_read_decides_nothing():
    boundary = FakeBoundary()
    desk, trades, events, _ = settlement_desk(boundary)
    recorder, alerts, _, _ = sinks()
    recorder.subscribe(events.append)
    reconcile = ReconcileDesk(alerts, recorder, every_s=30, open_trades=lambda: [])
    trades[7] = Trade()
    desk.entry_filled(trades[7], fill("42", 1000.0), 1000.0)
    boundary.position_map = None  # every read fails
    watch = LiveWatch(boundary, desk, reconcile)
    run_loops(watch, 1000.0, 1040.0)
    assert boundary.reads == 9 and not [e for e in events if e.kind.startswith(("settlement_v", "finding"))]
    boundary.position_map = {"ETH/USDT:USDT": PositionReport("ETH/USDT:USDT", Side.SHORT, 3.0)}
    run_loops(watch, 1045.0, 1045.0)
    assert [e.kind for e in events if e.kind.startswith("finding")] == ["finding_orphan"]


def test_a_reduction_outside_the_bot_while_settling_retargets_the_job_instead_of_a_verdict():
    boundary = FakeBoundary()
    desk, trades, events, _ = settlement_desk(boundary)
    trade = Trade(amount=1.0)
    trades[7] = trade
    desk.entry_filled(trade, fill("42", 1000.0), 1000.0)
    trade.amount = 0.6  # freqtrade recorded someone else's sell of 0.4
    desk.retarget(trade)
    boundary.position_map = {PAIR: PositionReport(PAIR, Side.LONG, 0.6)}
    run_loops(LiveWatch(boundary, desk, None), 1001.0, 1005.0)
    kinds = [e.kind for e in events]
    assert "settlement_verified" in kinds and "settlement_closed_immediately" not in kinds


def test_the_reconcile_desk_remembers_its_findings_across_a_restart(tmp_path):
    from robust_plugin.adapter.reconcile_desk import reported_findings
    from robust_plugin.store import EventStore

    store = EventStore(f"sqlite:///{tmp_path / 'store.sqlite'}", "bot-a")
    positions = {"ETH/USDT:USDT": PositionReport("ETH/USDT:USDT", Side.SHORT, 2.0)}

    def start():
        recorder = Recorder(store)
        events, sent = [], []
        recorder.subscribe(events.append)
        alerts = Alerter(sent.append, recorder, min_interval_s=0, max_per_hour=1000)
        history = [e for e in store.events(bot_name="bot-a") if e.kind.startswith("finding")]
        return ReconcileDesk(alerts, recorder, every_s=30, reported=reported_findings(history)), sent

    first, sent_first = start()
    first.run(positions, set(), 1000.0)
    second, sent_second = start()  # the bot restarts: the orphan is still there
    second.run(positions, set(), 2000.0)
    assert len(sent_first) == 1 and sent_second == []


def test_the_entry_guard_holds_entries_while_a_problem_is_open_and_says_when_it_engages_and_releases():
    from robust_plugin.adapter.entry_desk import EntryDesk
    from robust_plugin.core.entry_guard import GuardScope, Problem

    recorder, alerts, events, sent = sinks()
    problems: list[Problem] = []
    account = EntryDesk([lambda: list(problems)], alerts, recorder, GuardScope.ACCOUNT)
    pair_only = EntryDesk([lambda: list(problems)], sinks()[1], None, GuardScope.PAIR)
    for desk in (account, pair_only):
        desk.update()
    assert account.allow(PAIR) and pair_only.allow(PAIR)
    problems.append(Problem("orphan", "ETH/USDT:USDT"))
    for desk in (account, pair_only):
        desk.update()
        desk.update()  # the same problem: one alert, not one per loop
    assert not account.allow(PAIR) and pair_only.allow(PAIR) and not pair_only.allow("ETH/USDT:USDT")
    problems.clear()
    account.update()
    assert account.allow(PAIR)
    assert [e.kind for e in events if e.kind != "alert"] == ["entries_held", "entries_resumed"]
    assert len(sent) == 2 and "new entries held" in sent[0] and "orphan" in sent[0] and "resumed" in sent[1]


def test_settlement_unknown_and_open_findings_are_the_problems_that_hold_entries():
    boundary = FakeBoundary()
    desk, trades, events, _ = settlement_desk(boundary)
    trades[7] = Trade()
    desk.entry_filled(trades[7], fill("42", 1000.0), 1000.0)
    boundary.history = [OrderReport(PAIR, "42", None, "buy", OrderState.FILLED, 1, 1, 100, 1000.0)]
    run_loops(LiveWatch(boundary, desk, None), 1000.0, 1070.0)
    assert [(p.kind, p.pair, p.trade_id) for p in desk.unknown_problems()] == [("settlement_unknown", PAIR, 7)]
    recorder, alerts, _, _ = sinks()
    reconcile = ReconcileDesk(alerts, recorder, every_s=30)
    reconcile.run({"ETH/USDT:USDT": PositionReport("ETH/USDT:USDT", Side.SHORT, 3.0)}, set(), 1000.0)
    assert [(p.kind, p.pair) for p in reconcile.open_problems()] == [("orphan", "ETH/USDT:USDT")]


def test_freqtrades_own_liquidation_exit_of_a_young_trade_is_said_as_exactly_that():
    """freqtrade exited a fresh trade on a liquidation price taken from a stale view of the pair's
    previous position: not 'closed_immediately, check your leverage', but what it was."""
    boundary = FakeBoundary()
    settlement, trades, events, sent = settlement_desk(boundary)
    trade = Trade()
    trades[7] = trade
    settlement.entry_filled(trade, fill("42", 1000.0), 1000.0)
    desk, close_events, close_sent = close_desk(boundary)
    trade.is_open, trade.exit_reason, trade.liquidation_price = False, "liquidation", 64000.0
    order = SimpleNamespace(order_id="43", safe_price=65000.0, safe_filled=1.0, ft_order_tag="liquidation")
    settlement.closed_by_bot(trade, 1004.0)
    desk.liquidation_exit(trade, order, young=True)
    assert [e.kind for e in events if e.kind.startswith("settlement_") and e.kind != "settlement_started"] == [
        "settlement_closed_by_bot"
    ]
    assert not settlement.settling(7) and not sent  # no verdict about the exchange, no alert
    assert [e.kind for e in close_events if e.kind != "alert"] == ["liquidation_exit"]
    assert "liquidation-price check" in close_sent[0] and "did not liquidate" in close_sent[0]


def test_alerts_sent_before_a_restart_are_not_sent_again_within_their_interval(tmp_path):
    from robust_plugin.store import EventStore

    store = EventStore(f"sqlite:///{tmp_path / 'store.sqlite'}", "bot-a")
    clock = [1_000_000.0]

    def alerter(sent):
        alerts = Alerter(sent.append, Recorder(store, clock=lambda: clock[0]), 600, 30, clock=lambda: clock[0])
        alerts.resume(store.events(kind="alert", bot_name="bot-a"))
        return alerts

    before, after = [], []
    alerter(before).advise(Advice.FINDING_GHOST, {"detail": "x"}, trade_id=3, pair=PAIR)
    clock[0] += 60  # the bot restarts a minute later; the same finding is alerted again
    again = alerter(after)
    again.advise(Advice.FINDING_GHOST, {"detail": "x"}, trade_id=3, pair=PAIR)
    assert len(before) == 1 and after == []
    clock[0] += 600
    again.advise(Advice.FINDING_GHOST, {"detail": "x"}, trade_id=3, pair=PAIR)
    assert len(after) == 1  # after its interval it repeats as usual


def test_a_job_pending_on_a_trade_closed_before_a_restart_resumes_and_ends_from_the_history():
    """The trade closed on the exchange while its entry settled, the history read failed, and the bot
    was restarted before the deadline: the restarted desk takes the job up again and owes the verdict
    from the history; a position of the same size on the pair (the next trade's) verifies nothing."""
    boundary = FakeBoundary()
    desk, trades, events, _ = settlement_desk(boundary)
    trade = Trade()
    trades[7] = trade
    desk.entry_filled(trade, fill("42", 1000.0), 1000.0)
    trade.is_open = False  # freqtrade recorded an exit found on the exchange
    boundary.history = None  # ... and the history could not be read then
    assert not desk.explain_exit(trade, 1008.0)

    restarted, trades_after, events_after, _ = settlement_desk(boundary)
    trades_after[7] = trade
    assert restarted.resume([trade]) == 1
    boundary.history = [
        OrderReport(PAIR, "42", None, "buy", OrderState.FILLED, 1, 1, 100, 1000.0),
        OrderReport(PAIR, "43", None, "sell", OrderState.FILLED, 1, 1, 99, 1005.0),
    ]
    boundary.position_map = {PAIR: PositionReport(PAIR, Side.LONG, 1.0)}  # a new trade on the pair
    run_loops(LiveWatch(boundary, restarted, None), 1030.0, 1070.0)
    kinds = [e.kind for e in events_after]
    assert "settlement_closed_immediately" in kinds, kinds
    assert not [k for k in kinds if k.startswith("settlement_verified")]
