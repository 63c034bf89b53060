"""What an opening store must do to reach a schema revision: nothing, upgrade, or adopt then upgrade (pure).

A store is in one of four shapes when a bot opens it:

* **empty**: no plugin table yet -> create everything by upgrading from nothing;
* **legacy**: the events table exists but no schema revision is recorded (written by a plugin version
  from before migrations, whose schema is exactly revision ``BASELINE``) -> record ``BASELINE`` first
  ("stamp"), then upgrade; no row is touched;
* **versioned**: a known revision is recorded -> upgrade when it is older than the target, else nothing
  (never downgrade on open: an older bot must not undo a newer bot's schema);
* **unknown**: a revision this plugin version has never heard of (a newer plugin wrote it) -> refuse,
  rather than guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BASELINE = "0001"


class UnknownRevisionError(ValueError):
    """The store was migrated by a newer plugin version (or something else) to a revision we do not know."""


@dataclass(frozen=True)
class UpgradePlan:
    """``stamp``: revision to record before upgrading (legacy stores); ``upgrade_to``: None when up to date."""

    stamp: str | None
    upgrade_to: str | None

    @property
    def nothing_to_do(self) -> bool:
        return self.stamp is None and self.upgrade_to is None


def plan_upgrade(*, has_events_table: bool, current: str | None, revisions: Sequence[str], target: str) -> UpgradePlan:
    """The steps that bring a store at ``current`` to ``target``; ``revisions`` are all known ones, oldest first."""
    order = list(revisions)
    if target not in order:
        raise ValueError(f"unknown target revision {target!r}; known: {', '.join(order)}")
    if current is None:
        if has_events_table:
            stamp = BASELINE
            return UpgradePlan(stamp=stamp, upgrade_to=target if order.index(target) > order.index(stamp) else None)
        return UpgradePlan(stamp=None, upgrade_to=target)
    if current not in order:
        raise UnknownRevisionError(
            f"the plugin's database is at schema revision {current!r}, which this version of robust_plugin does "
            f"not know (known: {', '.join(order)}); a newer robust_plugin migrated it: upgrade robust_plugin"
        )
    if order.index(current) < order.index(target):
        return UpgradePlan(stamp=None, upgrade_to=target)
    return UpgradePlan(stamp=None, upgrade_to=None)
