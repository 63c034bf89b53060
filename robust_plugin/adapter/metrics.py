"""The optional Prometheus exporter: a recorder listener over its own registry, served on loopback.

Off by default (``robust_plugin.metrics.enabled``); only in dry-run and live. Each recorded event is
turned into metric updates by the pure :func:`robust_plugin.core.metric_rules.translate` and applied here.
A port that cannot be bound is one clear error in the log; the bot keeps trading without metrics.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from robust_plugin.adapter.recorder import Recorder
from robust_plugin.core import metric_rules as core
from robust_plugin.core.config import SECTION, MetricsConfig

logger = logging.getLogger(__name__)

# (host, port) -> the server this process runs there: a strategy re-created by /reload_config takes
# its port over instead of finding it in use by its predecessor.
_SERVING: dict[tuple[str, int], Any] = {}
_SERVING_LOCK = threading.Lock()


def _build(spec: core.MetricSpec, registry: CollectorRegistry):
    labels = (*core.COMMON_LABELS, *spec.labels)
    if spec.type == "counter":
        return Counter(spec.name.removesuffix("_total"), spec.help, labels, registry=registry)
    if spec.type == "gauge":
        return Gauge(spec.name, spec.help, labels, registry=registry)
    return Histogram(spec.name, spec.help, labels, registry=registry, buckets=core.LAG_BUCKETS)


class MetricsExporter:
    """Call it with each :class:`~robust_plugin.store.Event`; ``serve`` exposes ``/metrics``."""

    def __init__(self, bot: str, exchange: str) -> None:
        self.bot = bot
        self.exchange = exchange
        self.registry = CollectorRegistry()
        self._metrics = {name: _build(spec, self.registry) for name, spec in core.METRICS.items()}
        self._state = core.MetricsState()
        self._lock = threading.Lock()
        self.server = None

    def __call__(self, event: Any) -> None:
        with self._lock:
            self._state, updates = core.translate(self._state, event)
            for update in updates:
                self.apply(update)

    def apply(self, update: core.MetricUpdate) -> None:
        metric = self._metrics[update.metric]
        values = (self.bot, self.exchange, *(value for _, value in update.labels))
        if update.op == "inc":
            metric.labels(*values).inc(update.value)
        elif update.op == "observe":
            metric.labels(*values).observe(update.value)
        elif update.value:
            metric.labels(*values).set(update.value)
        else:
            try:
                metric.remove(*values)
            except KeyError:
                pass

    def serve(self, host: str, port: int) -> bool:
        """Start ``/metrics`` on ``host:port``; False (and one error in the log) when that fails."""
        with _SERVING_LOCK:
            previous = _SERVING.pop((host, port), None)
            if previous is not None:  # our own server from before a config reload
                previous.shutdown()
                previous.server_close()
            try:
                self.server, _thread = start_http_server(port, addr=host, registry=self.registry)
            except OSError as error:
                logger.error(
                    "robust_plugin: %s.metrics.port: cannot serve metrics on %s:%s (%s); the bot keeps "
                    "trading without metrics. Choose a free port or stop what uses it.",
                    SECTION,
                    host,
                    port,
                    error.strerror or error,
                )
                return False
            _SERVING[(host, port)] = self.server
        logger.info("robust_plugin: Prometheus metrics on http://%s:%s/metrics", host, port)
        return True

    def close(self) -> None:
        with _SERVING_LOCK:
            if self.server is not None:
                for key, server in list(_SERVING.items()):
                    if server is self.server:
                        del _SERVING[key]
                self.server.shutdown()
                self.server.server_close()
                self.server = None


def start_metrics(config: MetricsConfig, recorder: Recorder, bot: str, exchange: str) -> MetricsExporter | None:
    """When enabled: an exporter listening to ``recorder``, served on the configured address."""
    if not config.enabled:
        return None
    exporter = MetricsExporter(bot, exchange)
    recorder.subscribe(exporter)
    exporter.serve(config.host, config.port)
    return exporter
