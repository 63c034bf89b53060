"""The entry circuit breaker: no new entries while a position may be open without the bot knowing or
without protection.

freqtrade's protections look at the results of closed trades; nothing in freqtrade stops new entries
while an entry's position is unexplained (settlement ``unknown``), a position no trade covers is on
the account (``orphan``), or a position has had no stop order for too long (``unprotected``). Each of
those is a :class:`Problem`; while one is open, entries are held, on its pair or account-wide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class GuardScope(str, Enum):
    PAIR = "pair"  # hold entries on the pair with the problem
    ACCOUNT = "account"  # hold every entry of the bot


@dataclass(frozen=True)
class Problem:
    kind: str  # "settlement_unknown", "orphan", "unprotected"
    pair: str
    trade_id: int | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.pair}|{self.trade_id}"

    def describe(self) -> str:
        what = {
            "settlement_unknown": "an entry's position is unexplained (settlement unknown)",
            "orphan": "a position no trade covers (orphan)",
            "unprotected": "a position without a stop order (unprotected)",
        }.get(self.kind, self.kind)
        return f"{what} on {self.pair}" + (f", trade {self.trade_id}" if self.trade_id is not None else "")


def holding(problems: Iterable[Problem], pair: str, scope: GuardScope) -> list[Problem]:
    """The problems that hold an entry on ``pair`` (empty: the entry may go)."""
    return [p for p in problems if scope is GuardScope.ACCOUNT or p.pair == pair]


@dataclass(frozen=True)
class GuardChange:
    engaged: tuple[Problem, ...]  # problems that appeared since the last look
    released: tuple[Problem, ...]  # problems that went away

    @property
    def any(self) -> bool:
        return bool(self.engaged or self.released)


def change(previous: Iterable[Problem], current: Iterable[Problem]) -> GuardChange:
    before = {p.key: p for p in previous}
    now = {p.key: p for p in current}
    return GuardChange(
        tuple(now[k] for k in sorted(now.keys() - before.keys())),
        tuple(before[k] for k in sorted(before.keys() - now.keys())),
    )
