"""Start-up of the plugin inside a freqtrade strategy: its parts, built from the validated config for
the run mode and the exchange (:class:`RobustStartup`, a base of :class:`~robust_plugin.adapter.mixin.RobustMixin`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException

from robust_plugin.adapter import compat, trade_rows
from robust_plugin.adapter.aged_exits import AgedExits, watch_candles
from robust_plugin.adapter.alerts import Alerter
from robust_plugin.adapter.close_desk import CloseDesk
from robust_plugin.adapter.entry_desk import EntryDesk
from robust_plugin.adapter.exchange import ExchangeBoundary
from robust_plugin.adapter.exchange.dialect import describe
from robust_plugin.adapter.exchange.order_guard import OrderGuard
from robust_plugin.adapter.fast_callbacks import install_fast_callbacks
from robust_plugin.adapter.hyperopt import aged_policy_source
from robust_plugin.adapter.journal import AgedJournal
from robust_plugin.adapter.live_watch import LiveWatch
from robust_plugin.adapter.reconcile_desk import ReconcileDesk, reported_findings
from robust_plugin.adapter.recorder import Recorder
from robust_plugin.adapter.settlement_desk import SettlementDesk
from robust_plugin.core.client_ids import bot_tag
from robust_plugin.core.config import SECTION, PluginConfig
from robust_plugin.core.entry_guard import GuardScope
from robust_plugin.core.kinds import EventKind
from robust_plugin.core.reconcile import Scope
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)

LIVE_MODES = (RunMode.DRY_RUN, RunMode.LIVE)
RESUME_CLOSED_WITHIN_S = 86400.0  # settlement jobs of trades closed this recently resume after a restart


class RobustStartup:
    """The plugin's parts, made once in ``ft_bot_start``; ``None`` where the run mode or the config
    leaves a capability off."""

    robust_config: PluginConfig | None = None
    _robust_aged: AgedExits | None = None
    _robust_store: EventStore | None = None
    _robust_store_url: str = ""  # checked at start-up: never freqtrade's own database
    _robust_recorder: Recorder | None = None  # every plugin event goes through it (store, metrics)
    _robust_metrics: Any = None
    _robust_journal: AgedJournal | None = None
    _robust_desk: CloseDesk | None = None
    _robust_guard: OrderGuard | None = None
    _robust_settlement: SettlementDesk | None = None
    _robust_entries: EntryDesk | None = None  # live futures: the entry circuit breaker
    _robust_watch: LiveWatch | None = None  # live futures: settlement and reconciliation on the loop
    _robust_exchange: ExchangeBoundary | None = None  # live futures: the only door to the exchange
    _robust_default_custom_exit: bool = False  # the strategy has no custom_exit of its own (checked at start)
    _robust_hooks_owner: type | None = None
    _robust_compat: compat.CompatReport | None = None  # the freqtrade internals verified at start-up

    def _robust_allows(self, capability: str) -> bool:
        """Whether start-up verified the freqtrade internals ``capability`` relies on."""
        return self._robust_compat is None or self._robust_compat.allows(
            capability
        )  # the class whose callbacks a strategy must not bypass

    def _robust_runmode(self) -> RunMode:
        return RunMode(self.config.get("runmode", RunMode.OTHER))  # type: ignore[attr-defined]

    def _robust_start_aged(self) -> None:
        config = self.robust_config
        assert config is not None
        if not config.aged.enabled or not self._robust_allows(compat.AGED):
            return
        live = self._robust_runmode() in LIVE_MODES
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
        if backtest or mode in LIVE_MODES:
            self._robust_default_custom_exit = install_fast_callbacks(
                self, self._robust_hooks_owner, backtest, self._robust_aged
            )

    def _robust_open_store(self) -> None:
        config = self.robust_config
        assert config is not None
        if self._robust_runmode() not in LIVE_MODES:
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
        if not closing.enabled or not self._robust_allows(compat.CLOSING):
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
        boundary = self._robust_boundary()
        tag = self._robust_bot_tag()
        rule = boundary.dialect.id_rule
        config = dataclasses.replace(closing.core(), chunked_fallback=chunks)
        desk = CloseDesk(config, alerts, self._robust_recorder, None, prefix=tag, boundary=boundary)
        if rule is not None:
            desk.id_rule = rule
        if closing.order_guard and self._robust_allows(compat.ORDER_GUARD):
            guard = OrderGuard(desk.on_outcome, tag=tag)
            if guard.install(boundary):
                desk.guard = self._robust_guard = guard
        self._robust_desk = desk
        logger.info(
            "robust_plugin: verified closes on (order guard %s, chunked fallback %s)",
            "on" if desk.guard else "off",
            "on" if chunks else "off",
        )

    def _robust_boundary(self) -> ExchangeBoundary:
        """The exchange boundary (live futures), made once; start-up says what runs on this exchange."""
        if self._robust_exchange is None:
            name = str(self.config.get("exchange", {}).get("name", ""))  # type: ignore[attr-defined]
            self._robust_exchange = ExchangeBoundary.of_strategy(self.dp, name)  # type: ignore[attr-defined]
            text, attention = describe(self._robust_exchange.dialect)
            (logger.warning if attention else logger.info)(text)
            if attention:
                self.dp.send_msg(text, always_send=True)  # type: ignore[attr-defined]
        return self._robust_exchange

    def _robust_bot_pairs(self) -> list[str]:
        """The pairs this bot trades now (freqtrade's current whitelist, dynamic pairlists included)."""
        try:
            return list(self.dp.current_whitelist())  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - no pairlist yet: the configured whitelist
            return list(self.config.get("exchange", {}).get("pair_whitelist", []))  # type: ignore[attr-defined]

    def _robust_reported_findings(self) -> set[str]:
        """Findings this bot reported before a restart and that were not resolved: not reported again."""
        store = self._robust_store
        if store is None:
            return set()
        try:
            kinds = [k for k in EventKind if k.finding is not None or k is EventKind.FINDING_RESOLVED]
            events = [e for k in kinds for e in store.events(kind=k.value, bot_name=store.bot_name)]
            return reported_findings(sorted(events, key=lambda e: e.id or 0))
        except Exception:
            logger.exception("robust_plugin: could not read the findings reported before the restart")
            return set()

    def _robust_bot_tag(self) -> str:
        """This bot's part of every client order id: its name and its freqtrade database's identity,
        so bots sharing an account, and a replaced database, never share ids."""
        name = str(self.config.get("bot_name") or "freqtrade")  # type: ignore[attr-defined]
        return bot_tag(name, _database_identity(self.config))  # type: ignore[attr-defined]

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
            store = self._robust_store
            if store is not None:
                since = datetime.now(UTC) - timedelta(hours=1)
                try:
                    self._robust_alerts.resume(store.events(kind="alert", since=since, bot_name=store.bot_name))
                except Exception:
                    logger.exception("robust_plugin: could not read the alerts sent before the restart")
        return self._robust_alerts

    def _robust_start_settlement(self) -> None:
        config = self.robust_config
        assert config is not None
        if not (config.settlement.enabled or config.reconcile.enabled) or not self._robust_allows(compat.SETTLEMENT):
            return
        mode = self._robust_runmode()
        if mode is not RunMode.LIVE or self.config.get("trading_mode") != "futures":  # type: ignore[attr-defined]
            logger.info(
                "robust_plugin: settlement verification and reconciliation need a real futures exchange; skipped in %s",
                mode.value,
            )
            return
        throttle = float(self.config.get("internals", {}).get("process_throttle_secs", 5))  # type: ignore[attr-defined]
        boundary, alerts = self._robust_boundary(), self._robust_alerter()
        desk = SettlementDesk(
            config.settlement.policy(),
            boundary,
            alerts,
            self._robust_recorder,
            loop_interval_s=throttle,
            load_trade=trade_rows.load_trade,
        )
        # a trade closed while its entry settled keeps its job: the verdict is still owed
        desk.resume(trade_rows.trades_to_resume(time.time() - RESUME_CLOSED_WITHIN_S))
        reconcile = None
        if config.reconcile.enabled and self._robust_allows(compat.RECONCILE):
            reconcile = ReconcileDesk(
                alerts,
                self._robust_recorder,
                every_s=config.reconcile.interval,
                grace_s=config.reconcile.grace,
                unprotected_after_s=config.reconcile.unprotected_after,
                stoploss_on_exchange=bool(self.order_types.get("stoploss_on_exchange")),  # type: ignore[attr-defined]
                open_trades=trade_rows.open_trade_rows,
                closed_since=trade_rows.closed_trade_rows,
                scope=Scope(config.reconcile.scope),
                bot_pairs=self._robust_bot_pairs,
                ignore_pairs=tuple(config.reconcile.ignore_pairs),
                reported=self._robust_reported_findings(),
            )
        self._robust_settlement = desk
        entries = None
        if config.entry_guard.enabled:
            sources = [desk.unknown_problems] + ([reconcile.open_problems] if reconcile is not None else [])
            scope = GuardScope(config.entry_guard.scope)
            entries = self._robust_entries = EntryDesk(sources, alerts, self._robust_recorder, scope)
        self._robust_watch = LiveWatch(boundary, desk, reconcile, entries)
        logger.info(
            "robust_plugin: settlement verification %s, reconciliation %s",
            "on" if config.settlement.enabled else "off",
            "on" if config.reconcile.enabled else "off",
        )


def _database_identity(config: dict) -> str:
    """What tells this freqtrade database from another (and from an earlier one at the same URL):
    its URL and the time freqtrade first started on it, which freqtrade keeps in the database."""
    started = ""
    try:
        from freqtrade.persistence import KeyValueStore

        value = KeyValueStore.get_datetime_value("bot_start_time")
        started = value.isoformat() if value else ""
    except Exception:  # noqa: BLE001 - no key-value store (an old database): the URL alone
        started = ""
    return f"{config.get('db_url', '')}|{started}"
