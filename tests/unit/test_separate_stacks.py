"""The test suite and the fault suite run on servers of their own, never on the developer's stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.local import cli
from deploy.local import servers as local_servers
from deploy.local.config import ConfigError, Settings
from deploy.stack import guard
from tests.support import servers as discovery

DEV_PORTS = {
    "CIVICGRID_KAFKA_PORT": "9092",
    "CIVICGRID_KAFKA_CONTROLLER_PORT": "9093",
    "CIVICGRID_NEO4J_PORT": "7687",
    "CIVICGRID_MONGO_PORT": "27017",
}


def test_the_test_stack_lives_beside_the_development_one_on_ports_ten_thousand_higher(tmp_path: Path) -> None:
    dev = Settings.from_env({"CIVICGRID_STATE": str(tmp_path), **DEV_PORTS})
    test = dev.for_stack("test")
    assert test.state_dir == tmp_path / "test"
    assert test.connection_env() == {
        "CIVICGRID_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
        "CIVICGRID_NEO4J_URI": "bolt://127.0.0.1:17687",
        "CIVICGRID_MONGO_URI": "mongodb://127.0.0.1:37017",
    }
    assert test.kafka_controller_port == 19093
    assert test.cache_dir == dev.cache_dir  # downloads and builds are shared


def test_the_fault_stack_is_a_third_one_that_shares_nothing_with_the_other_two(tmp_path: Path) -> None:
    dev = Settings.from_env({"CIVICGRID_STATE": str(tmp_path), **DEV_PORTS})
    stacks = [dev, dev.for_stack("test"), dev.for_stack("faults")]
    ports = [p for s in stacks for p in (s.kafka_port, s.kafka_controller_port, s.neo4j_port, s.mongo_port)]
    assert len(set(ports)) == len(ports)
    assert len({s.state_dir for s in stacks}) == 3
    assert dev.for_stack("dev") == dev


def test_ports_moved_past_the_last_port_are_refused_naming_the_variables(tmp_path: Path) -> None:
    dev = Settings.from_env({"CIVICGRID_STATE": str(tmp_path), "CIVICGRID_MONGO_PORT": "60000"})
    with pytest.raises(ConfigError, match="CIVICGRID_"):
        dev.for_stack("faults")


def test_an_unknown_stack_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown stack"):
        Settings.from_env({}).for_stack("staging")


def test_the_server_cli_prints_the_test_stacks_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CIVICGRID_STATE", str(tmp_path))
    for variable, port in DEV_PORTS.items():
        monkeypatch.setenv(variable, port)
    assert cli.main(["env", "--stack", "test"]) == 0
    assert "export CIVICGRID_KAFKA_BOOTSTRAP=127.0.0.1:19092" in capsys.readouterr().out


def test_tests_without_server_variables_start_the_test_stack_not_the_development_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICGRID_STATE", str(tmp_path))
    for variable, port in DEV_PORTS.items():
        monkeypatch.setenv(variable, port)
    asked: list[Settings] = []

    def ensure_up(names: list[str], *, settings: Settings, **_: Any) -> dict[str, str]:
        asked.append(settings)
        return settings.connection_env()

    monkeypatch.setattr(local_servers, "ensure_up", ensure_up)
    found = discovery._from_local(["kafka", "neo4j", "ferretdb"])
    assert asked[0].state_dir == tmp_path / "test"
    assert found["CIVICGRID_NEO4J_URI"] == "bolt://127.0.0.1:17687"


def test_a_changed_value_an_appeared_key_and_a_vanished_key_are_each_one_line() -> None:
    before = {"feed of demo member": "3 entries (abc)", "kafka a end offset": 5, "gone": 1}
    after = {"feed of demo member": "4 entries (def)", "kafka a end offset": 5, "new": 2}
    assert guard.differences(before, after) == [
        "feed of demo member: 3 entries (abc) -> 4 entries (def)",
        "gone: 1 -> (absent)",
        "new: (absent) -> 2",
    ]
    assert guard.differences(before, dict(before)) == []
