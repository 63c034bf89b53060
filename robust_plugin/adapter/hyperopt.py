"""Aged-policy settings as freqtrade hyperopt parameters.

Declare any of these attributes on the strategy and their values replace the config's for that key
(hyperopt changes them each epoch; the policy follows)::

    from freqtrade.strategy import DecimalParameter, IntParameter

    class MyStrategy(RobustMixin, IStrategy):
        aged_max_age_hours = IntParameter(6, 96, default=24, space="sell")
        aged_grace_hours = IntParameter(0, 24, default=6, space="sell")
        aged_step_minutes = IntParameter(15, 240, default=60, space="sell")
        aged_loss_step_pct = DecimalParameter(0.1, 2.0, default=0.5, decimals=1, space="sell")
        aged_max_loss_pct = DecimalParameter(1.0, 20.0, default=5.0, decimals=1, space="sell")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from robust_plugin.core.aging import AgedPolicy
from robust_plugin.core.config import AgedConfig

#: strategy attribute -> (policy field, factor from the parameter's unit to the policy's)
HYPEROPT_ATTRIBUTES: dict[str, tuple[str, float]] = {
    "aged_max_age_hours": ("max_age", 3600.0),
    "aged_grace_hours": ("grace_period", 3600.0),
    "aged_step_minutes": ("step_interval", 60.0),
    "aged_loss_step_pct": ("loss_step_pct", 1.0),
    "aged_max_loss_pct": ("max_loss_pct", 1.0),
}


def aged_policy_source(strategy: Any, config: AgedConfig) -> Callable[[], AgedPolicy] | None:
    """A callable giving the policy for the strategy's current parameter values, or ``None`` when
    the strategy declares none of :data:`HYPEROPT_ATTRIBUTES` (the config alone decides)."""
    present = {name: spec for name, spec in HYPEROPT_ATTRIBUTES.items() if hasattr(strategy, name)}
    if not present:
        return None
    base = config.policy()
    cache: dict[tuple[float, ...], AgedPolicy] = {}

    def current() -> AgedPolicy:
        values = tuple(float(getattr(strategy, name).value) for name in present)
        policy = cache.get(values)
        if policy is None:
            changes = {spec[0]: v * spec[1] for spec, v in zip(present.values(), values)}
            policy = replace(base, **changes)
            if policy.max_loss_pct < policy.loss_step_pct:
                policy = replace(policy, max_loss_pct=policy.loss_step_pct)
            cache[values] = policy
        return policy

    return current
