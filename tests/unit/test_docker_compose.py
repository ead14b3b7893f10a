"""docker-compose.yml is valid against the Compose Specification's JSON Schema (vendored from the
compose-spec project, Apache-2.0: deploy/docker/compose-spec.json; no Docker engine here to run
``docker compose config``) and consistent: every server and service, healthchecks, dependencies,
Dockerfiles."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SERVERS = {"kafka", "neo4j", "mongodb"}
APPS = {
    "org-graph": ("civicgrid_orggraph", 8001, {"ORGGRAPH_KAFKA_BOOTSTRAP_SERVERS", "ORGGRAPH_NEO4J_URI"}),
    "resources": ("civicgrid_resources", 8002, {"RESOURCES_KAFKA_BOOTSTRAP_SERVERS", "RESOURCES_MONGO_URI"}),
    "notifications": (
        "civicgrid_notifications",
        8003,
        {"NOTIFICATIONS_KAFKA_BOOTSTRAP_SERVERS", "NOTIFICATIONS_MONGO_URI"},
    ),
    "deliberation": (
        "civicgrid_deliberation",
        8004,
        {"DELIBERATION_KAFKA_BOOTSTRAP_SERVERS", "DELIBERATION_MONGO_URI"},
    ),
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((REPO / "deploy" / "docker" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    assert _schema_errors(compose) == []


def test_the_compose_schema_catches_a_misspelt_key_and_a_wrong_type(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["org-graph"]["helthcheck"] = broken["services"]["org-graph"].pop("healthcheck", {})
    broken["services"]["resources"]["restart"] = 5
    errors = _schema_errors(broken)
    assert any(e.startswith("services/org-graph") and "helthcheck" in e for e in errors), errors
    assert any(e.startswith("services/resources/restart") for e in errors), errors


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, str]]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    assert isinstance(deps, dict)
    return deps


def one_shots(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services that others wait on to *finish*: they run once and need no healthcheck."""
    return {
        name
        for service in services.values()
        for name, spec in depends_on(service).items()
        if spec.get("condition") == "service_completed_successfully"
    }


def test_compose_names_every_server_and_every_service(services: dict[str, dict[str, Any]]) -> None:
    assert SERVERS | set(APPS) <= set(services)


def test_the_servers_are_the_real_images(services: dict[str, dict[str, Any]]) -> None:
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert services["neo4j"]["image"] == "neo4j:5.26-community"
    assert services["mongodb"]["image"].startswith("mongo:7")


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name in one_shots(services):
            assert service.get("restart") == "no", f"{name} runs once, so it must not restart"
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"


def test_every_depends_on_target_exists_with_a_known_condition(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, spec in depends_on(service).items():
            assert target in services, f"{name} depends on missing service {target}"
            assert spec.get("condition") in CONDITIONS, f"{name} -> {target}: {spec}"


def test_services_wait_for_healthy_servers(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "org-graph": {"kafka", "neo4j"},
        "resources": {"kafka", "mongodb"},
        "notifications": {"kafka", "mongodb"},
        "deliberation": {"kafka", "mongodb"},
    }
    for name, servers in expected.items():
        deps = depends_on(services[name])
        for server in servers:
            assert deps[server]["condition"] == "service_healthy", f"{name} -> {server}"


def test_every_referenced_dockerfile_exists(services: dict[str, dict[str, Any]]) -> None:
    built = 0
    for name, service in services.items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = REPO / build.get("context", ".")
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
        service_dir = build.get("args", {}).get("SERVICE")
        if service_dir is not None:
            assert (REPO / "services" / service_dir / "pyproject.toml").is_file(), (
                f"{name}: SERVICE={service_dir}"
            )
        built += 1
    assert built >= len(APPS)


def test_each_service_runs_its_uvicorn_factory_on_its_port(services: dict[str, dict[str, Any]]) -> None:
    for name, (package, port, _env) in APPS.items():
        command = services[name]["command"]
        assert command == [
            "uvicorn",
            f"{package}.bootstrap:create_app",
            "--factory",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
        ]
        assert "/healthz" in " ".join(services[name]["healthcheck"]["test"])
        assert f":{port}/" in " ".join(services[name]["healthcheck"]["test"])


def test_each_service_gets_its_server_addresses_and_the_shared_keys(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, (_package, _port, env_names) in APPS.items():
        environment = services[name]["environment"]
        assert env_names <= set(environment), f"{name} lacks {env_names - set(environment)}"
        assert environment["CIVICGRID_KEYS_DIR"] == "/keys"
        assert "keys:/keys" in services[name]["volumes"]


def test_data_lives_in_named_volumes(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in declared, f"{name} mounts undeclared volume {source}"
    assert {"kafka-data", "neo4j-data", "mongo-data", "keys"} <= declared


def test_published_ports_listen_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_mongodb_runs_as_a_replica_set_that_its_healthcheck_initiates(
    services: dict[str, dict[str, Any]],
) -> None:
    mongodb = services["mongodb"]
    assert "--replSet" in mongodb["command"]
    check = " ".join(mongodb["healthcheck"]["test"])
    assert "rs.initiate" in check
    assert "isWritablePrimary" in check
