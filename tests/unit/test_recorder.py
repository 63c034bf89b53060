"""The one recorder every plugin event goes through: stamped, stored safely, passed to listeners."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.store import EventStore


class BrokenStore:
    def record(self, event):
        raise RuntimeError("database is locked")


def test_an_event_is_stamped_stored_and_passed_to_listeners(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    recorder = Recorder(store, clock=lambda: 1_700_000_000.0)
    heard = []
    recorder.subscribe(heard.append)
    recorder.record("close_failed", 3, "BTC/USDT:USDT", {"failure_class": "network"}, "warning")
    [stored] = store.events(kind="close_failed")
    assert stored.created_at.replace(tzinfo=UTC) == datetime.fromtimestamp(1_700_000_000, UTC)
    assert (stored.trade_id, stored.pair, stored.severity, stored.data, stored.bot_name) == (
        3,
        "BTC/USDT:USDT",
        "warning",
        {"failure_class": "network"},
        "bot-a",
    )
    assert [(e.kind, e.trade_id, e.data) for e in heard] == [("close_failed", 3, {"failure_class": "network"})]


def test_a_failing_store_is_logged_never_raised_and_listeners_still_hear(caplog):
    recorder = Recorder(BrokenStore())  # type: ignore[arg-type]
    heard = []
    recorder.subscribe(heard.append)
    with caplog.at_level(logging.ERROR):
        recorder.record("aged_stage", 5, "ETH/USDT:USDT", {"phase": "grace"})
    assert [e.kind for e in heard] == ["aged_stage"]
    [error] = caplog.records
    assert "could not record aged_stage for trade 5" in error.getMessage() and "database is locked" in error.exc_text


def test_a_failing_listener_does_not_stop_the_store_or_the_others(tmp_path, caplog):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    recorder = as_recorder(store)

    def broken(event):
        raise ValueError("boom")

    heard = []
    recorder.subscribe(broken)
    recorder.subscribe(heard.append)
    recorder.record("finding_orphan", None, "ETH/USDT:USDT", {"kind": "orphan"}, "critical")
    assert [e.kind for e in store.events()] == ["finding_orphan"] and len(heard) == 1
    errors = [r for r in caplog.records if r.name == "robust_plugin.adapter.recorder" and r.levelname == "ERROR"]
    assert len(errors) == 1 and "listener" in errors[0].getMessage() and "finding_orphan" in errors[0].getMessage()


def test_announced_facts_reach_listeners_but_not_the_store(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    recorder = Recorder(store)
    heard = []
    recorder.subscribe(heard.append)
    recorder.announce("trade_closed", 4, "BTC/USDT:USDT")
    assert [e.kind for e in heard] == ["trade_closed"] and store.events() == []


def test_alerts_are_recorded_through_the_recorder_with_their_severity(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    sent = []
    alerter = Alerter(sent.append, store, min_interval_s=600, clock=lambda: 1_700_000_000.0)
    heard = []
    alerter.recorder.subscribe(heard.append)
    for _ in range(2):  # the second is a duplicate within min_interval: neither sent nor recorded
        alerter.alert(
            trade_id=1,
            pair="BTC/USDT:USDT",
            severity="critical",
            subject="reconciliation: orphan",
            happened="h",
            plugin_did="d",
            you_should="s",
            data={"kind": "orphan"},
        )
    [event] = store.events(kind="alert")
    assert (
        event.severity == "critical"
        and event.data["subject"] == "reconciliation: orphan"
        and event.data["kind"] == "orphan"
    )
    assert len(sent) == 1 and [e.severity for e in heard] == ["critical"]
