"""The CivicGrid services as local background processes (uvicorn), managed like the servers.

A service may run as several replicas (``./civicgrid up --replicas N``): replica ``r`` (from 1) listens on
the service's port + 100(r-1), has its own pid and log file (``<name>-<r>`` from the second on) and its
own ``<PREFIX>INSTANCE_ID`` (``<name>-<r>``, its lease owner); all replicas of a service share its
consumer group and store, and its periodic jobs run in the one holding each job's lease."""

from __future__ import annotations

import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deploy.local import processes
from deploy.local.config import Settings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    env_prefix: str
    default_port: int
    store_variable: str
    store_setting: str

    def port(self, replica: int = 1) -> int:
        variable = f"CIVICGRID_{self.env_prefix}PORT"
        return int(os.environ.get(variable, self.default_port)) + REPLICA_PORT_STEP * (replica - 1)

    def url(self, replica: int = 1) -> str:
        return f"http://127.0.0.1:{self.port(replica)}"

    def instance(self, replica: int = 1) -> str:
        """The replica's name: its pid and log files' (``org-graph``, ``org-graph-2``...)."""
        return self.name if replica == 1 else f"{self.name}-{replica}"


SERVICES = (
    ServiceSpec("org-graph", "civicgrid_orggraph", "ORGGRAPH_", 8001, "CIVICGRID_NEO4J_URI", "NEO4J_URI"),
    ServiceSpec("resources", "civicgrid_resources", "RESOURCES_", 8002, "CIVICGRID_MONGO_URI", "MONGO_URI"),
    ServiceSpec(
        "notifications", "civicgrid_notifications", "NOTIFICATIONS_", 8003, "CIVICGRID_MONGO_URI", "MONGO_URI"
    ),
    ServiceSpec(
        "deliberation", "civicgrid_deliberation", "DELIBERATION_", 8004, "CIVICGRID_MONGO_URI", "MONGO_URI"
    ),
)


REPLICA_PORT_STEP = 100
MAX_REPLICAS = 9


def keys_dir(settings: Settings) -> Path:
    return settings.state_dir / "keys"


def service_env(
    spec: ServiceSpec, servers: dict[str, str], settings: Settings, replica: int = 1
) -> dict[str, str]:
    p = spec.env_prefix
    return {
        f"{p}INSTANCE_ID": f"{spec.name}-{replica}",
        **os.environ,
        f"{p}KAFKA_BOOTSTRAP_SERVERS": servers["CIVICGRID_KAFKA_BOOTSTRAP"],
        f"{p}{spec.store_setting}": servers[spec.store_variable],
        f"{p}KEYS_DIR": str(keys_dir(settings)),
        f"{p}LOG_JSON": "true",
        "PYTHONUNBUFFERED": "1",
    }


def _paths(spec: ServiceSpec, settings: Settings, replica: int = 1) -> tuple[Path, Path]:
    name = spec.instance(replica)
    return settings.state_dir / "run" / f"{name}.pid", settings.state_dir / "logs" / f"{name}.log"


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def start(
    spec: ServiceSpec, servers: dict[str, str], settings: Settings, timeout: float = 90, replica: int = 1
) -> str:
    pid_path, log_path = _paths(spec, settings, replica)
    if processes.read_pid(pid_path) is None:
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{spec.module}.bootstrap:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(spec.port(replica)),
            "--no-access-log",
        ]
        processes.start_process(
            spec.instance(replica),
            argv,
            env=service_env(spec, servers, settings, replica),
            cwd=settings.state_dir,
            log_path=log_path,
            pid_path=pid_path,
        )
    url = spec.url(replica)
    processes.wait_healthy(
        lambda: http_ok(url + "/readyz"),
        timeout,
        pid_path=pid_path,
        log_path=log_path,
        name=spec.instance(replica),
    )
    return url


def stop(spec: ServiceSpec, settings: Settings, replica: int = 1) -> bool:
    pid_path, _ = _paths(spec, settings, replica)
    return processes.stop_process(pid_path)


def is_running(spec: ServiceSpec, settings: Settings, replica: int = 1) -> bool:
    pid_path, _ = _paths(spec, settings, replica)
    return processes.is_running(pid_path)


def log_path(spec: ServiceSpec, settings: Settings, replica: int = 1) -> Path:
    return _paths(spec, settings, replica)[1]


def running_replicas(spec: ServiceSpec, settings: Settings) -> list[int]:
    """The replicas of ``spec`` that run now (1 is the first)."""
    return [r for r in range(1, MAX_REPLICAS + 1) if is_running(spec, settings, r)]
