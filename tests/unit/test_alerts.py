"""Alerts that matter always arrive: the hourly cap holds warnings and info back, never a critical alert."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.core.alert_gate import AlertGate, Verdict
from robust_plugin.store import EventStore

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _alert(alerter: Alerter, trade_id: int, severity: str, subject: str = "close keeps failing") -> bool:
    return alerter.alert(
        trade_id=trade_id,
        pair="BTC/USDT:USDT",
        severity=severity,
        subject=subject,
        happened="h",
        plugin_did="d",
        you_should="s",
    )


def test_a_flood_of_warnings_fills_the_hourly_cap_and_a_critical_alert_still_goes_out(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'plugin.sqlite'}", "bot-a")
    sent: list[str] = []
    clock = Clock()
    alerter = Alerter(sent.append, store, min_interval_s=600, max_per_hour=5, clock=clock)
    for trade_id in range(1, 9):  # eight trades' closes failing within a minute
        _alert(alerter, trade_id, "warning")
        clock.now += 5
    assert len(sent) == 5  # the cap: the last three warnings were held back
    assert _alert(alerter, 42, "critical", "entry settlement: unknown")
    assert "critical: entry settlement: unknown - trade 42" in sent[-1]
    assert [e.severity for e in store.events(kind="alert")] == ["warning"] * 5 + ["critical"]
    assert not _alert(alerter, 9, "warning")  # the cap still holds warnings: criticals did not use it up


def test_a_critical_alert_repeats_after_its_own_interval_however_full_the_cap(tmp_path):
    sent: list[str] = []
    clock = Clock()
    alerter = Alerter(sent.append, None, min_interval_s=600, max_per_hour=2, clock=clock)
    _alert(alerter, 1, "warning")
    _alert(alerter, 2, "warning")
    criticals = []
    for _ in range(13):  # one hour, every five minutes
        criticals.append(_alert(alerter, 7, "critical", "reconciliation: unprotected"))
        clock.now += 300
    assert criticals == [True, False] * 6 + [True]  # deduplicated within min_interval, never beyond it
    assert sum("critical" in text for text in sent) == 7


@given(
    st.lists(
        st.tuples(st.floats(0, 600), st.integers(0, 6), st.sampled_from(["info", "warning", "critical"])),
        max_size=80,
    ),
    st.integers(1, 5),
)
def test_the_gate_never_caps_critical_alerts_and_keeps_every_hour_of_the_others_under_the_cap(steps, cap):
    gate = AlertGate(min_interval_s=120, max_per_hour=cap)
    now, sent, last = 0.0, [], {}
    for gap, trade, severity in steps:
        now += gap
        key = (trade, severity)
        verdict = gate.admit(key, severity, now)
        if severity == "critical":
            assert verdict is not Verdict.CAPPED
        if key in last and now - last[key] < 120:
            assert verdict is Verdict.DUPLICATE
        elif severity == "critical":
            assert verdict is Verdict.SEND
        if verdict is Verdict.SEND:
            last[key] = now
            sent.append((now, severity))
    others = [t for t, severity in sent if severity != "critical"]
    for start in others:
        assert sum(1 for t in others if start <= t < start + 3600) <= cap


class _Trade:
    """What the close desk reads of a freqtrade trade, with its custom data kept in memory."""

    def __init__(self, state: dict) -> None:
        self.id, self.pair, self.exit_side, self.amount = 5, "BTC/USDT:USDT", "sell", 0.01
        self._data = {"robustplugin": state}

    def get_custom_data(self, key):
        return self._data.get(key)

    def set_custom_data(self, key, value):
        self._data[key] = value


class _NoSuchOrder:
    """The exchange answers the lookup by client order id: no such order."""

    def fetch_order(self, order_id, symbol, params):
        import ccxt

        raise ccxt.OrderNotFound(f"binance {params['origClientOrderId']}: Order does not exist.")


def test_a_lost_close_found_never_placed_still_alerts_when_it_reaches_the_failure_threshold():
    from types import SimpleNamespace

    from robust_plugin.adapter.close_desk import CloseDesk
    from robust_plugin.adapter.exchange.binance import Binance
    from robust_plugin.adapter.exchange.boundary import ExchangeBoundary
    from robust_plugin.adapter.exchange.order_guard import OrderGuard
    from robust_plugin.core.closing import CloseAttempt, CloseState, CloseStatus, CloseType, ClosingConfig

    sent: list[str] = []
    boundary = ExchangeBoundary(SimpleNamespace(_api=_NoSuchOrder(), markets={}), Binance())
    desk = CloseDesk(
        ClosingConfig(alert_after_failures=1), Alerter(sent.append, None), None, clock=lambda: T0, boundary=boundary
    )
    desk.guard = OrderGuard(desk.on_outcome, tag="rp")
    placing = CloseState(CloseStatus.PLACING, (CloseAttempt(1, CloseType.FULL, T0 - 30, "0.01", "rp-t5-x1"),))
    trade = _Trade({"closing": placing.to_dict()})
    # the response of attempt 1 was lost; the lookup says it was never placed: a failure, and the alert is due
    assert desk.confirm_exit(trade, 0.01, "aged_grace", T0, exchange_amount=None, market_max=None) is True
    assert len(sent) == 1 and "close keeps failing - trade 5" in sent[0], sent
