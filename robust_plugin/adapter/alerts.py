"""Alerts: one message through freqtrade's RPC (Telegram, webhook, Discord) and one row in the store.

Deduplicated per trade and subject within ``min_interval_s``; warnings and info are limited to
``max_per_hour``, so a flapping exchange cannot flood the user's chat, while critical alerts are never
held back by that cap (:mod:`robust_plugin.core.alert_gate`). Every alert says what happened, to which
trade, what the plugin did, and what the user should do; every one is logged, sent or not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from robust_plugin.adapter.recorder import Recorder, as_recorder
from robust_plugin.core.advice import Advice, message
from robust_plugin.core.alert_gate import AlertGate, Verdict
from robust_plugin.store import EventStore

logger = logging.getLogger(__name__)
ICONS = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}


class Alerter:
    def __init__(
        self,
        send: Callable[[str], None] | None,
        recorder: Recorder | EventStore | None,
        min_interval_s: float = 600.0,
        max_per_hour: int = 30,
        clock: Callable[[], float] = time.time,
    ):
        self.send = send
        self.recorder = as_recorder(recorder)
        self.gate = AlertGate(min_interval_s, max_per_hour)
        self.clock = clock

    def resume(self, sent: list) -> int:
        """The alerts this bot sent in the last hour, read back from its store after a restart: the
        same alert is not sent again within its interval, and the hourly cap counts them."""
        for event in sent:
            at = event.created_at.timestamp()
            subject = (event.data or {}).get("subject")
            self.gate.remember((event.trade_id, event.pair, subject), event.severity, at)
        return len(sent)

    def advise(self, advice: Advice, facts: dict, *, trade_id: int | None, pair: str | None) -> bool:
        """Raise the alert ``advice`` (one row of :data:`robust_plugin.core.advice.TABLE`) about ``facts``."""
        text = message(advice, facts)
        return self.alert(
            trade_id=trade_id,
            pair=pair,
            severity=text.severity.value,
            subject=text.subject,
            happened=text.happened,
            plugin_did=text.plugin_did,
            you_should=text.you_should,
            data={k: v for k, v in facts.items() if k != "trade_id"} or None,
        )

    def alert(
        self,
        *,
        trade_id: int | None,
        pair: str | None,
        severity: str,
        subject: str,
        happened: str,
        plugin_did: str,
        you_should: str,
        data: dict | None = None,
    ) -> bool:
        """Send unless a duplicate within the interval, or a warning or info over the hourly cap;
        always log; True when it went out."""
        now = self.clock()
        key = (trade_id, pair, subject)
        text = (
            f"{ICONS.get(severity, '')} robust_plugin {severity}: {subject}"
            f"{f' - trade {trade_id}' if trade_id is not None else ''}{f' ({pair})' if pair else ''}\n"
            f"What happened: {happened}\nWhat the plugin did: {plugin_did}\nWhat you should do: {you_should}"
        )
        log = logger.warning if severity != "info" else logger.info
        log("robust_plugin alert: %s", text.replace("\n", " | "))
        verdict = self.gate.admit(key, severity, now)
        if verdict is Verdict.CAPPED:
            logger.info("robust_plugin: the hourly cap of warnings and info is full, the alert above was not sent")
        if verdict is not Verdict.SEND:
            return False
        if self.send is not None:
            try:
                self.send(text)
            except Exception:
                logger.exception("robust_plugin: could not send an alert")
        self.recorder.record(
            "alert",
            trade_id,
            pair,
            {
                "subject": subject,
                "happened": happened,
                "plugin_did": plugin_did,
                "you_should": you_should,
                **(data or {}),
            },
            severity,
            at=now,
        )
        return True
