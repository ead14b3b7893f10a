"""The CivicGrid services as local background processes (uvicorn), managed like the servers."""

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

    def port(self) -> int:
        variable = f"CIVICGRID_{self.env_prefix}PORT"
        return int(os.environ.get(variable, self.default_port))

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port()}"


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


def keys_dir(settings: Settings) -> Path:
    return settings.state_dir / "keys"


def service_env(spec: ServiceSpec, servers: dict[str, str], settings: Settings) -> dict[str, str]:
    p = spec.env_prefix
    return {
        **os.environ,
        f"{p}KAFKA_BOOTSTRAP_SERVERS": servers["CIVICGRID_KAFKA_BOOTSTRAP"],
        f"{p}{spec.store_setting}": servers[spec.store_variable],
        f"{p}KEYS_DIR": str(keys_dir(settings)),
        f"{p}LOG_JSON": "true",
        "PYTHONUNBUFFERED": "1",
    }


def _paths(spec: ServiceSpec, settings: Settings) -> tuple[Path, Path]:
    return settings.state_dir / "run" / f"{spec.name}.pid", settings.state_dir / "logs" / f"{spec.name}.log"


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def start(spec: ServiceSpec, servers: dict[str, str], settings: Settings, timeout: float = 90) -> str:
    pid_path, log_path = _paths(spec, settings)
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
            str(spec.port()),
            "--no-access-log",
        ]
        processes.start_process(
            spec.name,
            argv,
            env=service_env(spec, servers, settings),
            cwd=settings.state_dir,
            log_path=log_path,
            pid_path=pid_path,
        )
    processes.wait_healthy(
        lambda: http_ok(spec.url() + "/readyz"), timeout, pid_path=pid_path, log_path=log_path, name=spec.name
    )
    return spec.url()


def stop(spec: ServiceSpec, settings: Settings) -> bool:
    pid_path, _ = _paths(spec, settings)
    return processes.stop_process(pid_path)


def is_running(spec: ServiceSpec, settings: Settings) -> bool:
    pid_path, _ = _paths(spec, settings)
    return processes.is_running(pid_path)


def log_path(spec: ServiceSpec, settings: Settings) -> Path:
    return _paths(spec, settings)[1]
