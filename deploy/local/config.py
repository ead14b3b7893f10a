"""Locations and ports, all overridable by environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

KAFKA_VERSION = "4.1.1"
NEO4J_VERSION = "5.26.16"
FERRETDB_VERSION = "1.24.2"

STACK_PORT_OFFSETS: dict[str, int] = {"dev": 0, "test": 10_000, "faults": 20_000}
"""Separate sets of servers on one machine: ``dev`` is what ``./civicgrid up`` runs (the ports and state
directory the variables below set), ``test`` is what the test suite runs on, ``faults`` is what the fault
suite stops and kills. Each other stack lives in ``<state>/<stack>`` with every port moved by its offset,
so a test run never writes into (or stops) a developer's running stack."""


MAX_KAFKA_BROKERS = 5


class ConfigError(ValueError):
    """An environment variable holds a value this tool cannot use."""


def recorded_kafka_brokers(state_dir: Path) -> int | None:
    """How many brokers the Kafka under ``state_dir`` was formatted for (None: never formatted)."""
    try:
        stamp = json.loads((state_dir / "kafka" / "formatted.json").read_text())
    except (OSError, ValueError):
        return None
    brokers = stamp.get("brokers", 1) if isinstance(stamp, dict) else 1
    return brokers if isinstance(brokers, int) and 1 <= brokers <= MAX_KAFKA_BROKERS else None


def _brokers(env: Mapping[str, str], state_dir: Path) -> int:
    raw = env.get("CIVICGRID_KAFKA_BROKERS", "").strip()
    if not raw:
        return recorded_kafka_brokers(state_dir) or 1
    try:
        brokers = int(raw)
    except ValueError:
        raise ConfigError(f"CIVICGRID_KAFKA_BROKERS={raw!r} is not a number") from None
    if not 1 <= brokers <= MAX_KAFKA_BROKERS:
        raise ConfigError(f"CIVICGRID_KAFKA_BROKERS={brokers} is outside 1..{MAX_KAFKA_BROKERS}")
    return brokers


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name}={port} is outside 1..65535")
    return port


@dataclass(frozen=True)
class Settings:
    """Where things live and which loopback ports the servers use."""

    cache_dir: Path
    state_dir: Path
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    neo4j_port: int = 7687
    mongo_port: int = 27017
    kafka_brokers: int = 1
    """Kafka nodes: 1, or a KRaft cluster of combined broker+controller nodes; node ``i`` (from 1)
    listens on ``kafka_port + 2(i-1)`` and its controller on ``kafka_controller_port + 2(i-1)``."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        cache = env.get("CIVICGRID_CACHE") or str(Path.home() / ".cache" / "civicgrid")
        state = env.get("CIVICGRID_STATE") or str(REPO_ROOT / ".local")
        settings = cls(
            cache_dir=Path(cache).expanduser().resolve(),
            state_dir=Path(state).expanduser().resolve(),
            kafka_port=_port(env, "CIVICGRID_KAFKA_PORT", 9092),
            kafka_controller_port=_port(env, "CIVICGRID_KAFKA_CONTROLLER_PORT", 9093),
            neo4j_port=_port(env, "CIVICGRID_NEO4J_PORT", 7687),
            mongo_port=_port(env, "CIVICGRID_MONGO_PORT", 27017),
            kafka_brokers=_brokers(env, Path(state).expanduser().resolve()),
        )
        if settings.kafka_port == settings.kafka_controller_port:
            raise ConfigError(
                "CIVICGRID_KAFKA_PORT and CIVICGRID_KAFKA_CONTROLLER_PORT must differ "
                f"(both are {settings.kafka_port})"
            )
        settings.check_kafka_ports()
        return settings

    def with_kafka_brokers(self, brokers: int | None) -> Settings:
        """These settings with another Kafka cluster size (None: unchanged)."""
        if brokers is None or brokers == self.kafka_brokers:
            return self
        if not 1 <= brokers <= MAX_KAFKA_BROKERS:
            raise ConfigError(f"--kafka-brokers {brokers} is outside 1..{MAX_KAFKA_BROKERS}")
        moved = replace(self, kafka_brokers=brokers)
        moved.check_kafka_ports()
        return moved

    def kafka_node_ports(self, node: int) -> tuple[int, int]:
        """(client, controller) ports of Kafka node ``node`` (1-based)."""
        step = 2 * (node - 1)
        return self.kafka_port + step, self.kafka_controller_port + step

    def check_kafka_ports(self) -> None:
        ports = [p for node in range(1, self.kafka_brokers + 1) for p in self.kafka_node_ports(node)]
        others = {self.neo4j_port, self.mongo_port}
        if len(set(ports)) != len(ports) or others & set(ports) or max(ports) > 65535:
            raise ConfigError(
                f"{self.kafka_brokers} Kafka nodes need ports {sorted(ports)} (each node 2 above the last), "
                "all distinct, below 65536 and apart from Neo4j's and FerretDB's: choose other "
                "CIVICGRID_KAFKA_PORT / CIVICGRID_KAFKA_CONTROLLER_PORT values"
            )

    @property
    def kafka_bootstrap(self) -> str:
        """Every Kafka node's client address, comma-separated."""
        nodes = range(1, self.kafka_brokers + 1)
        return ",".join(f"{HOST}:{self.kafka_node_ports(n)[0]}" for n in nodes)

    def for_stack(self, stack: str) -> Settings:
        """The settings of another stack beside this one (see :data:`STACK_PORT_OFFSETS`)."""
        if stack not in STACK_PORT_OFFSETS:
            raise ConfigError(f"unknown stack {stack!r}; choose from {', '.join(STACK_PORT_OFFSETS)}")
        offset = STACK_PORT_OFFSETS[stack]
        if offset == 0:
            return self
        moved = Settings(
            cache_dir=self.cache_dir,
            state_dir=self.state_dir / stack,
            kafka_port=self.kafka_port + offset,
            kafka_controller_port=self.kafka_controller_port + offset,
            neo4j_port=self.neo4j_port + offset,
            mongo_port=self.mongo_port + offset,
            kafka_brokers=recorded_kafka_brokers(self.state_dir / stack) or 1,
        )
        ports = (moved.kafka_port, moved.kafka_controller_port, moved.neo4j_port, moved.mongo_port)
        if max(ports) > 65535:
            raise ConfigError(
                f"the {stack} stack's ports are the development ports + {offset}, and {max(ports)} is past "
                "65535: choose lower CIVICGRID_*_PORT values"
            )
        return moved

    def connection_env(self) -> dict[str, str]:
        """The variables that tests and services read to find the servers."""
        return {
            "CIVICGRID_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "CIVICGRID_NEO4J_URI": f"bolt://{HOST}:{self.neo4j_port}",
            "CIVICGRID_MONGO_URI": f"mongodb://{HOST}:{self.mongo_port}",
        }
