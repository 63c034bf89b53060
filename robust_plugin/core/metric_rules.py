"""Plugin events -> Prometheus metric updates (pure: no prometheus_client, freqtrade or database).

The exporter (:mod:`robust_plugin.adapter.metrics`) feeds every recorded event through
:func:`translate` and applies the updates it returns to its own registry. Every label value is
drawn from a closed set (failure classes, settlement outcomes, finding kinds, aged phases,
severities) or is the pair, so a surprising event can never blow up the number of series.

Metrics (each also labelled ``bot`` and ``exchange`` by the exporter, and ``pair``; ``pair`` is empty
for an event about no pair, such as an alert about the whole account):

========================================= ========= ===================================================
name                                      type      labels and meaning
========================================= ========= ===================================================
robust_plugin_close_attempts_total        counter   ``failure_class``, ``outcome``: close attempts (full
                                                    and chunk) by what happened to them: ``started``,
                                                    ``placed`` (the exchange accepted the order),
                                                    ``failed`` (with its failure class), ``filled``,
                                                    ``found_after_loss``, ``unresolved``,
                                                    ``skipped_gone``. An attempt moves through several
                                                    (started, placed, filled); ``failure_class`` is
                                                    ``none`` unless it failed.
robust_plugin_close_escalations_total     counter   ``reason``: closes that could not get through:
                                                    went on in chunks (``limits``,
                                                    ``failed_full_closes``, ``failed_attempts``,
                                                    ``above_market_max``) or are stuck
                                                    after ``max_attempts`` (``stuck``)
robust_plugin_settlement_lag_seconds      histogram ``outcome``: entry fill -> position visible
robust_plugin_settlement_outcomes_total   counter   ``outcome``: post-entry settlement verdicts
robust_plugin_findings_total              counter   ``kind``: reconciliation findings reported
robust_plugin_findings_open               gauge     ``kind``: findings reported and not resolved yet
robust_plugin_aged_trades                 gauge     ``phase``: open trades per aged phase (last seen)
robust_plugin_alerts_total                counter   ``severity``: alerts sent
========================================= ========= ===================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from robust_plugin.core.aging import AgedPhase
from robust_plugin.core.failures import FailureClass
from robust_plugin.core.kinds import EventKind
from robust_plugin.core.reconcile import FindingKind, fingerprint_of
from robust_plugin.core.settlement import SettlementOutcome

CLOSE_ATTEMPTS = "robust_plugin_close_attempts_total"
CLOSE_ESCALATIONS = "robust_plugin_close_escalations_total"
SETTLEMENT_LAG = "robust_plugin_settlement_lag_seconds"
SETTLEMENT_OUTCOMES = "robust_plugin_settlement_outcomes_total"
FINDINGS = "robust_plugin_findings_total"
FINDINGS_OPEN = "robust_plugin_findings_open"
AGED_TRADES = "robust_plugin_aged_trades"
ALERTS = "robust_plugin_alerts_total"

COMMON_LABELS = ("bot", "exchange", "pair")
LAG_BUCKETS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)
OTHER = "other"
NONE = "none"


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: Literal["counter", "gauge", "histogram"]
    labels: tuple[str, ...]
    help: str


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            CLOSE_ATTEMPTS,
            "counter",
            ("failure_class", "outcome"),
            "Close attempts (full and chunk) by outcome; failure_class is none unless the attempt failed.",
        ),
        MetricSpec(
            CLOSE_ESCALATIONS,
            "counter",
            ("reason",),
            "Closes that could not get through: went on in chunks, or stuck after max_attempts, by reason.",
        ),
        MetricSpec(
            SETTLEMENT_LAG,
            "histogram",
            ("outcome",),
            "Seconds from an entry fill until the exchange showed the position (verified, verified_late, size_mismatch).",
        ),
        MetricSpec(SETTLEMENT_OUTCOMES, "counter", ("outcome",), "Post-entry settlement verdicts."),
        MetricSpec(
            FINDINGS,
            "counter",
            ("kind",),
            "Reconciliation findings reported (orphan, ghost, size_mismatch, unprotected).",
        ),
        MetricSpec(FINDINGS_OPEN, "gauge", ("kind",), "Reconciliation findings reported and not resolved yet."),
        MetricSpec(
            AGED_TRADES, "gauge", ("phase",), "Open trades per aged phase (the last phase each trade was seen in)."
        ),
        MetricSpec(ALERTS, "counter", ("severity",), "Alerts the plugin sent, by severity."),
    )
}

CLOSE_OUTCOMES = {
    EventKind.CLOSE_ATTEMPT: "started",
    EventKind.CLOSE_CHUNK: "started",
    EventKind.CLOSE_PLACED: "placed",
    EventKind.CLOSE_FAILED: "failed",
    EventKind.CLOSE_FILLED: "filled",
    EventKind.CLOSE_FOUND_AFTER_LOSS: "found_after_loss",
    EventKind.CLOSE_UNRESOLVED: "unresolved",
    EventKind.CLOSE_SKIPPED_GONE: "skipped_gone",
}
FAILURE_CLASSES = frozenset(c.value for c in FailureClass)
ESCALATION_REASONS = frozenset(("limits", "failed_full_closes", "failed_attempts", "above_market_max", "stuck"))
SETTLEMENT_VERDICTS = frozenset(o.value for o in SettlementOutcome if o is not SettlementOutcome.PENDING)
FINDING_KINDS = frozenset(k.value for k in FindingKind)
PHASES = frozenset(p.value for p in AgedPhase)
SEVERITIES = frozenset(("info", "warning", "critical"))


class EventLike(Protocol):
    kind: str
    trade_id: int | None
    pair: str | None
    severity: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class MetricUpdate:
    """``inc`` a counter, ``observe`` into a histogram, or ``set`` a gauge (0 removes the series)."""

    metric: str
    op: Literal["inc", "observe", "set"]
    labels: tuple[tuple[str, str], ...]
    value: float = 1.0

    def label(self, name: str) -> str:
        return dict(self.labels)[name]


@dataclass(frozen=True)
class MetricsState:
    """What the gauges are derived from."""

    aged: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    """Per open trade id: (pair, last aged phase)."""
    findings: frozenset[tuple[str, str, str]] = frozenset()
    """Open findings: (fingerprint, pair, kind)."""


def _one_of(value: object, allowed: frozenset[str]) -> str:
    return value if isinstance(value, str) and value in allowed else OTHER


def _labels(pair: str | None, **more: str) -> tuple[tuple[str, str], ...]:
    return (("pair", pair or ""), *more.items())


def _aged_count(aged: Mapping[int, tuple[str, str]], pair: str, phase: str) -> MetricUpdate:
    count = sum(1 for p, ph in aged.values() if (p, ph) == (pair, phase))
    return MetricUpdate(AGED_TRADES, "set", _labels(pair, phase=phase), float(count))


def _findings_count(findings: frozenset[tuple[str, str, str]], pair: str, kind: str) -> MetricUpdate:
    count = sum(1 for _, p, k in findings if (p, k) == (pair, kind))
    return MetricUpdate(FINDINGS_OPEN, "set", _labels(pair, kind=kind), float(count))


def _escalation_reason(reason: object) -> str:
    """``close_escalated`` names its reason in words ("2 failed full closes"); the label is its kind."""
    if isinstance(reason, str) and reason.endswith("failed full closes"):
        return "failed_full_closes"
    if isinstance(reason, str) and reason.endswith("failed attempts"):
        return "failed_attempts"
    return _one_of(reason, ESCALATION_REASONS)


def finding_fingerprint(kind: str, pair: str | None, trade_id: int | None, data: Mapping[str, Any]) -> str:
    """The fingerprint :mod:`robust_plugin.core.reconcile` gave the finding (``finding_resolved`` names it)."""
    return fingerprint_of(kind, pair, trade_id, data)


def translate(state: MetricsState, event: EventLike) -> tuple[MetricsState, list[MetricUpdate]]:
    """The metric updates one event makes, and the state the gauges are derived from afterwards."""
    kind, pair, data = EventKind.parse(event.kind), event.pair or "", event.data or {}
    if kind is None:  # a kind this version does not know (a newer bot writing to the same store)
        return state, []
    if kind in CLOSE_OUTCOMES:
        outcome = CLOSE_OUTCOMES[kind]
        failure = _one_of(data.get("failure_class"), FAILURE_CLASSES) if outcome == "failed" else NONE
        return state, [MetricUpdate(CLOSE_ATTEMPTS, "inc", _labels(pair, failure_class=failure, outcome=outcome))]
    if kind is EventKind.CLOSE_ESCALATED:
        reason = _escalation_reason(data.get("reason"))
        return state, [MetricUpdate(CLOSE_ESCALATIONS, "inc", _labels(pair, reason=reason))]
    if kind in (EventKind.CLOSE_STUCK, EventKind.CLOSE_HELD_SMALLER):
        return state, [MetricUpdate(CLOSE_ESCALATIONS, "inc", _labels(pair, reason="stuck"))]
    if kind.settlement_verdict is not None:
        outcome = _one_of(kind.settlement_verdict, SETTLEMENT_VERDICTS)
        updates = [MetricUpdate(SETTLEMENT_OUTCOMES, "inc", _labels(pair, outcome=outcome))]
        lag = data.get("lag_s")
        if isinstance(lag, (int, float)) and not isinstance(lag, bool) and 0 <= lag < float("inf"):
            updates.append(MetricUpdate(SETTLEMENT_LAG, "observe", _labels(pair, outcome=outcome), float(lag)))
        return state, updates
    if kind is EventKind.FINDING_RESOLVED:
        fingerprint = str(data.get("fingerprint", ""))
        gone = {f for f in state.findings if f[0] == fingerprint}
        if not gone:
            return state, []
        findings = state.findings - gone
        return MetricsState(state.aged, findings), [_findings_count(findings, p, k) for _, p, k in sorted(gone)]
    if kind.finding is not None:
        finding = _one_of(kind.finding, FINDING_KINDS)
        findings = state.findings | {(finding_fingerprint(finding, event.pair, event.trade_id, data), pair, finding)}
        return MetricsState(state.aged, findings), [
            MetricUpdate(FINDINGS, "inc", _labels(pair, kind=finding)),
            _findings_count(findings, pair, finding),
        ]
    if kind is EventKind.AGED_STAGE and event.trade_id is not None:
        phase = _one_of(data.get("phase"), PHASES)
        before = state.aged.get(event.trade_id)
        aged = {**state.aged, event.trade_id: (pair, phase)}
        touched = {(pair, phase)} | ({before} if before else set())
        return MetricsState(aged, state.findings), [_aged_count(aged, p, ph) for p, ph in sorted(touched)]
    if kind is EventKind.TRADE_CLOSED and event.trade_id in state.aged:
        before = state.aged[event.trade_id]
        aged = {t: v for t, v in state.aged.items() if t != event.trade_id}
        return MetricsState(aged, state.findings), [_aged_count(aged, *before)]
    if kind is EventKind.ALERT:
        severity = _one_of(event.severity, SEVERITIES)
        return state, [MetricUpdate(ALERTS, "inc", _labels(pair, severity=severity))]
    return state, []
