"""Monitoring files shipped with the package: Prometheus alert rules and a Grafana dashboard."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
ALERT_RULES = HERE / "alert_rules.yml"
GRAFANA_DASHBOARD = HERE / "grafana_dashboard.json"
