"""robust_plugin.adapter.compat against the installed freqtrade: every internal the plugin relies on
holds, a changed internal turns its capability off with a message (freqtrade patched in-process),
and a release outside the supported range is refused with one message."""

from __future__ import annotations

import logging
import socket
import tomllib
from copy import deepcopy
from functools import wraps
from pathlib import Path
from types import SimpleNamespace

import freqtrade
import pytest
from freqtrade.exceptions import OperationalException, TemporaryError
from freqtrade.exchange import Binance, Bybit, Exchange
from freqtrade.freqtradebot import FreqtradeBot
from freqtrade.strategy import IStrategy, strategy_wrapper
from freqtrade.wallets import Wallets

from robust_plugin.adapter import compat
from robust_plugin.adapter.fast_callbacks import install_fast_callbacks

ROOT = Path(__file__).resolve().parents[1]


class _QuietBinance(Binance):
    def __del__(self):  # never initialised: nothing to close
        pass


def off(findings: list[compat.CompatFinding]) -> dict[str, str]:
    return compat.report(findings).off


# -- the installed freqtrade ----------------------------------------------------------------------


@pytest.mark.parametrize("exchange", [None, Exchange, Binance, Bybit])
def test_every_internal_holds_on_the_installed_freqtrade(exchange):
    findings = compat.check_all(exchange)
    assert [f.internal for f in findings if not f.ok] == [], [f.why for f in findings if not f.ok]
    assert len(findings) == len(compat.INTERNALS) >= 12
    assert {f.how for f in findings} == {"behaviour", "signature"}
    assert compat.report(findings).off == {}


def test_the_order_path_and_the_trade_copy_hold():
    ok, why = compat.check_order_path()
    assert ok, why
    assert why.startswith(f"freqtrade {freqtrade.__version__}: ")
    assert compat.check_trade_copy()[0]


def test_the_internals_name_what_compat_md_lists():
    names = " ".join(i.name for i in compat.INTERNALS)
    for internal in (
        "Exchange.create_order",
        "confirm_trade_exit",
        "custom_data",
        "handle_onexchange_order",
        "strategy_safe_wrapper",
        "Exchange.fetch_orders",
        "fetch_positions",
        "get_all_positions",
        "PositionWallet",
        "send_msg",
        "runmode",
        "_exchange",
        "custom_exit",
        "adjust_trade_position",
        "bot_start_time",
    ):
        assert internal in names, internal


def test_the_checks_use_no_network_and_leave_the_exchange_object_alone(monkeypatch):
    touched = []

    class Spy(Binance):
        def __getattribute__(self, name):
            touched.append((id(self), name))
            return super().__getattribute__(name)

        def __del__(self):
            pass

    exchange = object.__new__(Spy)

    def no_network(*args, **kwargs):
        raise AssertionError("a compatibility check opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert all(f.ok for f in compat.check_all(exchange))
    assert compat.check_order_path(exchange)[0]
    assert {name for ident, name in touched if ident == id(exchange)} <= {"__class__"}  # its class only
    assert touched  # the probes ran on throwaway objects of the same class


# -- a changed internal turns its capability off, the rest keeps working --------------------------


def test_a_create_order_that_retries_turns_the_order_guard_off(monkeypatch):
    original = Exchange.create_order

    def retrying(self, **kwargs):
        try:
            return original(self, **kwargs)
        except TemporaryError:
            return original(self, **kwargs)

    monkeypatch.setattr(Exchange, "create_order", retrying)
    ok, why = compat.check_order_path(Binance)
    assert not ok
    assert "sent 2 times" in why
    report = compat.report(compat.check_all(Binance))
    assert not report.allows(compat.ORDER_GUARD)
    assert report.allows(compat.CLOSING) and report.allows(compat.SETTLEMENT) and report.allows(compat.AGED)
    assert list(report.off) == [compat.ORDER_GUARD]


def test_a_create_order_that_bypasses_the_client_attribute_turns_the_order_guard_off(monkeypatch):
    def elsewhere(self, *, pair, ordertype, side, amount, rate, leverage, reduceOnly=False, **kwargs):
        return type(self._api).create_order(self._api, pair, ordertype, side, amount, rate, {})

    monkeypatch.setattr(Exchange, "create_order", elsewhere)
    ok, why = compat.check_order_path()
    assert not ok
    assert "could not be verified" in why or "0 times" in why


def test_no_wallet_sync_before_confirm_trade_exit_turns_closing_off(monkeypatch):
    monkeypatch.setattr(FreqtradeBot, "_safe_exit_amount", lambda self, trade, pair, amount: amount)
    reasons = off(compat.check_all())
    assert list(reasons) == [compat.CLOSING]
    assert "no longer syncs the wallets before confirm_trade_exit" in reasons[compat.CLOSING]


def test_recovery_while_a_stop_order_is_open_turns_closing_off(monkeypatch):
    original = FreqtradeBot.exit_positions

    def recovers_always(self, trades):
        for trade in trades:
            if not self.wallets.check_exit_amount(trade):
                self.handle_onexchange_order(trade)
        return 0

    monkeypatch.setattr(FreqtradeBot, "exit_positions", recovers_always)
    assert "trades [1, 2], expected [1]" in off(compat.check_all())[compat.CLOSING]
    monkeypatch.setattr(FreqtradeBot, "exit_positions", original)
    assert off(compat.check_all()) == {}


def test_positions_without_a_side_turn_closing_off(monkeypatch):
    def sideless(self):
        self._wallets, self._positions = {}, {}

    monkeypatch.setattr(Wallets, "_update_live", sideless)
    assert "left no position" in off(compat.check_all())[compat.CLOSING]


class _Mixin:
    def custom_exit(self, **kwargs):
        return None


class _Strategy(_Mixin, IStrategy):
    def populate_indicators(self, dataframe, metadata):
        return dataframe


def _fast_callbacks_installed() -> bool:
    strategy = object.__new__(_Strategy)
    install_fast_callbacks(strategy, _Mixin, backtest=True, aged=None)
    return "custom_exit" in vars(strategy)


def test_a_wrapper_that_copies_every_trade_turns_fast_callbacks_off(monkeypatch):
    assert _fast_callbacks_installed()

    # Its source still names "IStrategy." (what the plugin used to look for), but it copies always.
    def copying(f, message="", default_retval=None, supress_error=False):
        @wraps(f)
        def wrapper(*args, **kwargs):
            if "trade" in kwargs:  # unlike freqtrade's, whatever the "IStrategy." name
                kwargs["trade"] = deepcopy(kwargs["trade"])
            return f(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(strategy_wrapper, "strategy_safe_wrapper", copying)
    reasons = off(compat.check_all())
    assert list(reasons) == [compat.FAST_CALLBACKS]
    assert "copies the trade for IStrategy's defaults too" in reasons[compat.FAST_CALLBACKS]
    assert not _fast_callbacks_installed()  # left as they are: freqtrade copies anyway


def test_a_changed_callback_signature_turns_its_capability_off(monkeypatch):
    def custom_exit(self, pair, trade, now, rate, profit, **kwargs):
        return None

    monkeypatch.setattr(IStrategy, "custom_exit", custom_exit)
    reasons = off(compat.check_all())
    assert list(reasons) == [compat.AGED]
    assert "IStrategy.custom_exit(pair, trade, now, rate, profit)" in reasons[compat.AGED]


def test_a_probe_that_breaks_turns_its_capabilities_off_as_not_verified(monkeypatch):
    from freqtrade.data.dataprovider import DataProvider

    def broken(self, message, *, always_send=False):
        raise RuntimeError("changed")

    monkeypatch.setattr(DataProvider, "send_msg", broken)
    report = compat.report(compat.check_all())
    assert "could not be verified: RuntimeError: changed" in report.off[compat.PLUGIN]
    assert not report.allows(compat.AGED) and not report.allows(compat.CLOSING)


def test_startup_logs_one_warning_per_capability_turned_off(monkeypatch, caplog):
    monkeypatch.setattr(FreqtradeBot, "_safe_exit_amount", lambda self, trade, pair, amount: amount)
    strategy = SimpleNamespace(dp=SimpleNamespace(_exchange=object.__new__(_QuietBinance)))
    with caplog.at_level(logging.INFO, logger="robust_plugin"):
        report = compat.startup(strategy)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"robust_plugin: closing off on freqtrade {freqtrade.__version__}: "
        "FreqtradeBot.execute_trade_exit: wallet sync before confirm_trade_exit: "
        "execute_trade_exit no longer syncs the wallets before confirm_trade_exit"
    ]
    assert not report.allows(compat.CLOSING) and report.allows(compat.ORDER_GUARD)


def test_startup_with_every_internal_holding_logs_one_line(caplog):
    with caplog.at_level(logging.INFO, logger="robust_plugin"):
        report = compat.startup(None)
    assert report.off == {}
    assert [r.getMessage() for r in caplog.records] == [
        f"robust_plugin: freqtrade {freqtrade.__version__}: {len(compat.INTERNALS)} internals verified"
    ]


# -- the supported range --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        ("2026.3", False),
        ("2026.4", True),
        ("2026.5.1", True),
        ("2026.9", True),
        ("2026.9-dev-1a2b3c", True),
        ("2026.10", False),
        ("2026.10-dev-1a2b3c", False),
        ("2027.1", False),
        ("2025.12", False),
        ("develop", False),
        ("", False),
    ],
)
def test_supported_versions(version, supported):
    assert compat.is_supported(version) is supported


def test_an_unsupported_freqtrade_is_refused_at_startup_with_one_message(monkeypatch):
    monkeypatch.setattr(freqtrade, "__version__", "2026.10")
    with pytest.raises(OperationalException) as raised:
        compat.startup(None)
    assert str(raised.value) == (
        "robust_plugin: freqtrade 2026.10 is not supported; supported: 2026.4 to 2026.9 "
        "(install one of them, e.g. pip install 'freqtrade>=2026.4,<2026.10', or a robust_plugin "
        "release made for freqtrade 2026.10)"
    )
    monkeypatch.setattr(freqtrade, "__version__", "2026.3")
    with pytest.raises(OperationalException, match=r"freqtrade 2026\.3 is not supported; supported: 2026\.4 to"):
        compat.check_version()


def test_the_installed_freqtrade_is_in_the_range():
    assert compat.is_supported(freqtrade.__version__)
    assert compat.supported_range() == ("2026.4", "2026.9")
    compat.check_version()


def test_pyproject_requires_the_supported_range_and_pins_no_ccxt():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert compat.requirement() == "freqtrade>=2026.4,<2026.10"
    assert compat.requirement() in dependencies
    assert not [d for d in dependencies if d.lower().startswith("ccxt")]  # freqtrade brings its own


def test_the_readme_lists_every_internal_and_the_range():
    readme = (ROOT / "README.md").read_text()
    for internal in compat.INTERNALS:
        assert f"`{internal.name}`" in readme, internal.name
    assert "**Supported: freqtrade 2026.4 to 2026.9**" in readme
    assert compat.unsupported_message("2026.10") in readme
