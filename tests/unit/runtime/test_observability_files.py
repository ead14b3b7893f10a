"""deploy/observability: the alert rules, scrape configuration and dashboard are well formed and name
only metrics the services export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from civicgrid_notifications.bootstrap import create_app as notifications_app
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_orggraph.bootstrap import create_app as orggraph_app
from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_resources.bootstrap import create_app as resources_app
from civicgrid_resources.settings import ResourcesSettings

ROOT = Path(__file__).resolve().parents[3] / "deploy" / "observability"
METRIC = re.compile(r"\bcivicgrid_[a-z0-9_]+\b")
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")


def _rules() -> list[dict[str, object]]:
    document = yaml.safe_load((ROOT / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "grafana" / "civicgrid-overview.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every sample name the three services' registries expose (before any traffic)."""
    keys = tmp_path_factory.mktemp("keys")
    common = {"keys_dir": keys, "environment": "test", "run_background_workers": False}
    apps = [
        orggraph_app(OrgGraphSettings(**common)),  # type: ignore[arg-type]
        resources_app(ResourcesSettings(**common)),  # type: ignore[arg-type]
        notifications_app(NotificationsSettings(**common)),  # type: ignore[arg-type]
    ]
    names: set[str] = set()
    for app in apps:
        for family in app.state.service.metrics.registry.collect():
            names.add(family.name)
            names.update(f"{family.name}{suffix}" for suffix in ("_total", *HISTOGRAM_SERIES))
    return names


def test_every_alert_rule_has_a_name_an_expression_a_duration_a_severity_and_a_summary() -> None:
    rules = _rules()
    assert len(rules) >= 5
    for rule in rules:
        assert str(rule.get("alert") or "").startswith("CivicGrid"), rule
        assert str(rule.get("expr") or "").strip(), rule
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for"))), rule
        labels = rule.get("labels")
        assert isinstance(labels, dict), rule
        assert labels.get("severity") in {"warning", "critical"}, rule
        annotations = rule.get("annotations")
        assert isinstance(annotations, dict), rule
        assert annotations.get("summary"), rule
    assert len({rule["alert"] for rule in rules}) == len(rules), "two rules share a name"


def test_the_rules_cover_lag_dead_letters_outbox_age_and_overdue_requests() -> None:
    exprs = " ".join(str(rule["expr"]) for rule in _rules())
    for metric in (
        "civicgrid_consumer_lag",
        "civicgrid_dead_letters_total",
        "civicgrid_outbox_oldest_age_seconds",
        "civicgrid_requests_overdue",
    ):
        assert metric in exprs, f"no alert on {metric}"


def test_every_expression_has_balanced_brackets_and_quotes() -> None:
    for expr in [str(rule["expr"]) for rule in _rules()] + _dashboard_exprs():
        for opening, closing in ("()", "[]", "{}"):
            assert expr.count(opening) == expr.count(closing), expr
        assert expr.count('"') % 2 == 0, expr


def test_rules_and_dashboard_name_only_metrics_the_services_export(exported: set[str]) -> None:
    used = {
        name
        for expr in [str(r["expr"]) for r in _rules()] + _dashboard_exprs()
        for name in METRIC.findall(expr)
    }
    assert used, "no metric named"
    assert used <= exported, f"not exported by any service: {sorted(used - exported)}"


def test_prometheus_scrapes_each_service_at_metrics_and_loads_the_rules() -> None:
    config = yaml.safe_load((ROOT / "prometheus.yml").read_text())
    for rule_file in config["rule_files"]:
        assert (ROOT / rule_file).is_file(), rule_file
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    services = {static["labels"]["service"] for job in jobs.values() for static in job["static_configs"]}
    assert services == {"org-graph", "resources", "notifications", "deliberation"}
    assert all(job["metrics_path"] == "/metrics" for job in jobs.values())
