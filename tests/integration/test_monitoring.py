"""The shipped alert rules and Grafana dashboard: promtool accepts the rules, the alerts fire when
they should (promtool test rules), and every metric they use is one the exporter serves."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from robust_plugin.adapter.metrics import MetricsExporter
from robust_plugin.core import metric_rules as core
from robust_plugin.monitoring import ALERT_RULES, GRAFANA_DASHBOARD
from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\brobust_plugin_[a-z_]*[a-z]\b")


@dataclass(frozen=True)
class Ev:
    kind: str
    trade_id: int | None = None
    pair: str | None = "BTC/USDT:USDT"
    severity: str = "info"
    data: dict[str, Any] = field(default_factory=dict)


def served_names() -> set[str]:
    """Sample names the exporter serves once each kind of event has happened."""
    exporter = MetricsExporter("bot-a", "binance")
    for event in (
        Ev("close_failed", 1, data={"failure_class": "network"}),
        Ev("close_escalated", 1, data={"reason": "limits"}),
        Ev("settlement_verified", 1, data={"lag_s": 2.0}),
        Ev("finding_orphan", None, data={"exchange_amount": 0.05}),
        Ev("aged_stage", 1, data={"phase": "grace"}),
        Ev("alert", 1, severity="warning"),
    ):
        exporter(event)
    text = generate_latest(exporter.registry).decode()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def rule_exprs() -> list[str]:
    return re.findall(r"expr: >-\n((?:\s{10,}.*\n)+)|expr: (.+)\n", ALERT_RULES.read_text())


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_promtool_accepts_the_shipped_rules():
    promtool = require_binary("promtool")
    result = subprocess.run([promtool, "check", "rules", str(ALERT_RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_rules_and_dashboard_use_only_metrics_the_exporter_serves():
    served = served_names()
    rule_names = {n for pair in rule_exprs() for text in pair for n in NAME.findall(text)}
    dash_names = {n for text in dashboard_exprs() for n in NAME.findall(text)}
    assert rule_names and dash_names
    assert rule_names <= served, rule_names - served
    assert dash_names <= served, dash_names - served
    # a panel for each metric
    for spec in core.METRICS.values():
        assert any(n.startswith(spec.name.removesuffix("_total")) for n in dash_names), spec.name


def test_each_alert_points_at_a_row_of_the_readme_troubleshooting_table():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## When the plugin alerts: what to check, what to do", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r'row "([^"]+)"', ALERT_RULES.read_text())
    assert len(rows) == 7
    for row in rows:
        assert f"\n| {row} |" in table, row


def _without_annotations(text: str) -> str:
    """The rules without their annotations: the unit tests below are about when alerts fire."""
    out, skip_deeper = [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip_deeper is not None and (indent > skip_deeper or not line.strip()):
            continue
        skip_deeper = indent if line.strip() == "annotations:" else None
        if skip_deeper is None:
            out.append(line)
    return "\n".join(out) + "\n"


def _values(*parts: str) -> str:
    return " ".join(parts)


def test_alerts_fire_when_they_should(tmp_path):
    promtool = require_binary("promtool")
    rules = tmp_path / "rules.yml"
    rules.write_text(_without_annotations(ALERT_RULES.read_text()))
    common = 'bot="b",exchange="binance"'
    failed = f'robust_plugin_close_attempts_total{{{common},outcome="failed"'
    lag = f'robust_plugin_settlement_lag_seconds_bucket{{{common},pair="BTC/USDT:USDT",outcome="verified_late"'
    fast = 'robust_plugin_settlement_lag_seconds_bucket{bot="fast",exchange="binance",pair="BTC/USDT:USDT",outcome="verified"'
    series = [
        (f'robust_plugin_findings_open{{{common},pair="ETH/USDT:USDT",kind="orphan"}}', "_ _ 1 1 1"),
        (f'robust_plugin_findings_open{{{common},pair="BTC/USDT:USDT",kind="unprotected"}}', "_ _ _ 1 stale"),
        (f'robust_plugin_findings_open{{{common},pair="BTC/USDT:USDT",kind="ghost"}}', "1 1 1 1 1"),
        # a pair whose first failure is within the window: 1, 2, 3 failures from minute 20
        (f'{failed},pair="BTC/USDT:USDT",failure_class="network"}}', _values(*["_"] * 20, "1 2 3 3 3")),
        # a pair failing for long: 5 failures long ago, then one more per minute from minute 21
        (f'{failed},pair="ETH/USDT:USDT",failure_class="rate_limit"}}', _values(*["5"] * 21, "6 7 8 8")),
        # one verification per minute, all between 10 and 15 s; another bot's all below 5 s
        (f'{lag},le="10.0"}}', "0+0x60"),
        (f'{lag},le="15.0"}}', "0+1x60"),
        (f'{lag},le="+Inf"}}', "0+1x60"),
        (f'{fast},le="5.0"}}', "0+1x60"),
        (f'{fast},le="10.0"}}', "0+1x60"),
        (f'{fast},le="+Inf"}}', "0+1x60"),
        # an entry's settlement ended unknown at minute 2; another pair's entries were all verified
        (f'robust_plugin_settlement_outcomes_total{{{common},pair="ETH/USDT:USDT",outcome="unknown"}}', "_ _ 1+0x80"),
        (f'robust_plugin_settlement_outcomes_total{{{common},pair="BTC/USDT:USDT",outcome="verified"}}', "1+1x80"),
        # a full close of SOL escalated to chunks at minute 3, and once more at minute 30
        (
            f'robust_plugin_close_escalations_total{{{common},pair="SOL/USDT:USDT",reason="limits"}}',
            _values(*["_"] * 3, *["1"] * 27, "2+0x60"),
        ),
        # a close of ADA stuck after max_attempts at minute 10
        (
            f'robust_plugin_close_escalations_total{{{common},pair="ADA/USDT:USDT",reason="stuck"}}',
            _values(*["_"] * 10, "1+0x30"),
        ),
    ]

    def alert(name, at, *labels):
        return {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": dict(lab)} for lab in labels]}

    bot = {"bot": "b", "exchange": "binance"}
    cases = [
        alert("RobustPluginOrphanSuspected", "1m"),
        alert("RobustPluginOrphanSuspected", "3m", {**bot, "pair": "ETH/USDT:USDT", "severity": "critical"}),
        alert("RobustPluginUnprotectedPosition", "2m"),
        alert("RobustPluginUnprotectedPosition", "3m", {**bot, "pair": "BTC/USDT:USDT", "severity": "critical"}),
        alert(
            "RobustPluginUnprotectedPosition", "4m"
        ),  # resolved: the exporter removed the series (stale at the next scrape)
        alert("RobustPluginRepeatedCloseFailures", "21m"),
        alert("RobustPluginRepeatedCloseFailures", "22m", {**bot, "pair": "BTC/USDT:USDT", "severity": "warning"}),
        alert(
            "RobustPluginRepeatedCloseFailures",
            "23m",
            {**bot, "pair": "BTC/USDT:USDT", "severity": "warning"},
            {**bot, "pair": "ETH/USDT:USDT", "severity": "warning"},
        ),
        alert("RobustPluginSettlementUnknown", "1m"),
        alert("RobustPluginSettlementUnknown", "3m", {**bot, "pair": "ETH/USDT:USDT", "severity": "critical"}),
        alert("RobustPluginSettlementUnknown", "61m", {**bot, "pair": "ETH/USDT:USDT", "severity": "critical"}),
        alert("RobustPluginSettlementUnknown", "70m"),  # an hour without another unknown verdict
        alert("RobustPluginCloseEscalated", "2m"),
        alert("RobustPluginCloseEscalated", "4m", {**bot, "pair": "SOL/USDT:USDT", "severity": "warning"}),
        alert("RobustPluginCloseEscalated", "80m", {**bot, "pair": "SOL/USDT:USDT", "severity": "warning"}),
        alert("RobustPluginCloseEscalated", "95m"),
        alert("RobustPluginCloseStuck", "4m"),  # chunks are coping: not stuck
        alert("RobustPluginCloseStuck", "12m", {**bot, "pair": "ADA/USDT:USDT", "severity": "critical"}),
        alert("RobustPluginHighVerificationLag", "3m"),  # pending: not yet 5 minutes
        alert("RobustPluginHighVerificationLag", "40m", {**bot, "severity": "warning"}),  # and not the fast bot
    ]
    spec = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "alert_rule_test": cases,
            }
        ],
    }
    test_file = tmp_path / "alert_tests.yml"
    test_file.write_text(json.dumps(spec, indent=1))  # JSON is YAML
    result = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# Every outcome the plugin calls critical, as the event it records (see README, "When the plugin alerts").
CRITICAL_OUTCOMES = [
    (Ev("settlement_unknown", 4, "ETH/USDT:USDT", "critical", {"lag_s": None}), "RobustPluginSettlementUnknown"),
    (Ev("finding_orphan", None, "ETH/USDT:USDT", "critical", {"exchange_amount": 0.05}), "RobustPluginOrphanSuspected"),
    (
        Ev("finding_unprotected", 4, "ETH/USDT:USDT", "critical", {"trade_amount": 0.05, "exchange_amount": 0.05}),
        "RobustPluginUnprotectedPosition",
    ),
    (
        Ev("close_stuck", 4, "ETH/USDT:USDT", "critical", {"failures": 10, "failure_class": "network"}),
        "RobustPluginCloseStuck",
    ),
]


def test_every_critical_outcome_has_a_critical_rule_that_fires_on_what_the_exporter_serves(tmp_path):
    """From the event the plugin records, through the exporter's own series, to a firing critical alert."""
    from robust_plugin.core.reconcile import SEVERITY

    promtool = require_binary("promtool")
    critical_findings = {kind.value for kind, severity in SEVERITY.items() if severity == "critical"}
    covered = {ev.kind.removeprefix("finding_") for ev, _ in CRITICAL_OUTCOMES if ev.kind.startswith("finding_")}
    assert critical_findings == covered
    rules = tmp_path / "rules.yml"
    rules.write_text(_without_annotations(ALERT_RULES.read_text()))
    tests = []
    for event, name in CRITICAL_OUTCOMES:
        exporter = MetricsExporter("b", "binance")
        exporter(event)
        text = generate_latest(exporter.registry).decode()
        series = [
            (sample.name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items())) + "}", sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if not sample.name.endswith("_created")
        ]
        assert series, event
        expected = {"bot": "b", "exchange": "binance", "pair": "ETH/USDT:USDT", "severity": "critical"}
        tests.append(
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": f"_ _ {v:g}+0x10"} for s, v in series],
                "alert_rule_test": [
                    {"eval_time": "1m", "alertname": name, "exp_alerts": []},
                    {"eval_time": "5m", "alertname": name, "exp_alerts": [{"exp_labels": expected}]},
                ],
            }
        )
    test_file = tmp_path / "critical_tests.yml"
    test_file.write_text(json.dumps({"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests}))
    result = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
