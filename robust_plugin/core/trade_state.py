"""The plugin's per-trade state, kept as one readable JSON value in freqtrade's ``custom_data``.

freqtrade matches custom data keys with SQL ``ilike`` (``_`` and ``%`` are wildcards, case is
ignored), so the plugin uses a single key without either: ``robustplugin``. Each capability owns one
top-level entry of that value (``aged``, later ``closing`` and ``settlement``). The value is what
``/list_custom_data <trade_id>`` shows in Telegram and the REST API.
"""

from __future__ import annotations

from typing import Any

CUSTOM_DATA_KEY = "robustplugin"


def read_state(trade: Any) -> dict[str, Any]:
    """The trade's plugin state (an empty dict when none was written)."""
    value = trade.get_custom_data(CUSTOM_DATA_KEY)
    return dict(value) if isinstance(value, dict) else {}


def write_part(trade: Any, part: str, value: dict[str, Any]) -> dict[str, Any]:
    """Replace one capability's entry and store the whole value; returns the new value."""
    state = read_state(trade)
    state[part] = value
    trade.set_custom_data(CUSTOM_DATA_KEY, state)
    return state
