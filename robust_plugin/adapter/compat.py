"""Which freqtrade releases the plugin supports, and every freqtrade internal it relies on.

The plugin lives inside freqtrade's lifecycle and relies on a few things freqtrade does not promise
as API: how an order reaches the ccxt client, that the wallets are synced before
``confirm_trade_exit``, when freqtrade recovers orders placed outside it, and so on. Each of them
is listed in :data:`INTERNALS` with the capabilities that depend on it, and checked at start-up by
running freqtrade's own code on throwaway objects (:mod:`robust_plugin.adapter.compat_probes`):
behaviour, not a version string. What does not hold turns its capabilities off with one warning
naming the internal; the rest of the plugin keeps working.

A freqtrade release outside :func:`supported_range` is refused at start-up with one message. To
support a new release: raise ``NEWEST`` here and the ``freqtrade`` range in ``pyproject.toml``
together (a test holds them equal), run ``make compat VERSIONS=<release>`` and fix what fails.
"""

from __future__ import annotations

import inspect
import logging
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from robust_plugin.adapter import compat_probes as probes

logger = logging.getLogger(__name__)

OLDEST = "2026.4"  # the range tested by `make compat ALL=1`; pyproject.toml says the same
NEWEST = "2026.9"

# Capabilities an internal can take down. "plugin" is all of them.
PLUGIN = "plugin"
AGED = "aged"
CLOSING = "closing"
ORDER_GUARD = "order_guard"
SETTLEMENT = "settlement"
RECONCILE = "reconcile"
ALERTS = "alerts"
FAST_CALLBACKS = "fast_callbacks"
STORE_IDENTITY = "store_identity"


@dataclass(frozen=True)
class CompatFinding:
    """What one check of one internal found."""

    internal: str
    capabilities: tuple[str, ...]
    ok: bool
    why: str
    how: str  # "behaviour", "signature" or "source"


@dataclass(frozen=True)
class Internal:
    name: str
    capabilities: tuple[str, ...]
    how: str
    check: Callable[[type], probes.Result]  # called with the bot's exchange class
    used_by: str


def _exchange_class(exchange: Any = None) -> type:
    from freqtrade.exchange import Exchange

    if exchange is None:
        return Exchange
    return exchange if isinstance(exchange, type) else type(exchange)


# -- version range ------------------------------------------------------------------------------


def parse_version(text: str) -> tuple[int, int] | None:
    """``"2026.5.1"`` -> (2026, 5); ``"2026.10-dev-abc"`` -> (2026, 10); None when unreadable."""
    match = re.match(r"^\s*(\d{4})\.(\d{1,2})(?!\d)", str(text))
    return (int(match[1]), int(match[2])) if match else None


def supported_range() -> tuple[str, str]:
    """The oldest and newest supported freqtrade releases (year.month; patch releases included)."""
    return OLDEST, NEWEST


def requirement() -> str:
    """The pip requirement for the supported range, as in ``pyproject.toml``."""
    year, month = parse_version(NEWEST) or (0, 0)
    following = f"{year + 1}.1" if month == 12 else f"{year}.{month + 1}"
    return f"freqtrade>={OLDEST},<{following}"


def freqtrade_version() -> str:
    import freqtrade

    return str(getattr(freqtrade, "__version__", "unknown"))


def is_supported(version: str) -> bool:
    parsed = parse_version(version)
    return parsed is not None and parse_version(OLDEST) <= parsed <= parse_version(NEWEST)  # type: ignore[operator]


def unsupported_message(version: str) -> str:
    return (
        f"robust_plugin: freqtrade {version} is not supported; supported: {OLDEST} to {NEWEST} "
        f"(install one of them, e.g. pip install '{requirement()}', or a robust_plugin release made for "
        f"freqtrade {version})"
    )


def check_version(version: str | None = None) -> None:
    """Raise freqtrade's ``OperationalException`` (one message naming the range) outside it."""
    from freqtrade.exceptions import OperationalException

    version = freqtrade_version() if version is None else version
    if not is_supported(version):
        raise OperationalException(unsupported_message(version))


def parameters(function: Callable) -> list[str]:
    """Named parameters of ``function`` (without ``self`` and ``**kwargs``)."""
    return [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


# -- the internals ------------------------------------------------------------------------------


def _signatures(owner: str, **expected: tuple[str, ...]) -> Callable[[type], probes.Result]:
    """Each method ``name`` of ``owner`` starts with the parameters ``expected[name]``."""

    def check(_exchange_cls: type) -> probes.Result:
        import importlib

        module, _, attr = owner.rpartition(".")
        klass = getattr(importlib.import_module(module), attr)
        for name, wanted in expected.items():
            seen = parameters(getattr(klass, name))
            if tuple(seen[: len(wanted)]) != wanted:
                return False, f"{attr}.{name}({', '.join(seen)}), expected ({', '.join(wanted)})"
        return True, "; ".join(f"{attr}.{name}({', '.join(wanted)})" for name, wanted in expected.items())

    return check


def _bot_start_time(_exchange_cls: type) -> probes.Result:
    from freqtrade.persistence import KeyValueStore
    from freqtrade.persistence.key_value_store import KeyStoreKeys, _KeyValueStoreModel

    if "bot_start_time" not in typing.get_args(KeyStoreKeys):
        return False, "the key-value store no longer keeps bot_start_time"
    if parameters(KeyValueStore.get_datetime_value) != ["key"]:
        return False, "KeyValueStore.get_datetime_value(key) has another signature"
    if getattr(_KeyValueStoreModel, "session", None) is not None:  # a bot's database is open: read it
        value = KeyValueStore.get_datetime_value("bot_start_time")
        if value is not None and not hasattr(value, "isoformat"):
            return False, f"KeyValueStore.get_datetime_value('bot_start_time') returned {value!r}"
    return True, "KeyValueStore.get_datetime_value('bot_start_time')"


_STRATEGY = "freqtrade.strategy.interface.IStrategy"
_TRADE = "freqtrade.persistence.trade_model.LocalTrade"
_T = ("pair", "trade", "current_time")

INTERNALS: tuple[Internal, ...] = (
    Internal(
        "Exchange.create_order -> self._api.create_order",
        (ORDER_GUARD,),
        "behaviour",
        probes.order_path,
        "order guard: wraps the ccxt client's create_order and relies on freqtrade not retrying it",
    ),
    Internal(
        "FreqtradeBot.execute_trade_exit: wallet sync before confirm_trade_exit",
        (CLOSING,),
        "behaviour",
        lambda _cls: probes.wallet_sync_before_confirm_exit(),
        "close desk: compares the synced exchange position with the trade in confirm_trade_exit",
    ),
    Internal(
        "Wallets.get_all_positions / PositionWallet.position, .side",
        (CLOSING,),
        "behaviour",
        lambda _cls: probes.wallet_positions(),
        "close desk and settlement: the position freqtrade's wallet sync read, at no extra request",
    ),
    Internal(
        "FreqtradeBot.exit_positions -> handle_onexchange_order (not with an open stop order)",
        (CLOSING,),
        "behaviour",
        lambda _cls: probes.onexchange_recovery(),
        "close desk: a position found gone is left to freqtrade's recovery, or /reload_trade is advised",
    ),
    Internal(
        "strategy_safe_wrapper: no deep copy of the trade for IStrategy.* callbacks",
        (FAST_CALLBACKS,),
        "behaviour",
        lambda _cls: probes.trade_copy(),
        "fast callbacks: the plugin's read-only callbacks are named as freqtrade's defaults",
    ),
    Internal(
        "Exchange.fetch_orders(pair, since), emulated where ccxt lacks fetchOrders",
        (SETTLEMENT,),
        "behaviour",
        probes.fetch_orders,
        "settlement: the order history that explains a missing position",
    ),
    Internal(
        "Exchange.fetch_positions()",
        (SETTLEMENT, RECONCILE),
        "behaviour",
        probes.fetch_positions,
        "settlement and reconciliation: one batched position read per loop",
    ),
    Internal(
        "DataProvider._exchange, .runmode, .send_msg(always_send=True)",
        (PLUGIN,),
        "behaviour",
        lambda _cls: probes.dataprovider(),
        "everything: the exchange object, the run mode, alerts through freqtrade's RPC",
    ),
    Internal(
        "LocalTrade.set_custom_data(key, value) / get_custom_data(key, default)",
        (CLOSING, SETTLEMENT),
        "signature",
        _signatures(_TRADE, set_custom_data=("key", "value"), get_custom_data=("key", "default")),
        "per-trade state (close attempts, settlement jobs) in freqtrade's custom data",
    ),
    Internal(
        "KeyValueStore.get_datetime_value('bot_start_time')",
        (STORE_IDENTITY,),
        "signature",
        _bot_start_time,
        "store: tells one freqtrade database from another",
    ),
    Internal(
        "IStrategy.custom_exit / custom_exit_price",
        (AGED,),
        "signature",
        _signatures(
            _STRATEGY,
            custom_exit=(*_T, "current_rate", "current_profit"),
            custom_exit_price=(*_T, "proposed_rate", "current_profit", "exit_tag"),
        ),
        "aged exits",
    ),
    Internal(
        "IStrategy.confirm_trade_exit / adjust_trade_position",
        (CLOSING,),
        "signature",
        _signatures(
            _STRATEGY,
            confirm_trade_exit=("pair", "trade", "order_type", "amount", "rate", "time_in_force", "exit_reason"),
            adjust_trade_position=("trade", "current_time", "current_rate", "current_profit", "min_stake", "max_stake"),
        ),
        "verified closes and chunked closes",
    ),
    Internal(
        "IStrategy.order_filled / bot_loop_start / ft_bot_start",
        (PLUGIN,),
        "signature",
        _signatures(
            _STRATEGY,
            order_filled=("pair", "trade", "order", "current_time"),
            bot_loop_start=("current_time",),
            ft_bot_start=(),
        ),
        "fills, the loop, start-up",
    ),
)


def _run(internal: Internal, exchange_cls: type) -> CompatFinding:
    try:
        ok, why = internal.check(exchange_cls)
    except Exception as error:  # noqa: BLE001 - a probe that breaks means: not verified
        ok, why = False, f"could not be verified: {type(error).__name__}: {error}"
    return CompatFinding(internal.name, internal.capabilities, ok, why, internal.how)


def check_order_path(exchange: Any = None) -> tuple[bool, str]:
    """Whether an order freqtrade places goes through ``exchange._api.create_order`` (where the order
    guard's wrapper sits), checked on a throwaway object of the exchange's class (default: freqtrade's
    ``Exchange``). Never touches ``exchange`` itself. Replaces the version check ``guard_supported``."""
    finding = _run(INTERNALS[0], _exchange_class(exchange))
    return finding.ok, f"freqtrade {freqtrade_version()}: {finding.why}"


def check_trade_copy() -> tuple[bool, str]:
    """Whether freqtrade hands ``IStrategy.*``-named callbacks the trade without a copy."""
    finding = _run(next(i for i in INTERNALS if FAST_CALLBACKS in i.capabilities), _exchange_class())
    return finding.ok, finding.why


def check_all(exchange: Any = None) -> list[CompatFinding]:
    """Every internal in :data:`INTERNALS`, checked against the installed freqtrade (exchange probes
    on the class of ``exchange``, default freqtrade's ``Exchange``)."""
    exchange_cls = _exchange_class(exchange)
    return [_run(internal, exchange_cls) for internal in INTERNALS]


@dataclass
class CompatReport:
    """The findings of one start-up and the capabilities they turned off (capability -> reason)."""

    version: str
    findings: list[CompatFinding]
    off: dict[str, str] = field(default_factory=dict)

    def allows(self, capability: str) -> bool:
        return PLUGIN not in self.off and capability not in self.off


def report(findings: list[CompatFinding], version: str | None = None) -> CompatReport:
    off: dict[str, str] = {}
    for finding in findings:
        if not finding.ok:
            for capability in finding.capabilities:
                off.setdefault(capability, f"{finding.internal}: {finding.why}")
    return CompatReport(freqtrade_version() if version is None else version, findings, off)


def startup(strategy: Any = None) -> CompatReport:
    """What the mixin runs in ``ft_bot_start``: refuse an unsupported freqtrade (raises
    ``OperationalException``), check every internal on the bot's exchange class, and log one warning
    per capability turned off."""
    check_version()
    dp = getattr(strategy, "dp", None)
    result = report(check_all(getattr(dp, "_exchange", None)))
    for capability, reason in result.off.items():
        logger.warning("robust_plugin: %s off on freqtrade %s: %s", capability, result.version, reason)
    if not result.off:
        logger.info("robust_plugin: freqtrade %s: %d internals verified", result.version, len(result.findings))
    return result
