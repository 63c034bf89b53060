"""``RobustMixin``: the plugin inside a freqtrade strategy.

Use it first in the bases, so its callbacks wrap the strategy's own::

    class MyStrategy(RobustMixin, IStrategy):
        ...

and enable it with a ``"robust_plugin"`` section in the freqtrade config. Every callback here calls
``super()`` first and only adds the plugin's decision when the strategy's own callback made none. If
your strategy defines one of these callbacks itself, call ``super()`` from it (the start-up log warns
when it does not look like it).

Without a ``robust_plugin`` section the mixin does nothing and the strategy trades exactly as before.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from freqtrade.exceptions import OperationalException

from robust_plugin.adapter import compat, startup_checks
from robust_plugin.adapter.exchange import ExchangeBoundary
from robust_plugin.adapter.startup import RobustStartup
from robust_plugin.core.config import SECTION, PluginConfigError, plugin_config_from

logger = logging.getLogger(__name__)


class RobustMixin(RobustStartup):
    """Adds robust_plugin to a freqtrade strategy (see module docstring)."""

    # -- start-up ---------------------------------------------------------------------------

    def ft_bot_start(self, **kwargs) -> None:
        """freqtrade's strategy start-up; validates the ``robust_plugin`` section after it.

        Runs after the data provider and every config override are in place, whether or not the
        strategy overrides ``bot_start``. A bad section stops start-up with one clear message.
        """
        super().ft_bot_start(**kwargs)  # type: ignore[misc]
        from_environment = startup_checks.only_from_environment(self.config)  # type: ignore[attr-defined]
        if from_environment:
            logger.warning(
                "robust_plugin: %s set, but no config file has a '%s' section: the plugin stays inactive "
                '(environment variables only adjust a section the config has; add "%s": {} to turn it on)',
                ", ".join(from_environment),
                SECTION,
                SECTION,
            )
            return
        try:
            self.robust_config = plugin_config_from(self.config)  # type: ignore[attr-defined]
            if self.robust_config is not None and self.robust_config.enabled:
                self._robust_store_url = startup_checks.store_url(self.robust_config, self.config)  # type: ignore[attr-defined]
        except (PluginConfigError, startup_checks.StartupError) as exc:
            message = str(exc) if isinstance(exc, PluginConfigError) else f"invalid config: {exc}"
            raise OperationalException(f"robust_plugin: {message}") from None
        if self.robust_config is None:
            logger.info("robust_plugin: no '%s' section in the config, the plugin is inactive", SECTION)
            return
        if not self.robust_config.enabled:
            logger.info("robust_plugin: disabled by %s.enabled", SECTION)
            return
        try:
            startup_checks.check_strategy(self, RobustMixin, self.robust_config)
        except startup_checks.StartupError as exc:
            raise OperationalException(f"robust_plugin: {exc}") from None
        self._robust_compat = compat.startup(self)  # an unsupported freqtrade stops here, with the range
        self._robust_open_store()
        self._robust_start_aged()
        self._robust_fast_backtest_callbacks()
        self._robust_start_closing()
        self._robust_start_settlement()

    # -- freqtrade callbacks -----------------------------------------------------------------

    def bot_loop_start(self, current_time: datetime, **kwargs) -> None:
        """The strategy's own loop start first; then, live, one batched position read for settlement
        jobs and reconciliation when either is due."""
        super().bot_loop_start(current_time=current_time, **kwargs)  # type: ignore[misc]
        if self._robust_watch is not None:
            self._robust_watch.on_loop(current_time.timestamp())

    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> bool:
        """The strategy's own confirmation first; then, live, the entry circuit breaker: no new entry
        while a settlement is unknown, an orphan is open or a position is unprotected."""
        own = super().confirm_trade_entry(  # type: ignore[misc]
            pair, order_type, amount, rate, time_in_force, current_time, entry_tag, side, **kwargs
        )
        if not own or self._robust_entries is None:
            return own
        return self._robust_entries.allow(pair)

    def custom_exit(
        self,
        pair: str,
        trade: Any,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        **kwargs,
    ) -> str | bool | None:
        """The strategy's own custom exit first; otherwise the aged policy's exit reason, if any."""
        own = (
            None
            if self._robust_default_custom_exit
            else super().custom_exit(  # type: ignore[misc]
                pair, trade, current_time, current_rate, current_profit, **kwargs
            )
        )
        if own or self._robust_aged is None:
            return own
        aged = self._robust_aged
        if aged.policy_source is not None:
            aged.policy = aged.policy_source()
        reason = aged.exit_reason(trade, current_time, current_rate)
        desk = self._robust_desk
        if reason and desk is not None:
            withheld = not desk.may_signal_exit(trade, current_time.timestamp())
            desk.persist(trade)
            if withheld:
                return None  # backing off, unresolved or closing in chunks: the desk decides
        return reason

    def confirm_trade_exit(
        self,
        pair: str,
        trade: Any,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        exit_reason: str,
        current_time: datetime,
        **kwargs,
    ) -> bool:
        """The strategy's own confirmation first; then, live, the close desk's pre-close checks."""
        own = super().confirm_trade_exit(  # type: ignore[misc]
            pair, trade, order_type, amount, rate, time_in_force, exit_reason, current_time, **kwargs
        )
        desk = self._robust_desk
        if not own or desk is None:
            return own
        position = ExchangeBoundary.synced_position(self.wallets, pair)  # type: ignore[attr-defined]
        exchange_amount = self._robust_held(trade, position)
        market_max = self._robust_boundary().largest_market_order(pair)
        settlement = self._robust_settlement
        settling = settlement is not None and settlement.settling(trade.id)
        if settling and position is not None:  # the wallet sync just saw a position: settle on it
            settlement.observe(trade, position, current_time.timestamp())  # type: ignore[union-attr]
            settling = settlement.settling(trade.id)  # type: ignore[union-attr]
        return desk.confirm_exit(
            trade, amount, exit_reason, current_time.timestamp(), exchange_amount, market_max, settling=settling
        )

    def adjust_trade_position(
        self,
        trade: Any,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        min_stake: float | None,
        max_stake: float,
        current_entry_rate: float,
        current_exit_rate: float,
        current_entry_profit: float,
        current_exit_profit: float,
        **kwargs,
    ):
        """The strategy's own adjustment first; otherwise the next chunk of an escalated close."""
        own = super().adjust_trade_position(  # type: ignore[misc]
            trade,
            current_time,
            current_rate,
            current_profit,
            min_stake,
            max_stake,
            current_entry_rate,
            current_exit_rate,
            current_entry_profit,
            current_exit_profit,
            **kwargs,
        )
        desk = self._robust_desk
        if own is not None or desk is None or not desk.in_chunked_close(trade):
            return own  # nearly every call: no escalated close, nothing to size
        limits = self._robust_boundary().market_limits(trade.pair)
        if limits is None:
            return None
        return desk.next_chunk(
            trade,
            current_time.timestamp(),
            current_exit_rate,
            limits,
            self._robust_held(trade, ExchangeBoundary.synced_position(self.wallets, trade.pair)),  # type: ignore[attr-defined]
        )

    @staticmethod
    def _robust_held(trade: Any, position: Any) -> float:
        """What the exchange holds for this trade, from freqtrade's wallet sync this loop (no extra
        request): a position of the other side is not this trade's (a stale view of the last trade
        on the pair), so the trade's own position is not visible there."""
        if position is None or position.side.value != ("short" if trade.is_short else "long"):
            return 0.0
        return position.amount

    def custom_exit_price(
        self,
        pair: str,
        trade: Any,
        current_time: datetime,
        proposed_rate: float,
        current_profit: float,
        exit_tag: str | None,
        **kwargs,
    ) -> float:
        """Aged exits are priced at their target; other exits keep the strategy's price."""
        rate = super().custom_exit_price(  # type: ignore[misc]
            pair, trade, current_time, proposed_rate, current_profit, exit_tag, **kwargs
        )
        if self._robust_aged is None:
            return rate
        aged_rate = self._robust_aged.exit_price(trade, current_time, proposed_rate, exit_tag)
        return rate if aged_rate is None else aged_rate

    def order_filled(self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs) -> None:
        """Records exits that filled (aged exits in dry-run and live; close attempts in live)."""
        super().order_filled(pair, trade, order, current_time, **kwargs)  # type: ignore[misc]
        if order.ft_order_side == trade.entry_side:
            if self._robust_settlement is not None and self.robust_config.settlement.enabled:  # type: ignore[union-attr]
                self._robust_settlement.entry_filled(trade, order, current_time.timestamp())
            return
        if order.ft_order_side != trade.exit_side:
            return
        if self._robust_journal is not None:
            self._robust_journal.exit_filled(trade, order, current_time)
        # freqtrade tags every exit it places with its reason; an order it found on the exchange has none
        outside = trade.exit_reason == "sold_on_exchange" or not getattr(order, "ft_order_tag", None)
        settlement, now = self._robust_settlement, current_time.timestamp()
        young = settlement is not None and settlement.settling(trade.id)
        if settlement is not None and young:
            if outside and trade.is_open:  # reduced outside: the position to expect is what the trade holds now
                settlement.retarget(trade)
            elif outside and settlement.explain_exit(trade, now):
                return  # settlement's verdict (closed_immediately) said what happened
            elif not outside and not trade.is_open:
                settlement.closed_by_bot(trade, now)
        if not outside and order.ft_order_tag == "liquidation" and self._robust_desk is not None:
            self._robust_desk.liquidation_exit(trade, order, young)
        if self._robust_desk is not None:
            if outside and trade.is_open:  # someone reduced the position; freqtrade recorded their order
                self._robust_desk.reduced_outside(trade, order)
            elif outside:
                self._robust_desk.closed_outside(trade, order)
            else:
                self._robust_desk.exit_filled(trade, order, current_time.timestamp())


RobustMixin._robust_hooks_owner = RobustMixin
