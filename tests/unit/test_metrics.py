"""Plugin events -> Prometheus metrics: the pure mapping (hypothesis) and the exporter's registry."""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from robust_plugin.core import metric_rules as core
from robust_plugin.core.reconcile import Finding, FindingKind


@dataclass(frozen=True)
class Ev:
    kind: str
    trade_id: int | None = None
    pair: str | None = None
    severity: str = "info"
    data: dict[str, Any] = field(default_factory=dict)


VERDICTS = {
    f"settlement_{v}"
    for v in ("verified", "verified_late", "size_mismatch", "closed_immediately", "never_filled", "unknown")
}
FINDINGS = {f"finding_{k}" for k in ("orphan", "ghost", "size_mismatch", "unprotected")}
PAIRS = st.sampled_from(["BTC/USDT:USDT", "ETH/USDT:USDT", None])
KINDS = [
    *core.CLOSE_OUTCOMES,
    "close_escalated",
    "close_stuck",
    "close_held_smaller",
    "settlement_started",
    "settlement_verified",
    "settlement_verified_late",
    "settlement_unknown",
    "settlement_bogus",
    "finding_orphan",
    "finding_ghost",
    "finding_unprotected",
    "finding_size_mismatch",
    "finding_weird",
    "finding_resolved",
    "aged_stage",
    "aged_exit",
    "trade_closed",
    "alert",
    "something_else",
]


@st.composite
def events(draw):
    kind = draw(st.sampled_from(KINDS))
    pair = draw(PAIRS)
    trade_id = draw(st.one_of(st.none(), st.integers(1, 4)))
    data: dict[str, Any] = {}
    if kind == "close_failed":
        data["failure_class"] = draw(st.sampled_from(["network", "rate_limit", "limits", "bogus", None]))
    if kind.startswith("settlement_"):
        data["lag_s"] = draw(st.one_of(st.none(), st.floats(0, 600), st.just(-1.0), st.just(float("nan"))))
    if kind.startswith("finding_") and kind != "finding_resolved":
        data["trade_amount"] = draw(st.sampled_from([None, 0.01, 0.05]))
        data["exchange_amount"] = draw(st.sampled_from([0.0, 0.01, 0.05]))
    if kind == "finding_resolved":
        finding = draw(st.sampled_from(list(FindingKind)))
        data["fingerprint"] = Finding(
            finding,
            pair or "",
            trade_id,
            draw(st.sampled_from([None, 0.01, 0.05])),
            draw(st.sampled_from([0.0, 0.01, 0.05])),
            "",
        ).fingerprint
    if kind == "aged_stage":
        data["phase"] = draw(st.sampled_from(["grace", "progressive", "capped", "forced", "weird"]))
    if kind == "close_escalated":
        data["reason"] = draw(st.sampled_from(["limits", "3 failed full closes", "above_market_max", "odd", None]))
    severity = draw(st.sampled_from(["info", "warning", "critical", "loud"]))
    return Ev(kind, trade_id, pair, severity, data)


def run(sequence):
    state, updates = core.MetricsState(), []
    for event in sequence:
        state, more = core.translate(state, event)
        updates.extend(more)
    return state, updates


def gauges(updates, metric):
    """Apply the ``set`` updates of one gauge the way the exporter does (0 removes the series)."""
    values: dict = {}
    for u in updates:
        if u.metric == metric:
            if u.value:
                values[u.labels] = u.value
            else:
                values.pop(u.labels, None)
    return values


@given(st.lists(events(), max_size=60))
def test_every_update_names_a_declared_metric_with_bounded_label_values(sequence):
    _, updates = run(sequence)
    allowed = {
        "failure_class": core.FAILURE_CLASSES | {core.NONE, core.OTHER},
        "outcome": set(core.CLOSE_OUTCOMES.values()) | core.SETTLEMENT_VERDICTS | {core.OTHER},
        "kind": core.FINDING_KINDS | {core.OTHER},
        "phase": core.PHASES | {core.OTHER},
        "severity": core.SEVERITIES | {core.OTHER},
        "reason": core.ESCALATION_REASONS | {core.OTHER},
    }
    for u in updates:
        spec = core.METRICS[u.metric]
        assert tuple(name for name, _ in u.labels) == ("pair", *spec.labels)
        for name, value in u.labels[1:]:
            assert value in allowed[name], u
        expected_op = {"counter": "inc", "histogram": "observe", "gauge": "set"}[spec.type]
        assert u.op == expected_op
        assert u.value > 0 if u.op == "inc" else u.value >= 0


@given(st.lists(events(), max_size=80))
def test_aged_gauge_counts_each_open_trade_once_in_its_last_phase(sequence):
    last: dict[int, tuple[str, str]] = {}
    for e in sequence:  # reference model, written independently of the mapping
        if e.kind == "aged_stage" and e.trade_id is not None:
            phase = e.data["phase"] if e.data["phase"] in core.PHASES else "other"
            last[e.trade_id] = (e.pair or "", phase)
        elif e.kind == "trade_closed":
            last.pop(e.trade_id, None)
    _, updates = run(sequence)
    expected = {(("pair", p), ("phase", ph)): float(n) for (p, ph), n in Tally(last.values()).items()}
    assert gauges(updates, core.AGED_TRADES) == expected


@given(st.lists(events(), max_size=80))
def test_open_findings_gauge_follows_reported_and_resolved_fingerprints(sequence):
    open_: dict[str, tuple[str, str]] = {}
    for e in sequence:
        if e.kind == "finding_resolved":
            open_.pop(e.data["fingerprint"], None)
        elif e.kind in FINDINGS:  # a kind this version does not know ("finding_weird") is no metric
            kind = e.kind.removeprefix("finding_")
            fingerprint = core.finding_fingerprint(kind, e.pair, e.trade_id, e.data)
            open_[fingerprint] = (e.pair or "", kind)
    _, updates = run(sequence)
    expected = {(("pair", p), ("kind", k)): float(n) for (p, k), n in Tally(open_.values()).items()}
    assert gauges(updates, core.FINDINGS_OPEN) == expected


@given(st.lists(events(), max_size=60))
def test_counters_count_their_events(sequence):
    _, updates = run(sequence)
    incs = Tally(u.metric for u in updates if u.op == "inc")
    assert incs[core.CLOSE_ATTEMPTS] == sum(e.kind in core.CLOSE_OUTCOMES for e in sequence)
    assert incs[core.ALERTS] == sum(e.kind == "alert" for e in sequence)
    assert incs[core.SETTLEMENT_OUTCOMES] == sum(e.kind in VERDICTS for e in sequence)
    assert incs[core.CLOSE_ESCALATIONS] == sum(
        e.kind in ("close_escalated", "close_stuck", "close_held_smaller") for e in sequence
    )
    observed = [u.value for u in updates if u.op == "observe"]
    assert all(0 <= v < float("inf") for v in observed)


def test_a_failed_close_is_counted_with_its_failure_class():
    _, [update] = core.translate(
        core.MetricsState(), Ev("close_failed", 1, "BTC/USDT:USDT", "warning", {"failure_class": "insufficient_margin"})
    )
    assert update.metric == "robust_plugin_close_attempts_total"
    assert dict(update.labels) == {"pair": "BTC/USDT:USDT", "failure_class": "insufficient_margin", "outcome": "failed"}


def test_a_close_that_cannot_go_through_in_full_is_counted_as_an_escalation_by_reason():
    """A full close that cannot get through (market limits, max_full_attempts failures, a position
    above the market-order maximum) is a critical outcome: Prometheus needs a series to alert on."""
    for reason, label in (
        ("limits", "limits"),
        ("2 failed full closes", "failed_full_closes"),
        ("above_market_max", "above_market_max"),
        ("a new reason", "other"),
    ):
        _, [update] = core.translate(
            core.MetricsState(), Ev("close_escalated", 3, "BTC/USDT:USDT", "critical", {"reason": reason})
        )
        assert (update.metric, update.op, dict(update.labels)) == (
            "robust_plugin_close_escalations_total",
            "inc",
            {"pair": "BTC/USDT:USDT", "reason": label},
        )


def test_a_settlement_verdict_counts_its_outcome_and_observes_its_lag():
    _, updates = core.translate(
        core.MetricsState(), Ev("settlement_verified_late", 1, "BTC/USDT:USDT", "info", {"lag_s": 21.5})
    )
    assert [(u.metric, u.op, u.value, u.label("outcome")) for u in updates] == [
        ("robust_plugin_settlement_outcomes_total", "inc", 1.0, "verified_late"),
        ("robust_plugin_settlement_lag_seconds", "observe", 21.5, "verified_late"),
    ]
    assert core.translate(core.MetricsState(), Ev("settlement_started", 1, "BTC/USDT:USDT"))[1] == []


def test_an_orphan_finding_stays_open_until_reconciliation_resolves_its_fingerprint():
    finding = Finding(FindingKind.ORPHAN, "ETH/USDT:USDT", None, None, 0.05, "a position no trade covers")
    data = {
        "kind": "orphan",
        "trade_amount": None,
        "exchange_amount": 0.05,
        "detail": finding.detail,
    }  # as the desk writes it
    state, updates = core.translate(core.MetricsState(), Ev("finding_orphan", None, "ETH/USDT:USDT", "critical", data))
    assert [(u.metric, u.value) for u in updates] == [
        ("robust_plugin_findings_total", 1.0),
        ("robust_plugin_findings_open", 1.0),
    ]
    state, [closed] = core.translate(
        state, Ev("finding_resolved", None, "ETH/USDT:USDT", "info", {"fingerprint": finding.fingerprint})
    )
    assert (closed.metric, closed.value, closed.label("kind")) == ("robust_plugin_findings_open", 0.0, "orphan")


def test_exporter_registry_exposes_bot_and_exchange_labels_and_removes_a_closed_trades_phase():
    from robust_plugin.adapter.metrics import MetricsExporter

    exporter = MetricsExporter("bot-a", "binance")
    exporter(Ev("aged_stage", 7, "BTC/USDT:USDT", "info", {"phase": "grace"}))
    exporter(Ev("close_failed", 7, "BTC/USDT:USDT", "warning", {"failure_class": "network"}))
    exporter(Ev("settlement_verified", 7, "BTC/USDT:USDT", "info", {"lag_s": 3.0}))

    def samples():
        text = generate_latest(exporter.registry).decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }

    common = (("bot", "bot-a"), ("exchange", "binance"), ("pair", "BTC/USDT:USDT"))
    now = samples()
    assert now[("robust_plugin_aged_trades", tuple(sorted((*common, ("phase", "grace")))))] == 1.0
    assert (
        now[
            (
                "robust_plugin_close_attempts_total",
                tuple(sorted((*common, ("failure_class", "network"), ("outcome", "failed")))),
            )
        ]
        == 1.0
    )
    assert (
        now[
            (
                "robust_plugin_settlement_lag_seconds_bucket",
                tuple(sorted((*common, ("le", "3.0"), ("outcome", "verified")))),
            )
        ]
        == 1.0
    )
    assert (
        now[
            (
                "robust_plugin_settlement_lag_seconds_bucket",
                tuple(sorted((*common, ("le", "2.0"), ("outcome", "verified")))),
            )
        ]
        == 0.0
    )
    exporter(Ev("trade_closed", 7, "BTC/USDT:USDT"))
    assert not [k for k in samples() if k[0] == "robust_plugin_aged_trades"]


def test_a_port_in_use_is_one_clear_error_and_no_exception(caplog):
    import socket
    import urllib.request

    from robust_plugin.adapter.metrics import MetricsExporter

    exporter = MetricsExporter("bot-a", "binance")
    assert exporter.serve("127.0.0.1", 0) is True  # any free port
    port = exporter.server.server_address[1]
    try:
        exporter(Ev("alert", None, None, "critical", {}))
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'robust_plugin_alerts_total{bot="bot-a",exchange="binance",pair="",severity="critical"} 1.0' in body
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            other = MetricsExporter("bot-b", "binance")
            assert other.serve("127.0.0.1", taken.getsockname()[1]) is False
    finally:
        exporter.close()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "robust_plugin.metrics.port" in errors[0].getMessage()
