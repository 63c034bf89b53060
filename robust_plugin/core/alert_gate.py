"""Which alerts go out: deduplication per trade and subject, and an hourly cap that spares critical ones.

Pure: times are seconds the caller measured. The rules:

* the same alert (same trade, pair and subject) goes out at most once per ``min_interval_s``, whatever
  its severity; a critical one repeats after that interval for as long as it holds;
* warnings and info share ``max_per_hour`` in any sliding hour, so a flapping exchange cannot flood
  the chat;
* a critical alert is never held back by that cap and does not use it up: the alerts that say a
  position may be open without protection (settlement ``unknown``, an orphan, an unprotected position)
  or cannot be closed must arrive even after a flood of warnings.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from enum import Enum

HOUR = 3600.0
CRITICAL = "critical"


class Verdict(str, Enum):
    SEND = "send"
    DUPLICATE = "duplicate"  # the same alert went out less than min_interval ago
    CAPPED = "capped"  # the hourly cap of warnings and info is full


class AlertGate:
    def __init__(self, min_interval_s: float, max_per_hour: int) -> None:
        self.min_interval_s = min_interval_s
        self.max_per_hour = max_per_hour
        self._last: dict[Hashable, float] = {}
        self._capped_sent: deque[float] = deque()

    def remember(self, key: Hashable, severity: str, at: float) -> None:
        """An alert that went out at ``at`` (before a restart): it holds back its duplicates and uses
        up the hourly cap as if this gate had sent it."""
        self._last[key] = max(at, self._last.get(key, at))
        if severity != CRITICAL:
            self._capped_sent.append(at)
            self._capped_sent = deque(sorted(self._capped_sent))

    def admit(self, key: Hashable, severity: str, now: float) -> Verdict:
        """Whether the alert ``key`` of ``severity`` goes out at ``now``; a sent one is remembered."""
        last = self._last.get(key)
        if last is not None and now - last < self.min_interval_s:
            return Verdict.DUPLICATE
        capped = severity != CRITICAL
        if capped:
            while self._capped_sent and now - self._capped_sent[0] >= HOUR:
                self._capped_sent.popleft()
            if len(self._capped_sent) >= self.max_per_hour:
                return Verdict.CAPPED
            self._capped_sent.append(now)
        self._last[key] = now
        if len(self._last) > 1000:  # forget alerts whose interval is over: nothing they can hold back
            self._last = {k: t for k, t in self._last.items() if now - t < self.min_interval_s}
        return Verdict.SEND
