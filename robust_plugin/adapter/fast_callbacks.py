"""Spare the plugin's read-only callbacks freqtrade's protective copy of the trade.

freqtrade (2026.4 to 2026.9) deep-copies the trade for every call of a callback a strategy implements
(``strategy_safe_wrapper``) and skips the copy for ``IStrategy``'s own defaults, recognised by
``__qualname__``. Called per open trade per candle in backtesting, that copy costs more than the
whole backtest of a plain strategy; live, it is about 0.7 ms per open trade and loop (35 ms a loop
with 50 trades). The plugin only reads the trade on these paths: its per-trade state goes through
``set_custom_data``, which freqtrade stores by trade id, and nothing else is written. So the copy
protects nothing. The user's own callbacks, when defined, keep getting copies, because then this is
not applied. Checked by behaviour (:func:`robust_plugin.adapter.compat.check_trade_copy`): when
freqtrade's wrapper no longer hands ``IStrategy.*``-named callbacks the trade itself, nothing is
changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_TRADE_CALLBACKS = ("custom_exit", "custom_exit_price", "adjust_trade_position", "confirm_trade_exit", "order_filled")


def _copies_all_but_defaults() -> bool:
    from robust_plugin.adapter.compat import check_trade_copy

    return check_trade_copy()[0]


def install_fast_callbacks(strategy: Any, mixin: type, backtest: bool, aged: Any) -> bool:
    """Mark the mixin's trade callbacks (``custom_exit``, ``custom_exit_price``,
    ``adjust_trade_position``, ``confirm_trade_exit``, ``order_filled``) that the strategy does not
    define itself as freqtrade's defaults, so freqtrade calls them without copying the trade. In
    backtesting and hyperopt also leave ``bot_loop_start`` to freqtrade's default when the plugin has
    nothing to do per candle, and answer ``custom_exit`` for trades younger than ``max_age`` from a
    cache of open times.

    Returns whether the strategy has no ``custom_exit`` of its own (the mixin then skips calling
    ``IStrategy``'s default, which returns ``None``).
    """
    from freqtrade.strategy import IStrategy

    if not _copies_all_but_defaults():
        return False
    mro = type(strategy).__mro__
    if backtest and next(k for k in mro if "bot_loop_start" in vars(k)) is mixin:
        strategy.bot_loop_start = IStrategy.bot_loop_start.__get__(strategy)  # nothing of ours per candle
    default_custom_exit = False
    after = mro[mro.index(mixin) + 1 :]
    for name in _TRADE_CALLBACKS:
        owner = next(klass for klass in mro if name in vars(klass))
        parent = next(klass for klass in after if name in vars(klass))
        if owner is not mixin or parent is not IStrategy:
            continue  # the strategy has its own: freqtrade keeps protecting it
        bound = getattr(strategy, name)

        def fast(*args, _bound=bound, **kwargs):
            return _bound(*args, **kwargs)

        if name == "custom_exit" and aged is not None and aged.policy_source is None:
            fast = _young_trade_shortcut(bound, aged)

        fast.__qualname__ = f"IStrategy.{name}"  # read-only use of the trade: no protective copy needed
        fast.__name__ = name  # what freqtrade names in its log when a callback fails
        setattr(strategy, name, fast)
        default_custom_exit |= name == "custom_exit"
    return default_custom_exit


def _young_trade_shortcut(bound, aged):
    """``custom_exit`` for trades younger than ``max_age`` (nearly every call in a backtest): one
    dictionary lookup and one datetime comparison, without the rest of the call chain. A trade's
    "young until" time is cached the first time the aged adapter has seen it."""
    policy = aged.policy
    young = timedelta(
        seconds=min(
            policy.max_age, policy.force_close_after if policy.force_close_after is not None else policy.max_age
        )
    )
    opened = aged._opened
    young_until: dict[int, tuple[datetime, datetime]] = {}  # trade id -> (open date, young until)

    def custom_exit(*args, **kwargs):
        trade = kwargs.get("trade")
        if trade is None:
            return bound(*args, **kwargs)
        now = kwargs["current_time"]
        cached = young_until.get(trade.id)
        if cached is not None and cached[0] == trade.open_date and now < cached[1]:
            return None
        result = bound(*args, **kwargs)
        started = opened.get((trade.id, trade.open_date))
        if started is not None:
            tz = now.tzinfo
            until = datetime.fromtimestamp(started, UTC) + young
            young_until[trade.id] = (trade.open_date, until if tz is not None else until.replace(tzinfo=None))
        return result

    return custom_exit
