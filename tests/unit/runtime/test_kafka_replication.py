"""A Kafka cluster of three: topics replicated three times with min.insync.replicas 2, one node's ports
two above the last, every node in the static controller quorum; one broker stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicgrid_runtime.kafka.topics import replication_for
from deploy.local.config import ConfigError, Settings
from deploy.local.kafka import KafkaServer, render_server_properties
from deploy.local.servers import make_servers


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_topics_get_three_replicas_and_min_isr_two_from_three_brokers_on() -> None:
    assert replication_for(1) == (1, {})
    assert replication_for(2) == (2, {})
    assert replication_for(3) == (3, {"min.insync.replicas": "2"})
    assert replication_for(5) == (3, {"min.insync.replicas": "2"})


def test_a_three_node_cluster_has_its_own_ports_and_one_bootstrap_list(tmp_path: Path) -> None:
    settings = Settings.from_env({"CIVICGRID_STATE": str(tmp_path), "CIVICGRID_KAFKA_BROKERS": "3"})
    nodes = [s for s in make_servers(["kafka"], settings) if isinstance(s, KafkaServer)]
    assert [n.name for n in nodes] == ["kafka", "kafka-2", "kafka-3"]
    assert [(n.port, n.controller_port) for n in nodes] == [(9092, 9093), (9094, 9095), (9096, 9097)]
    assert settings.connection_env()["CIVICGRID_KAFKA_BOOTSTRAP"] == (
        "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    )
    assert {n.cache_root for n in nodes} == {settings.cache_dir / "kafka" / "4.1.1"}


def test_each_node_of_a_cluster_votes_in_a_static_quorum_and_replicates_internal_topics() -> None:
    rendered = props(
        render_server_properties(9094, 9095, Path("/data"), node_id=2, voters={1: 9093, 2: 9095, 3: 9097})
    )
    assert rendered["node.id"] == "2"
    assert rendered["controller.quorum.voters"] == "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    assert "controller.quorum.bootstrap.servers" not in rendered
    assert rendered["default.replication.factor"] == "3"
    assert rendered["min.insync.replicas"] == "2"
    assert rendered["offsets.topic.replication.factor"] == "3"
    assert rendered["transaction.state.log.min.isr"] == "2"


def test_a_single_broker_keeps_its_standalone_quorum_and_replication_of_one() -> None:
    rendered = props(render_server_properties(9092, 9093, Path("/data")))
    assert rendered["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert rendered["offsets.topic.replication.factor"] == "1"
    assert rendered["min.insync.replicas"] == "1"


def test_a_cluster_whose_ports_would_collide_with_neo4j_is_refused(tmp_path: Path) -> None:
    env = {"CIVICGRID_STATE": str(tmp_path), "CIVICGRID_KAFKA_BROKERS": "3", "CIVICGRID_NEO4J_PORT": "9096"}
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_a_stack_remembers_the_cluster_size_its_kafka_was_formatted_for(tmp_path: Path) -> None:
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "formatted.json").write_text(
        '{"cluster_id": "x", "controller_port": 9093, "brokers": 3}'
    )
    assert Settings.from_env({"CIVICGRID_STATE": str(tmp_path)}).kafka_brokers == 3
    assert (
        Settings.from_env({"CIVICGRID_STATE": str(tmp_path), "CIVICGRID_KAFKA_BROKERS": "1"}).kafka_brokers
        == 1
    )
