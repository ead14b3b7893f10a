"""docker-compose.yml's observability (issue 12 items 3-4): the Collector, Jaeger, Prometheus and Grafana
are wired to each other and to files that exist, and every service sends its traces to the Collector.
Parsed only: no Docker engine is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
OBSERVABILITY = {"otel-collector", "jaeger", "prometheus", "grafana"}
TRACED = {
    "org-graph": "ORGGRAPH_",
    "resources": "RESOURCES_",
    "notifications": "NOTIFICATIONS_",
    "deliberation": "DELIBERATION_",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _config_file(compose: dict[str, Any], service: str, target: str) -> Path:
    """The repository file mounted at ``target`` in ``service`` (through a top-level config)."""
    for mount in compose["services"][service].get("configs", []):
        if mount["target"] == target:
            return REPO / str(compose["configs"][mount["source"]]["file"])
    raise AssertionError(f"{service} mounts nothing at {target}")


def _published(compose: dict[str, Any], service: str) -> set[int]:
    return {int(str(p).rsplit(":", 1)[1]) for p in compose["services"][service].get("ports", [])}


def test_compose_runs_a_collector_jaeger_prometheus_and_grafana_from_pinned_images(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) >= OBSERVABILITY
    for name in OBSERVABILITY:
        image = services[name]["image"]
        assert ":" in image, f"{name}: {image} is pinned"
        assert not image.endswith(":latest"), f"{name}: {image} is pinned"


def test_every_config_and_bind_mount_names_a_file_of_the_repository(compose: dict[str, Any]) -> None:
    for name, config in compose["configs"].items():
        path = REPO / config["file"]
        assert path.is_file(), f"config {name}: {path} is missing"
    for name, service in compose["services"].items():
        for mount in service.get("configs", []):
            assert mount["source"] in compose["configs"], f"{name} mounts undeclared config {mount}"
            assert str(mount["target"]).startswith("/"), f"{name}: {mount}"
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} mounts undeclared volume {source}"


def test_every_service_exports_its_traces_to_the_collectors_otlp_http_port(compose: dict[str, Any]) -> None:
    collector = yaml.safe_load(
        _config_file(compose, "otel-collector", "/etc/otelcol-contrib/config.yaml").read_text()
    )
    http_port = int(collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[1])
    for name, prefix in TRACED.items():
        endpoint = compose["services"][name]["environment"][f"{prefix}OTLP_ENDPOINT"]
        address = urlsplit(endpoint)
        assert (address.scheme, address.hostname, address.port) == ("http", "otel-collector", http_port)
        assert compose["services"][name]["depends_on"]["otel-collector"]["condition"] == "service_started"
    assert http_port in _published(compose, "otel-collector"), "services run on the host reach it too"


def test_the_collector_forwards_every_trace_it_receives_to_jaeger_over_otlp(compose: dict[str, Any]) -> None:
    collector = yaml.safe_load(
        _config_file(compose, "otel-collector", "/etc/otelcol-contrib/config.yaml").read_text()
    )
    pipeline = collector["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert set(pipeline["processors"]) <= set(collector["processors"])
    assert pipeline["processors"][0] == "memory_limiter", "refuses data before it runs out of memory"
    (exporter,) = pipeline["exporters"]
    assert urlsplit("//" + collector["exporters"][exporter]["endpoint"]).hostname == "jaeger"
    assert compose["services"]["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert 16686 in _published(compose, "jaeger"), "the trace viewer's UI"


def test_prometheus_in_compose_loads_the_alert_rules_and_scrapes_the_services_by_their_compose_names(
    compose: dict[str, Any],
) -> None:
    config_path = _config_file(compose, "prometheus", "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load(config_path.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    rules = _config_file(compose, "prometheus", "/etc/prometheus/alerts.yml")
    assert rules == REPO / "deploy" / "observability" / "alerts.yml"
    targets = {
        t for job in config["scrape_configs"] for group in job["static_configs"] for t in group["targets"]
    }
    for name in TRACED:
        ports = _published(compose, name)
        assert any(t.split(":")[0] == name and int(t.split(":")[1]) in ports for t in targets), name


def test_grafana_provisions_prometheus_and_jaeger_and_loads_the_overview_dashboard(
    compose: dict[str, Any],
) -> None:
    datasources = yaml.safe_load(
        _config_file(compose, "grafana", "/etc/grafana/provisioning/datasources/civicgrid.yaml").read_text()
    )["datasources"]
    by_type = {d["type"]: urlsplit(d["url"]) for d in datasources}
    assert (by_type["prometheus"].hostname, by_type["prometheus"].port) == ("prometheus", 9090)
    assert (by_type["jaeger"].hostname, by_type["jaeger"].port) == ("jaeger", 16686)
    assert {"prometheus", "jaeger"} <= set(compose["services"])
    providers = yaml.safe_load(
        _config_file(compose, "grafana", "/etc/grafana/provisioning/dashboards/civicgrid.yaml").read_text()
    )["providers"]
    (folder,) = {p["options"]["path"] for p in providers}
    dashboard = _config_file(compose, "grafana", f"{folder}/civicgrid-overview.json")
    assert dashboard == REPO / "deploy" / "observability" / "grafana" / "civicgrid-overview.json"
    assert json.loads(dashboard.read_text())["panels"]


def test_the_observability_services_have_healthchecks_and_loopback_ports(compose: dict[str, Any]) -> None:
    for name in OBSERVABILITY:
        service = compose["services"][name]
        assert service["healthcheck"]["test"], name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
