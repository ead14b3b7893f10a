"""Bringing the local servers up and down: the API behind the CLI and the test fixtures.

Usage::

    from deploy.local.servers import ensure_up

    env = ensure_up(["kafka", "ferretdb"])  # {"CIVICGRID_KAFKA_BOOTSTRAP": "127.0.0.1:9092", ...}

:func:`ensure_up` is idempotent and safe to call from several processes at once (a lock
file in the state directory serialises them).
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from deploy.local import processes, toolchain
from deploy.local.base import LocalServer, Report, no_report
from deploy.local.cache import file_lock
from deploy.local.config import HOST, Settings
from deploy.local.ferret import FerretDBServer
from deploy.local.kafka import KafkaServer
from deploy.local.neo4j import Neo4jServer
from deploy.local.probes import port_open

SERVER_TYPES: dict[str, type[LocalServer]] = {
    "kafka": KafkaServer,
    "neo4j": Neo4jServer,
    "ferretdb": FerretDBServer,
}
NAMES: tuple[str, ...] = tuple(SERVER_TYPES)
# Slowest to become ready first, so that the waits overlap.
START_ORDER: tuple[str, ...] = ("neo4j", "kafka", "ferretdb")


class StartupError(RuntimeError):
    """A server could not be started or did not become healthy."""


def report_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def select(names: Iterable[str] | None) -> list[str]:
    """Validated server names in canonical order; all of them for None or empty."""
    chosen = list(dict.fromkeys(names or ()))
    unknown = [n for n in chosen if n not in SERVER_TYPES]
    if unknown:
        raise ValueError(f"unknown server {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    return [n for n in NAMES if n in chosen] if chosen else list(NAMES)


def make_servers(names: Iterable[str] | None, settings: Settings) -> list[LocalServer]:
    """The servers named (``kafka``: every node of the Kafka cluster, see ``Settings.kafka_brokers``)."""
    result: list[LocalServer] = []
    for name in select(names):
        if name == "kafka":
            result += [KafkaServer.node(n)(settings) for n in range(1, settings.kafka_brokers + 1)]
        else:
            result.append(SERVER_TYPES[name](settings))
    return result


def connection_env(names: Iterable[str] | None = None, settings: Settings | None = None) -> dict[str, str]:
    settings = settings or Settings.from_env()
    env: dict[str, str] = {}
    for server in make_servers(names, settings):
        env.update(server.connection_env())
    return env


def _safe_healthy(server: LocalServer) -> bool:
    try:
        return server.healthy()
    except Exception:
        return False


@dataclass(frozen=True)
class ServerStatus:
    name: str
    version: str
    address: str
    pid: int | None
    healthy: bool
    port_taken: bool  # something that this tool did not start listens on the port
    log_path: Path

    @property
    def state(self) -> str:
        if self.pid is not None:
            return "healthy" if self.healthy else "running, not healthy"
        return "port taken by another process" if self.port_taken else "stopped"


def status(names: Iterable[str] | None = None, settings: Settings | None = None) -> list[ServerStatus]:
    settings = settings or Settings.from_env()
    result = []
    for server in make_servers(names, settings):
        pid = processes.read_pid(server.pid_path)
        result.append(
            ServerStatus(
                name=server.name,
                version=server.version,
                address=server.address,
                pid=pid,
                healthy=pid is not None and _safe_healthy(server),
                port_taken=pid is None and any(port_open(HOST, p) for p in server.ports()),
                log_path=server.log_path,
            )
        )
    return result


def _state_lock(settings: Settings) -> Path:
    return settings.state_dir / ".lock"


def required_tools(servers: Sequence[LocalServer]) -> list[str]:
    """Tools needed to start ``servers`` (install tools only where the cache is incomplete)."""
    tools = {tool for server in servers for tool in server.tools_to_install() + server.tools_to_run()}
    order = list(toolchain.TOOLS)
    return sorted(tools, key=lambda t: (order.index(t) if t in order else len(order), t))


def up(
    names: Iterable[str] | None = None,
    *,
    settings: Settings | None = None,
    report: Report = report_to_stderr,
    timeout: float | None = None,
) -> dict[str, str]:
    """Install (first time), configure, start and wait for the servers; return their variables.

    Idempotent: a running, healthy server is left alone. Raises
    :class:`~deploy.local.toolchain.ToolchainError` if ``java``/``mvn``/``go`` is needed and
    missing, :class:`StartupError` if a server does not become healthy (its log tail included).
    """
    settings = settings or Settings.from_env()
    servers = make_servers(names, settings)
    ordered = sorted(servers, key=lambda s: START_ORDER.index(s.kind))
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(_state_lock(settings)):
        to_start = [s for s in ordered if processes.read_pid(s.pid_path) is None]
        tools: dict[str, str] = {}
        if to_start:
            tools = toolchain.require(
                required_tools(to_start), needed_for=[n for n in NAMES if n in {s.kind for s in to_start}]
            )
            if "java" in tools:
                toolchain.check_java(tools["java"])
        for server in to_start:
            seconds = server.install(tools, report)
            if seconds is not None:
                report(f"{server.name}: installed in {seconds:.1f} s")
        waits: list[tuple[LocalServer, float]] = []
        for server in ordered:
            if server not in to_start:
                if _safe_healthy(server):
                    report(
                        f"{server.name}: already running and healthy (pid "
                        f"{processes.read_pid(server.pid_path)}) on {server.address}"
                    )
                    continue
                report(f"{server.name}: running but not healthy yet; waiting")
                waits.append((server, time.monotonic()))
                continue
            _check_ports_free(server)
            server.prepare(tools, report)
            started = time.monotonic()
            pid = processes.start_process(
                server.name,
                server.argv(tools),
                env=server.process_env(),
                cwd=server.state_dir,
                log_path=server.log_path,
                pid_path=server.pid_path,
            )
            report(f"{server.name}: started {server.version} (pid {pid}), log {server.log_path}")
            waits.append((server, started))
        _wait_all(waits, report, timeout)
    env: dict[str, str] = {}
    for server in servers:
        env.update(server.connection_env())
    return env


def ensure_up(
    names: Iterable[str] | None = None,
    *,
    settings: Settings | None = None,
    report: Report = no_report,
    timeout: float | None = None,
) -> dict[str, str]:
    """:func:`up` without progress output, for fixtures and scripts."""
    return up(names, settings=settings, report=report, timeout=timeout)


def _check_ports_free(server: LocalServer) -> None:
    for port, variable in server.ports().items():
        if port_open(HOST, port):
            raise StartupError(
                f"{server.name}: port {HOST}:{port} is already in use by a process this tool did not "
                f"start. Stop that process, or choose another port with {variable}=<port>."
            )


def _wait_all(waits: Sequence[tuple[LocalServer, float]], report: Report, timeout: float | None) -> None:
    if not waits:
        return

    def wait_one(item: tuple[LocalServer, float]) -> str | None:
        server, started = item
        try:
            processes.wait_healthy(
                server.healthy,
                timeout if timeout is not None else server.start_timeout,
                pid_path=server.pid_path,
                log_path=server.log_path,
                name=server.name,
            )
        except processes.ProcessError as exc:
            processes.stop_process(server.pid_path, timeout=server.stop_timeout)
            return str(exc)
        report(f"{server.name}: healthy on {server.address} after {time.monotonic() - started:.1f} s")
        return None

    with ThreadPoolExecutor(max_workers=len(waits)) as pool:
        errors = [e for e in pool.map(wait_one, waits) if e is not None]
    if errors:
        raise StartupError("\n\n".join(errors))


def down(
    names: Iterable[str] | None = None,
    *,
    settings: Settings | None = None,
    report: Report = report_to_stderr,
) -> list[str]:
    """Stop the servers (SIGTERM, wait, SIGKILL); the names of those that were running."""
    settings = settings or Settings.from_env()
    servers = make_servers(names, settings)
    stopped: list[str] = []
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(_state_lock(settings)):
        for server in reversed(servers):
            pid = processes.read_pid(server.pid_path)
            if processes.stop_process(server.pid_path, timeout=server.stop_timeout):
                report(f"{server.name}: stopped (pid {pid})")
                stopped.append(server.name)
            else:
                report(f"{server.name}: not running")
    return stopped


def reset(
    names: Iterable[str] | None = None,
    *,
    settings: Settings | None = None,
    report: Report = report_to_stderr,
) -> None:
    """Stop the servers and delete their data, configuration and logs (not the cache)."""
    settings = settings or Settings.from_env()
    down(names, settings=settings, report=report)
    with file_lock(_state_lock(settings)):
        for server in make_servers(names, settings):
            for path in server.data_paths():
                if path.exists():
                    shutil.rmtree(path)
                    report(f"{server.name}: deleted {path}")
