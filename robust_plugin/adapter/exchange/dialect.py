"""An exchange dialect: everything the plugin must know that differs from one exchange to another.

One dialect per exchange (``binance``, ``bybit``); every other futures exchange freqtrade supports gets
the :class:`Unsupported` dialect, which says honestly which capabilities run there and which are off.
Only the exchange boundary (:mod:`robust_plugin.adapter.exchange.boundary`) calls a dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robust_plugin.core.client_ids import IdRule
from robust_plugin.core.failures import FailureClass


@dataclass(frozen=True)
class Capability:
    """One of the plugin's capabilities on this exchange: on, or off with the reason."""

    name: str
    on: bool
    why: str = ""


class Dialect:
    """The defaults: what freqtrade's own ``Exchange`` methods give on any exchange."""

    name = "generic"
    id_rule: IdRule | None = None  # None: the plugin sends no client order ids there
    error_codes: Mapping[int, FailureClass] = {}
    verified = False  # the plugin's capabilities were proven on this exchange (tests against its dialect)

    def lookup_params(self, client_order_id: str) -> dict[str, Any]:
        """ccxt params that make ``fetch_order(None, symbol, params)`` find an order by client id."""
        raise NotImplementedError

    def lookup(self, api: Any, symbol: str, client_order_id: str) -> dict | None:
        """The raw ccxt order with this client order id, or None when the exchange has none.
        Raises ccxt errors when the exchange cannot answer (except ``OrderNotFound``)."""
        import ccxt

        try:
            return api.fetch_order(None, symbol, self.lookup_params(client_order_id))
        except ccxt.OrderNotFound:
            return None

    def is_liquidation(self, order: Mapping[str, Any]) -> bool:
        """The exchange closed the position by liquidation or auto-deleverage (a raw ccxt order)."""
        return False

    def largest_market_order(self, market: Mapping[str, Any]) -> float | None:
        """The largest amount one market order may have, in contracts (ccxt's limits)."""
        limits = market.get("limits") or {}
        caps = [(limits.get(kind) or {}).get("max") for kind in ("market", "amount")]
        caps = [float(c) for c in caps if c]
        return min(caps) if caps else None

    def capabilities(self) -> list[Capability]:
        return [
            Capability("aged exits", True),
            Capability("verified closes (pre-close position check, backoff, chunked fallback)", True),
            Capability("order guard (client order ids, lookup after a lost response)", self.id_rule is not None),
            Capability("settlement verification and reconciliation", True),
        ]


class Unsupported(Dialect):
    """A futures exchange the plugin has no dialect for: what works through freqtrade's own
    ``Exchange`` methods stays on; the order guard is off, so no client order id is ever sent in a
    form the exchange might reject, and no lookup is made with another exchange's parameters."""

    def __init__(self, name: str):
        self.name = name

    def capabilities(self) -> list[Capability]:
        why = f"no {self.name} dialect: its client order id rules and lookup are not modelled"
        return [
            Capability("aged exits", True),
            Capability("verified closes (pre-close position check, backoff, chunked fallback)", True),
            Capability("order guard (client order ids, lookup after a lost response)", False, why),
            Capability(
                "settlement verification and reconciliation",
                True,
                "liquidation right after an entry is not recognised in the history (reported as closed)",
            ),
        ]


def describe(dialect: Dialect) -> tuple[str, bool]:
    """One line for the start-up log and the trader's chat: which capabilities run on this exchange,
    which are off and why; and whether it deserves the trader's attention."""
    caps = dialect.capabilities()
    off = [f"{c.name} (off: {c.why})" for c in caps if not c.on]
    notes = [f"{c.name} ({c.why})" for c in caps if c.on and c.why]
    parts = [f"robust_plugin on {dialect.name}: " + ("every capability on" if not off else "on: ")]
    if off:
        parts[0] += ", ".join(c.name for c in caps if c.on)
        parts.append("; ".join(off))
    if notes:
        parts.append("note: " + "; ".join(notes))
    if not dialect.verified:
        parts.append(f"the plugin's tests do not cover {dialect.name} end to end yet")
    return "; ".join(parts), bool(off) or not dialect.verified
