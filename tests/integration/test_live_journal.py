"""Live/dry-run path of the aged policy with freqtrade's real Trade model and SQLite databases:
stage changes are recorded once (not once per loop), survive a restart, and exits are recorded."""

from __future__ import annotations

from copy import deepcopy as _deepcopy
from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.enums import TradingMode
from freqtrade.persistence import Order, Trade, init_db

from robust_plugin.adapter.aged_exits import AgedExits
from robust_plugin.adapter.journal import AgedJournal
from robust_plugin.core.aging import AgedPolicy
from robust_plugin.core.trade_state import CUSTOM_DATA_KEY
from robust_plugin.store import EventStore

pytestmark = pytest.mark.integration

HOUR = 3600.0
OPENED = datetime(2026, 9, 1, tzinfo=UTC)
POLICY = AgedPolicy(
    max_age=24 * HOUR,
    grace_period=6 * HOUR,
    step_interval=HOUR,
    loss_step_pct=0.5,
    max_loss_pct=2.0,
    force_close_after=None,
)


@pytest.fixture
def trade(tmp_path):
    init_db(f"sqlite:///{tmp_path / 'freqtrade.sqlite'}")
    trade = Trade(
        pair="BTC/USDT:USDT",
        base_currency="BTC",
        stake_currency="USDT",
        open_rate=100.0,
        amount=3.0,
        amount_requested=3.0,
        stake_amount=100.0,
        fee_open=0.0005,
        fee_close=0.0005,
        leverage=3.0,
        is_short=False,
        open_date=OPENED,
        exchange="binance",
        trading_mode=TradingMode.FUTURES,
        is_open=True,
        price_precision=0.1,
        precision_mode_price=4,
    )
    Trade.session.add(trade)
    Trade.commit()
    yield trade
    Trade.session.remove()


def deepcopy(trade):
    """What freqtrade hands a callback: a deep copy of a loaded trade."""
    Trade.session.refresh(trade)
    return _deepcopy(trade)


def _exits(store) -> AgedExits:
    return AgedExits(POLICY, live=True, limit_exits=True, journal=AgedJournal(store))


def test_stage_changes_are_recorded_once_and_survive_a_restart(tmp_path, trade):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    exits = _exits(store)
    # Every loop of the grace period (5 s apart), the price below breakeven: no exit, one event.
    for second in range(0, 600, 5):
        now = OPENED + timedelta(hours=25, seconds=second)
        assert exits.exit_reason(deepcopy(trade), now, 95.0) is None
    events = store.events(trade_id=trade.id)
    assert [e.kind for e in events] == ["aged_stage"]
    assert events[0].data["phase"] == "grace"
    assert events[0].bot_name == "bot-a"
    state = trade.get_custom_data(CUSTOM_DATA_KEY)
    assert state["aged"]["phase"] == "grace"
    assert state["aged"]["target"] > 100.0  # breakeven includes both fees
    assert state["aged"]["next_step_at"] == (OPENED + timedelta(hours=30)).isoformat()

    # Restart: a new journal reads the last stage from custom data and records nothing new.
    restarted = _exits(store)
    restarted.exit_reason(deepcopy(trade), OPENED + timedelta(hours=26), 95.0)
    assert len(store.events(trade_id=trade.id)) == 1

    # Into the progressive phase: one more event, with the accepted loss.
    restarted.exit_reason(deepcopy(trade), OPENED + timedelta(hours=31, minutes=30), 95.0)
    restarted.exit_reason(deepcopy(trade), OPENED + timedelta(hours=31, minutes=45), 95.0)
    stages = store.events(trade_id=trade.id, kind="aged_stage")
    assert [(e.data["phase"], e.data["accepted_loss_pct"]) for e in stages] == [
        ("grace", 0.0),
        ("progressive", 1.0),
    ]


def test_live_exit_is_signalled_only_when_the_rate_crosses_the_target(tmp_path, trade):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    exits = _exits(store)
    now = OPENED + timedelta(hours=31, minutes=10)  # progressive, 1.0 % accepted
    target = exits.exit_price(deepcopy(trade), now, 90.0, "aged_progressive_1.0pct")
    assert exits.exit_reason(deepcopy(trade), now, target - 0.1) is None
    assert exits.exit_reason(deepcopy(trade), now, target) == "aged_progressive_1.0pct"
    # priced at the better of target and rate
    assert exits.exit_price(deepcopy(trade), now, target + 1, "aged_progressive_1.0pct") == target + 1
    # other exits keep their price
    assert exits.exit_price(deepcopy(trade), now, 50.0, "roi") is None


def test_aged_exit_fill_is_recorded_with_net_result(tmp_path, trade):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    journal = AgedJournal(store)
    order = Order(
        ft_order_side="sell",
        ft_pair=trade.pair,
        ft_is_open=False,
        ft_amount=3.0,
        ft_price=99.5,
        order_id="x1",
        status="closed",
        side="sell",
        order_type="limit",
        amount=3.0,
        filled=3.0,
        price=99.5,
        average=99.5,
        ft_order_tag="aged_progressive_1.0pct",
    )
    journal.exit_filled(trade, order, OPENED + timedelta(hours=31))
    [event] = store.events(kind="aged_exit")
    assert event.data["exit_reason"] == "aged_progressive_1.0pct"
    assert event.data["price"] == 99.5
    assert -1.0 < event.data["net_result_pct"] < 0
