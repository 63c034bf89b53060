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

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException

from robust_plugin.adapter import startup, trade_rows
from robust_plugin.adapter.aged_exits import AgedExits, watch_candles
from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.close_desk import CloseDesk
from robust_plugin.adapter.fast_callbacks import install_fast_callbacks
from robust_plugin.adapter.hyperopt import aged_policy_source
from robust_plugin.adapter.journal import AgedJournal
from robust_plugin.adapter.market_facts import market_limits, market_order_max
from robust_plugin.adapter.order_guard import OrderGuard
from robust_plugin.adapter.recorder import Recorder
from robust_plugin.adapter.settlement_desk import SettlementDesk
from robust_plugin.core.config import SECTION, PluginConfig, PluginConfigError, plugin_config_from
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)

_LIVE_MODES = (RunMode.DRY_RUN, RunMode.LIVE)


class RobustMixin:
    """Adds robust_plugin's aged-position exits to a freqtrade strategy (see module docstring)."""

    robust_config: PluginConfig | None = None
    _robust_aged: AgedExits | None = None
    _robust_store: EventStore | None = None
    _robust_store_url: str = ""
    _robust_recorder: Recorder | None = None  # every plugin event goes through it (store, metrics)
    _robust_metrics: Any = None
    _robust_journal: AgedJournal | None = None
    _robust_desk: CloseDesk | None = None
    _robust_guard: OrderGuard | None = None
    _robust_settlement: SettlementDesk | None = None
    _robust_default_custom_exit: bool = False  # the strategy has no custom_exit of its own (checked at start)

    # -- start-up ---------------------------------------------------------------------------

    def ft_bot_start(self, **kwargs) -> None:
        """freqtrade's strategy start-up; validates the ``robust_plugin`` section after it.

        Runs after the data provider and every config override are in place, whether or not the
        strategy overrides ``bot_start``. A bad section stops start-up with one clear message.
        """
        super().ft_bot_start(**kwargs)  # type: ignore[misc]
        from_environment = startup.only_from_environment(self.config)  # type: ignore[attr-defined]
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
                self._robust_store_url = startup.store_url(self.robust_config, self.config)  # type: ignore[attr-defined]
        except (PluginConfigError, startup.StartupError) as exc:
            message = str(exc) if isinstance(exc, PluginConfigError) else f"invalid config: {exc}"
            raise OperationalException(f"robust_plugin: {message}") from None
        if self.robust_config is None:
            logger.info("robust_plugin: no '%s' section in the config, the plugin is inactive", SECTION)
            return
        if not self.robust_config.enabled:
            logger.info("robust_plugin: disabled by %s.enabled", SECTION)
            return
        try:
            startup.check_strategy(self, RobustMixin, self.robust_config)
        except startup.StartupError as exc:
            raise OperationalException(f"robust_plugin: {exc}") from None
        self._robust_open_store()
        self._robust_start_aged()
        self._robust_fast_backtest_callbacks()
        self._robust_start_closing()
        self._robust_start_settlement()

    def _robust_runmode(self) -> RunMode:
        return RunMode(self.config.get("runmode", RunMode.OTHER))  # type: ignore[attr-defined]

    def _robust_start_aged(self) -> None:
        config = self.robust_config
        assert config is not None
        if not config.aged.enabled:
            return
        live = self._robust_runmode() in _LIVE_MODES
        if live:
            self._robust_journal = AgedJournal(self._robust_recorder)
        source = aged_policy_source(self, config.aged)
        self._robust_aged = AgedExits(
            policy=source() if source else config.aged.policy(),
            policy_source=source,
            live=live,
            limit_exits=self.order_types.get("exit", "limit") == "limit",  # type: ignore[attr-defined]
            journal=self._robust_journal,
        )
        if self._robust_aged.limit_exits and self._robust_runmode() in (RunMode.BACKTEST, RunMode.HYPEROPT):
            watch_candles(self, self._robust_aged)  # aged exits only in the candle that reaches the target
        p = self._robust_aged.policy
        logger.info(
            "robust_plugin: aged exits on (max_age %ss, grace %ss, +%s%% every %ss up to %s%%, force close after %s)",
            p.max_age,
            p.grace_period,
            p.loss_step_pct,
            p.step_interval,
            p.max_loss_pct,
            f"{p.force_close_after}s" if p.force_close_after is not None else "never",
        )

    def _robust_fast_backtest_callbacks(self) -> None:
        """Spare the plugin's read-only callbacks freqtrade's protective copy of the trade (see
        :mod:`robust_plugin.adapter.fast_callbacks`)."""
        mode = self._robust_runmode()
        backtest = mode in (RunMode.BACKTEST, RunMode.HYPEROPT)
        if backtest or mode in _LIVE_MODES:
            self._robust_default_custom_exit = install_fast_callbacks(self, RobustMixin, backtest, self._robust_aged)

    def _robust_open_store(self) -> None:
        config = self.robust_config
        assert config is not None
        if self._robust_runmode() not in _LIVE_MODES:
            return  # backtests stay fast: nothing per candle touches a database
        bot_name = config.store.bot_name or self.config.get("bot_name") or "freqtrade"  # type: ignore[attr-defined]
        try:
            self._robust_store = EventStore(self._robust_store_url, bot_name)
        except ValueError as exc:  # StoreConfigError: a bad url or bot name, named in the message
            raise OperationalException(f"robust_plugin: {exc}") from None
        self._robust_recorder = Recorder(self._robust_store)
        if config.metrics.enabled:
            from robust_plugin.adapter.metrics import start_metrics

            exchange = str(self.config.get("exchange", {}).get("name", ""))  # type: ignore[attr-defined]
            self._robust_metrics = start_metrics(config.metrics, self._robust_recorder, bot_name, exchange)

    def _robust_start_closing(self) -> None:
        config = self.robust_config
        assert config is not None
        closing = config.closing
        if not closing.enabled:
            return
        mode = self._robust_runmode()
        futures = self.config.get("trading_mode") == "futures"  # type: ignore[attr-defined]
        if mode is not RunMode.LIVE or not futures:
            logger.info(
                "robust_plugin: verified closes need a real futures exchange; skipped in %s%s "
                "(the same decisions run, there is nothing to verify)",
                mode.value,
                "" if futures else " (spot)",
            )
            return
        chunks = closing.chunked_fallback
        if chunks and not self.position_adjustment_enable:  # type: ignore[attr-defined]
            logger.warning(
                'robust_plugin: %s.closing.chunked_fallback needs "position_adjustment_enable": true '
                "(freqtrade only asks adjust_trade_position then); escalated closes keep retrying full closes.",
                SECTION,
            )
            chunks = False
        alerts = self._robust_alerter()
        bot = "".join(ch for ch in str(self.config.get("bot_name") or "rp") if ch.isalnum())[:6] or "rp"  # type: ignore[attr-defined]
        desk = CloseDesk(closing.core(), alerts, self._robust_recorder, None, chunks, prefix=bot)
        if closing.order_guard:
            guard = OrderGuard(desk.on_outcome, prefix=bot)
            if guard.install(self.dp._exchange):  # type: ignore[attr-defined]
                desk.guard = self._robust_guard = guard
        self._robust_desk = desk
        logger.info(
            "robust_plugin: verified closes on (order guard %s, chunked fallback %s)",
            "on" if desk.guard else "off",
            "on" if chunks else "off",
        )

    def _robust_alerter(self) -> Alerter:
        if getattr(self, "_robust_alerts", None) is None:
            config = self.robust_config
            assert config is not None
            self._robust_alerts = Alerter(
                lambda text: self.dp.send_msg(text, always_send=True),  # type: ignore[attr-defined]
                self._robust_recorder,
                config.alerts.min_interval,
                config.alerts.max_per_hour,
            )
        return self._robust_alerts

    def _robust_start_settlement(self) -> None:
        config = self.robust_config
        assert config is not None
        if not (config.settlement.enabled or config.reconcile.enabled):
            return
        mode = self._robust_runmode()
        if mode is not RunMode.LIVE or self.config.get("trading_mode") != "futures":  # type: ignore[attr-defined]
            logger.info(
                "robust_plugin: settlement verification and reconciliation need a real futures exchange; skipped in %s",
                mode.value,
            )
            return
        from freqtrade.persistence import Trade

        throttle = float(self.config.get("internals", {}).get("process_throttle_secs", 5))  # type: ignore[attr-defined]
        desk = SettlementDesk(
            config.settlement.policy(),
            self.dp._exchange,  # type: ignore[attr-defined]
            self._robust_alerter(),
            self._robust_recorder,
            loop_interval_s=throttle,
            reconcile_every_s=config.reconcile.interval if config.reconcile.enabled else None,
            reconcile_grace_s=config.reconcile.grace,
            unprotected_after_s=config.reconcile.unprotected_after,
            stoploss_on_exchange=bool(self.order_types.get("stoploss_on_exchange")),  # type: ignore[attr-defined]
            open_trades=trade_rows.open_trade_rows,
            closed_since=trade_rows.closed_trade_rows,
            load_trade=trade_rows.load_trade,
        )
        desk.resume(Trade.get_open_trades())
        self._robust_settlement = desk
        logger.info(
            "robust_plugin: settlement verification %s, reconciliation %s",
            "on" if config.settlement.enabled else "off",
            "on" if config.reconcile.enabled else "off",
        )

    # -- freqtrade callbacks -----------------------------------------------------------------

    def bot_loop_start(self, current_time: datetime, **kwargs) -> None:
        """The strategy's own loop start first; then, live, one batched position read for settlement
        jobs and reconciliation when either is due."""
        super().bot_loop_start(current_time=current_time, **kwargs)  # type: ignore[misc]
        if self._robust_settlement is not None:
            self._robust_settlement.on_loop(current_time.timestamp())

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
        exchange_amount = self._robust_exchange_amount(pair)
        market_max = market_order_max(self.dp._exchange, pair)  # type: ignore[attr-defined]
        settling = self._robust_settlement is not None and self._robust_settlement.settling(trade.id)
        if settling and exchange_amount > 0:  # the wallet sync just saw the position: settle on it
            self._robust_settlement.observe(trade, exchange_amount, current_time.timestamp())  # type: ignore[union-attr]
            settling = self._robust_settlement.settling(trade.id)  # type: ignore[union-attr]
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
        limits = market_limits(self.dp._exchange, trade.pair)  # type: ignore[attr-defined]
        if limits is None:
            return None
        return desk.next_chunk(
            trade, current_time.timestamp(), current_exit_rate, limits, self._robust_exchange_amount(trade.pair)
        )

    def _robust_exchange_amount(self, pair: str) -> float:
        """The pair's position as freqtrade's wallet sync last read it this loop (no extra request)."""
        position = self.wallets.get_all_positions().get(pair) if self.wallets else None  # type: ignore[attr-defined]
        return float(position.position) if position is not None else 0.0

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
        outside = trade.exit_reason in ("sold_on_exchange", "liquidation")
        if outside and self._robust_settlement is not None and self._robust_settlement.settling(trade.id):
            if self._robust_settlement.explain_exit(trade, current_time.timestamp()):
                return  # settlement's verdict (closed_immediately) said what happened
        if self._robust_desk is not None:
            if outside and trade.is_open:  # someone reduced the position; freqtrade recorded their order
                self._robust_desk.reduced_outside(trade, order)
            elif outside:
                self._robust_desk.closed_outside(trade, order)
            else:
                self._robust_desk.exit_filled(trade, order, current_time.timestamp())
