"""Locations and ports, all overridable by environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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


class ConfigError(ValueError):
    """An environment variable holds a value this tool cannot use."""


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
        )
        if settings.kafka_port == settings.kafka_controller_port:
            raise ConfigError(
                "CIVICGRID_KAFKA_PORT and CIVICGRID_KAFKA_CONTROLLER_PORT must differ "
                f"(both are {settings.kafka_port})"
            )
        return settings

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
            "CIVICGRID_KAFKA_BOOTSTRAP": f"{HOST}:{self.kafka_port}",
            "CIVICGRID_NEO4J_URI": f"bolt://{HOST}:{self.neo4j_port}",
            "CIVICGRID_MONGO_URI": f"mongodb://{HOST}:{self.mongo_port}",
        }
