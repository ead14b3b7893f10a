"""``./civicgrid up --replicas N``: each replica of a service has its own port, pid and log files and
instance id (its lease owner), and shares the service's consumer group."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.config import Settings
from deploy.stack import services

RESOURCES = next(s for s in services.SERVICES if s.name == "resources")
SERVERS = {
    "CIVICGRID_KAFKA_BOOTSTRAP": "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096",
    "CIVICGRID_MONGO_URI": "mongodb://127.0.0.1:27017",
    "CIVICGRID_NEO4J_URI": "bolt://127.0.0.1:7687",
}


def test_each_replica_listens_on_the_service_port_plus_a_hundred_per_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for spec in services.SERVICES:
        monkeypatch.delenv(f"CIVICGRID_{spec.env_prefix}PORT", raising=False)
    assert [RESOURCES.url(r) for r in (1, 2, 3)] == [
        "http://127.0.0.1:8002",
        "http://127.0.0.1:8102",
        "http://127.0.0.1:8202",
    ]
    ports = {spec.port(r) for spec in services.SERVICES for r in range(1, services.MAX_REPLICAS + 1)}
    assert len(ports) == len(services.SERVICES) * services.MAX_REPLICAS


def test_each_replica_has_its_own_files_and_instance_id_and_the_service_s_consumer_group(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"CIVICGRID_STATE": str(tmp_path)})
    assert services.log_path(RESOURCES, settings, 1).name == "resources.log"
    assert services.log_path(RESOURCES, settings, 2).name == "resources-2.log"
    first = services.service_env(RESOURCES, SERVERS, settings, 1)
    second = services.service_env(RESOURCES, SERVERS, settings, 2)
    assert (first["RESOURCES_INSTANCE_ID"], second["RESOURCES_INSTANCE_ID"]) == ("resources-1", "resources-2")
    assert first.get("RESOURCES_CONSUMER_GROUP") == second.get("RESOURCES_CONSUMER_GROUP")
    assert second["RESOURCES_KAFKA_BOOTSTRAP_SERVERS"] == SERVERS["CIVICGRID_KAFKA_BOOTSTRAP"]


def test_no_replica_runs_in_an_empty_state_directory(tmp_path: Path) -> None:
    settings = Settings.from_env({"CIVICGRID_STATE": str(tmp_path)})
    assert services.running_replicas(RESOURCES, settings) == []
