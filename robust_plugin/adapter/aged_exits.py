"""Adapter: freqtrade's exit callbacks -> the aged policy (:mod:`robust_plugin.core.aging`).

How an aged exit is carried out, per run mode:

* **Backtesting / hyperopt** with limit exits (the configuration the plugin expects): ``custom_exit``
  signals the stage's reason in the candle that reaches the target, read from the candle's high and
  low (which freqtrade hands to ``should_exit`` for its own ROI and stop-loss; :func:`watch_candles`
  keeps them for ``custom_exit``), and ``custom_exit_price`` prices the exit at the target (or at the
  candle's open when the open is already past it). freqtrade's fill model fills that order inside the
  same candle, at that price. No aged exit order rests between candles, so freqtrade's
  ``unfilledtimeout`` never cancels and re-places one: an order resting at the target would fill in
  the same candle at the same price, and was counted as an exit timeout every ``unfilledtimeout.exit``
  while it waited. With market exits the exit happens at a candle's open, once the open has crossed
  the target.
* **Dry-run / live**: ``custom_exit`` signals only when the current rate has crossed the target (or
  the trade is forced out), and the exit is priced at the better of the target and the rate.

The decision itself is the same pure function in every mode. Nothing here sleeps, touches the
exchange or writes to a database on the backtesting path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from robust_plugin.core.aging import (
    AgedDecision,
    AgedPhase,
    AgedPolicy,
    AgedStage,
    Side,
    crossed,
    decide,
    is_aged_reason,
    stage_at,
)
from robust_plugin.core.trade_facts import position_costs, price_tick, trade_age


class AgedJournal(Protocol):
    """Where live stage changes and exits are recorded (see :mod:`robust_plugin.adapter.journal`)."""

    def stage_seen(self, trade: Any, decision: AgedDecision, age: float, now: datetime) -> None: ...


@dataclass
class AgedExits:
    policy: AgedPolicy
    live: bool
    """Dry-run or live: exits are signalled on the current rate crossing the target."""
    limit_exits: bool
    """freqtrade's ``order_types.exit`` is ``limit``: the exit is priced by ``exit_price``."""
    journal: AgedJournal | None = None
    policy_source: Callable[[], AgedPolicy] | None = None
    """Set when hyperopt parameters drive the policy: called before each decision."""
    _opened: dict = field(default_factory=dict, repr=False)
    """Open time (epoch seconds) per trade id: ``custom_exit`` runs per trade per candle."""
    candle: tuple[float | None, float | None] = (None, None)
    """Backtesting: (low, high) of the candle ``should_exit`` is evaluating (see :func:`watch_candles`)."""

    def exit_reason(self, trade: Any, now: datetime, rate: float) -> str | None:
        """``custom_exit``: the aged exit reason to signal now, or ``None``."""
        key = (trade.id, trade.open_date)
        opened = self._opened.get(key)
        if opened is None:
            opened = self._opened[key] = now.timestamp() - trade_age(trade, now)
        age = now.timestamp() - opened
        policy = self.policy
        if age < policy.max_age and (policy.force_close_after is None or age < policy.force_close_after):
            return None  # the common case, kept free of any allocation
        costs = position_costs(trade)
        decision = decide(policy, costs, age, rate, price_tick(trade))
        if self.journal is not None:
            self.journal.stage_seen(trade, decision, age, now)
        if decision.exit_now:
            return decision.stage.exit_reason
        if not self.live and self.limit_exits and decision.target is not None:
            # The candle's best price reaching the target is the crossing check; freqtrade fills the
            # limit at the target inside this candle. (Without a candle, the limit rests as before.)
            low, high = self.candle
            best = low if costs.side is Side.SHORT else high
            if best is None or crossed(costs.side, best, decision.target):
                return decision.stage.exit_reason
        return None

    def exit_price(self, trade: Any, now: datetime, proposed_rate: float, exit_tag: str | None) -> float | None:
        """``custom_exit_price`` for aged exits: the target, or the proposed rate when better.

        Returns ``None`` for exits that are not the policy's, so the caller keeps its own price.
        """
        if not is_aged_reason(exit_tag):
            return None
        stage = stage_at(self.policy, trade_age(trade, now))
        if stage.phase in (AgedPhase.FRESH, AgedPhase.FORCED) or stage.exit_reason != exit_tag:
            return proposed_rate
        decision = decide(self.policy, position_costs(trade), trade_age(trade, now), proposed_rate, price_tick(trade))
        assert decision.target is not None
        # Already past the target: take the better price. Otherwise the order waits at the target.
        return proposed_rate if decision.exit_now else decision.target

    def stage(self, trade: Any, now: datetime) -> AgedStage:
        """The trade's stage now (for status displays)."""
        return stage_at(self.policy, trade_age(trade, now))


def watch_candles(strategy: Any, aged: AgedExits) -> None:
    """Backtesting with limit exits: keep the high and low of the candle freqtrade evaluates in
    ``should_exit`` (the arguments it passes for ROI and stop-loss) for the aged exit decision.

    Installed on the strategy instance, so live and dry-run keep freqtrade's ``should_exit`` as it is.
    """
    should_exit = strategy.should_exit

    # freqtrade 2026.9's signature, spelt out: forwarding **kwargs would cost twice as much per call
    def robust_should_exit(trade, rate, current_time, *, enter, exit_, low=None, high=None, force_stoploss=0):
        aged.candle = (low, high)
        return should_exit(
            trade, rate, current_time, enter=enter, exit_=exit_, low=low, high=high, force_stoploss=force_stoploss
        )

    strategy.should_exit = robust_should_exit
