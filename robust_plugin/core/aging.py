"""Aged positions with progressive loss tolerance: the pure policy.

A trade older than ``max_age`` first gets a grace period in which it exits at breakeven (entry and
exit fees, and funding received or paid, included). After the grace period it accepts a loss that
grows by ``loss_step_pct`` every ``step_interval``, up to ``max_loss_pct``; it exits as soon as the
price reaches the target for the accepted loss. At ``force_close_after`` it exits whatever the price.

The loss is measured unleveraged, on price and fees: a 1.5 % accepted loss means the exit price is at
most 1.5 % worse than the entry, net of fees, whatever the leverage. This is freqtrade's own profit
ratio divided by the leverage, so the target price here is exactly the price at which freqtrade would
report that result.

Nothing in this module imports freqtrade or reads the clock: ages are seconds the caller measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from robust_plugin.core.kinds import Side


class AgedPhase(str, Enum):
    """Where a trade stands in the aged policy."""

    FRESH = "fresh"
    """Younger than ``max_age``: the policy does nothing."""
    GRACE = "grace"
    """Exit at breakeven after fees."""
    PROGRESSIVE = "progressive"
    """Exit at the accepted loss, which grows step by step."""
    CAPPED = "capped"
    """Progressive, with the accepted loss at its cap."""
    FORCED = "forced"
    """Older than ``force_close_after``: exit whatever the price."""


REASON_GRACE = "aged_grace"
REASON_FORCE = "aged_force"
REASON_PROGRESSIVE_PREFIX = "aged_progressive_"


def progressive_reason(accepted_loss_pct: float) -> str:
    """Exit reason for a progressive exit: ``aged_progressive_1.5pct``."""
    return f"{REASON_PROGRESSIVE_PREFIX}{accepted_loss_pct:.1f}pct"


def is_aged_reason(reason: str | None) -> bool:
    """True for every exit reason this policy produces."""
    return bool(reason) and reason.startswith("aged_")  # type: ignore[union-attr]


@dataclass(frozen=True)
class AgedPolicy:
    """Policy parameters, durations in seconds, losses in percent."""

    max_age: float
    grace_period: float
    step_interval: float
    loss_step_pct: float
    max_loss_pct: float
    force_close_after: float | None = None

    def __post_init__(self) -> None:
        if self.max_age < 0 or self.grace_period < 0:
            raise ValueError("max_age and grace_period cannot be negative")
        if self.step_interval <= 0:
            raise ValueError("step_interval must be longer than zero")
        if not 0 < self.loss_step_pct <= self.max_loss_pct < 100:
            raise ValueError("need 0 < loss_step_pct <= max_loss_pct < 100")
        if self.force_close_after is not None and self.force_close_after <= 0:
            raise ValueError("force_close_after must be longer than zero")


@dataclass(frozen=True)
class AgedStage:
    """What the policy says about a trade of a given age, before looking at any price."""

    phase: AgedPhase
    accepted_loss_pct: float | None
    """0 in grace, the accepted loss in progressive/capped, ``None`` when fresh or forced."""
    exit_reason: str | None
    next_change_age: float | None
    """Age (seconds) at which the stage next changes, ``None`` when it never will."""


def stage_at(policy: AgedPolicy, age: float) -> AgedStage:
    """The policy's stage for a trade ``age`` seconds old."""
    force_at = policy.force_close_after
    if force_at is not None and age >= force_at:
        return AgedStage(AgedPhase.FORCED, None, REASON_FORCE, None)
    if age < policy.max_age:
        return AgedStage(AgedPhase.FRESH, None, None, _earliest(policy.max_age, force_at))
    progressive_from = policy.max_age + policy.grace_period
    if age < progressive_from:
        return AgedStage(AgedPhase.GRACE, 0.0, REASON_GRACE, _earliest(progressive_from, force_at))
    steps = math.floor((age - progressive_from) / policy.step_interval) + 1
    loss = policy.loss_step_pct * steps
    if loss >= policy.max_loss_pct:
        return AgedStage(
            AgedPhase.CAPPED,
            policy.max_loss_pct,
            progressive_reason(policy.max_loss_pct),
            force_at,
        )
    next_step = progressive_from + steps * policy.step_interval
    return AgedStage(AgedPhase.PROGRESSIVE, loss, progressive_reason(loss), _earliest(next_step, force_at))


def _earliest(age: float, force_at: float | None) -> float:
    return age if force_at is None else min(age, force_at)


@dataclass(frozen=True)
class PositionCosts:
    """What the target price depends on, as freqtrade's ``Trade`` knows it."""

    side: Side
    entry_price: float
    amount: float
    fee_open: float
    fee_close: float
    funding_fees: float = 0.0
    """In stake currency as freqtrade keeps it: positive received, negative paid."""


def net_result(costs: PositionCosts, exit_price: float) -> float:
    """Unleveraged net result ratio of exiting at ``exit_price`` (freqtrade's ratio / leverage)."""
    amount = costs.amount
    if costs.side is Side.LONG:
        open_value = amount * costs.entry_price * (1 + costs.fee_open)
        close_value = amount * exit_price * (1 - costs.fee_close) + costs.funding_fees
        return close_value / open_value - 1
    open_value = amount * costs.entry_price * (1 - costs.fee_open)
    close_value = amount * exit_price * (1 + costs.fee_close) - costs.funding_fees
    return 1 - close_value / open_value


def target_price(costs: PositionCosts, accepted_loss_pct: float, tick: float | None = None) -> float:
    """The worst exit price at which the net result is still ``>= -accepted_loss_pct`` %.

    For a long this is the lowest acceptable price, for a short the highest. With ``tick`` the price
    is moved onto the exchange's price grid in the safe direction (up for longs, down for shorts), so
    rounding never makes the result worse than accepted; float noise is checked the same way.
    """
    loss = accepted_loss_pct / 100.0
    amount = costs.amount
    long = costs.side is Side.LONG
    if long:
        open_value = amount * costs.entry_price * (1 + costs.fee_open)
        price = ((1 - loss) * open_value - costs.funding_fees) / (amount * (1 - costs.fee_close))
    else:
        open_value = amount * costs.entry_price * (1 - costs.fee_open)
        price = ((1 + loss) * open_value + costs.funding_fees) / (amount * (1 + costs.fee_close))
    price = _on_grid(price, tick, up=long)
    # Never a hair worse than accepted: move one unit (a tick, or float noise) in the safe direction.
    unit = tick if tick else abs(price) * 1e-12
    for _ in range(3):
        if net_result(costs, price) >= -loss:
            break
        price = _on_grid(price + unit if long else price - unit, tick, up=long)
    return price


def _on_grid(price: float, tick: float | None, *, up: bool) -> float:
    if not tick:
        return price
    units = price / tick
    nearest = round(units)
    # Prices already on the grid (up to float noise) stay where they are.
    if math.isclose(units, nearest, rel_tol=0, abs_tol=1e-9):
        units = nearest
    else:
        units = math.ceil(units) if up else math.floor(units)
    decimals = max(0, -math.floor(math.log10(tick)) + 2)
    return round(units * tick, decimals)


def crossed(side: Side, price: float, target: float) -> bool:
    """True when ``price`` is at or beyond the target in the trade's favour."""
    return price >= target if side is Side.LONG else price <= target


@dataclass(frozen=True)
class AgedDecision:
    """The policy's answer for one trade at one moment."""

    stage: AgedStage
    target: float | None
    """Target price of the stage; ``None`` when fresh, and when forced (any price will do)."""
    exit_now: bool

    @property
    def exit_reason(self) -> str | None:
        return self.stage.exit_reason if self.exit_now else None


def decide(
    policy: AgedPolicy,
    costs: PositionCosts,
    age: float,
    price: float,
    tick: float | None = None,
) -> AgedDecision:
    """Whether a trade of ``age`` seconds should exit at ``price``, and at which target."""
    stage = stage_at(policy, age)
    if stage.phase is AgedPhase.FRESH:
        return AgedDecision(stage, None, False)
    if stage.phase is AgedPhase.FORCED:
        return AgedDecision(stage, None, True)
    assert stage.accepted_loss_pct is not None
    target = target_price(costs, stage.accepted_loss_pct, tick)
    return AgedDecision(stage, target, crossed(costs.side, price, target))
