"""Durations as people write them in a freqtrade config: ``"90s"``, ``"30m"``, ``"24h"``, ``"2d"``.

Pure parsing, no freqtrade import. Numbers without a unit are refused on purpose: ``24`` could mean
hours to one reader and seconds to another, and a stop-loss policy must not guess. Durations are at
most a year (``MAX_DAYS``): nothing the plugin times needs more, and a date plus a larger one (such as
``"99999999999999999999w"``) would overflow Python's datetime long after start-up.
"""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DAYS = 365
MAX_SECONDS = MAX_DAYS * 86400
_PATTERN = re.compile(r"^\s*(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])\s*$", re.IGNORECASE)


class DurationError(ValueError):
    """A duration string that cannot be read; the message says what was expected."""


def parse_duration(value: object) -> float:
    """Return the duration in seconds.

    :param value: a string made of a number and one unit: ``s`` (seconds), ``m`` (minutes), ``h``
        (hours), ``d`` (days) or ``w`` (weeks), for example ``"90s"``, ``"1.5h"``.
    :raises DurationError: for any other value, including bare numbers, negative durations and
        durations longer than ``MAX_DAYS``.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        shown = f"the number {value}" if isinstance(value, (int, float)) else repr(value)
        raise DurationError(f'expected a duration string such as "90s", "30m" or "24h", got {shown}')
    match = _PATTERN.match(value)
    if not match:
        raise DurationError(f'expected a duration such as "90s", "30m", "24h" or "2d", got "{value}"')
    seconds = float(match["num"]) * _UNITS[match["unit"].lower()]
    if seconds < 0:
        raise DurationError(f'a duration cannot be negative, got "{value}"')
    if not seconds <= MAX_SECONDS:  # also catches inf from a number too long for a float
        raise DurationError(f'at most {MAX_DAYS} days ("{MAX_DAYS}d"), got "{value}"')
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds in the largest unit that divides them exactly (``5400`` -> ``"90m"``)."""
    if seconds < 0:
        raise DurationError(f"a duration cannot be negative, got {seconds}")
    for unit, size in sorted(_UNITS.items(), key=lambda kv: -kv[1]):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
