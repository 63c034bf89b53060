"""The aged-trades gauge with freqtrade's real Trade model: a trade's phase is served while it is
open, is served again after a restart (read back from custom data, without a second event in the
store), and leaves the gauge when the trade closes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freqtrade.persistence import Order
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from robust_plugin.adapter.aged_exits import AgedExits
from robust_plugin.adapter.journal import AgedJournal
from robust_plugin.adapter.metrics import MetricsExporter
from robust_plugin.adapter.recorder import Recorder
from robust_plugin.store import EventStore
from tests.integration.test_live_journal import OPENED, POLICY, deepcopy, trade  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def bot_process(store: EventStore) -> tuple[AgedExits, AgedJournal, MetricsExporter]:
    """What a bot start wires up: one recorder, the exporter listening to it, the aged journal."""
    recorder = Recorder(store)
    exporter = MetricsExporter("bot-a", "binance")
    recorder.subscribe(exporter)
    journal = AgedJournal(recorder)
    return AgedExits(POLICY, live=True, limit_exits=True, journal=journal), journal, exporter


def aged_gauge(exporter: MetricsExporter) -> dict[str, float]:
    text = generate_latest(exporter.registry).decode()
    return {
        s.labels["phase"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "robust_plugin_aged_trades" and s.labels["pair"] == "BTC/USDT:USDT"
    }


def test_aged_phase_is_served_survives_a_restart_and_leaves_on_close(tmp_path, trade):  # noqa: F811
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    exits, _, exporter = bot_process(store)
    assert aged_gauge(exporter) == {}
    for second in range(0, 60, 5):  # grace period, price below breakeven: no exit
        exits.exit_reason(deepcopy(trade), OPENED + timedelta(hours=25, seconds=second), 95.0)
    assert aged_gauge(exporter) == {"grace": 1.0}

    exits, journal, exporter = bot_process(store)  # restart: a fresh process and registry
    exits.exit_reason(deepcopy(trade), OPENED + timedelta(hours=26), 95.0)
    assert aged_gauge(exporter) == {"grace": 1.0}
    assert len(store.events(trade_id=trade.id, kind="aged_stage")) == 1  # read back, not recorded again

    exits.exit_reason(deepcopy(trade), OPENED + timedelta(hours=31, minutes=30), 95.0)
    assert aged_gauge(exporter) == {"progressive": 1.0}

    order = Order(
        ft_order_side="sell",
        ft_pair=trade.pair,
        ft_is_open=False,
        ft_amount=3.0,
        ft_price=99.5,
        order_id="x1",
        status="closed",
        side="sell",
        order_type="market",
        amount=3.0,
        filled=3.0,
        price=99.5,
        average=99.5,
        ft_order_tag="roi",
    )
    trade.is_open, trade.exit_reason = False, "roi"
    journal.exit_filled(trade, order, OPENED + timedelta(hours=31, minutes=40))
    assert aged_gauge(exporter) == {}
