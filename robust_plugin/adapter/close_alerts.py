"""What the close desk tells the operator: each alert's wording (what happened, what the plugin did,
what to do), one function per alert of the README's table "When the plugin alerts"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from robust_plugin.adapter.alerts import Alerter
from robust_plugin.core import closing as core
from robust_plugin.core.failures import Failure


def failures(
    alerts: Alerter, trade_id: int, pair: str, severity: str, state: core.CloseState, failure: Failure
) -> None:
    when = state.next_allowed_at
    next_at = f" (next at {datetime.fromtimestamp(when, UTC):%H:%M:%S})" if when is not None else ""
    alerts.alert(
        trade_id=trade_id,
        pair=pair,
        severity=severity,
        subject="close keeps failing",
        happened=f"{state.consecutive_failures} close attempts in a row failed; last: "
        f"{failure.failure_class.value} ({failure.message[:120]})",
        plugin_did=f"retries with backoff{next_at}, checking the exchange position before each attempt",
        you_should="check the exchange for the position and the error; close it by hand if it must go now",
        data={"failure_class": failure.failure_class.value, "attempts": state.consecutive_failures},
    )


def escalation(alerts: Alerter, trade_id: int, pair: str, reason: str, chunks: bool) -> None:
    """A full close cannot go through: critical, so the hourly cap of warnings never holds it back."""
    alerts.alert(
        trade_id=trade_id,
        pair=pair,
        severity="critical",
        subject="closing in chunks",
        happened=f"a full close cannot go through: {reason}",
        plugin_did="closes the position in partial exits sized from the market's limits, each confirmed by its fill"
        if chunks
        else "keeps retrying full closes with backoff (closing.chunked_fallback is off)",
        you_should="nothing unless the chunks stop; watch the position shrink"
        if chunks
        else "close the position by hand if it must go now",
    )


def position_gone(alerts: Alerter, trade: Any) -> None:
    alerts.alert(
        trade_id=trade.id,
        pair=trade.pair,
        severity="warning",
        subject="position already gone",
        happened="the exchange shows no position for this trade (liquidated, stopped or closed outside the bot)",
        plugin_did="sent no close order, and sends none while the exchange shows no position",
        you_should=f"freqtrade records the real exit when its wallet check finds the position gone; if "
        f"trade {trade.id} stays open (e.g. while its stop order is still open on the exchange), "
        f"run /reload_trade {trade.id} so freqtrade reads the exchange's orders",
    )


def position_smaller(alerts: Alerter, trade: Any, amount: float, exchange_amount: float) -> None:
    alerts.alert(
        trade_id=trade.id,
        pair=trade.pair,
        severity="warning",
        subject="position smaller than the trade",
        happened=f"the exchange holds {exchange_amount}, the trade {amount}",
        plugin_did="held the close back so freqtrade can record the outside change first",
        you_should="check who changed the position (another bot, the web UI)",
    )


def reduced_outside(alerts: Alerter, trade: Any, order: Any) -> None:
    alerts.alert(
        trade_id=trade.id,
        pair=trade.pair,
        severity="warning",
        subject="position reduced outside the bot",
        happened=f"an order from outside the bot reduced the position by {order.safe_filled}",
        plugin_did="closes only what is left; freqtrade recorded the outside order on the trade",
        you_should="check who trades on this account (another bot, the web UI)",
    )


def closed_outside(alerts: Alerter, trade: Any, order: Any) -> None:
    alerts.alert(
        trade_id=trade.id,
        pair=trade.pair,
        severity="warning",
        subject="position closed outside the bot",
        happened=f"the exchange closed the position ({trade.exit_reason}) at {order.safe_price}",
        plugin_did="sent no close order; freqtrade recorded the exchange's exit on the trade",
        you_should="check the exchange's order history if this was not expected",
    )
