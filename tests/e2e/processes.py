"""The three services as real processes (uvicorn), each test on its own databases and consumer groups."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MODULES = {
    "org-graph": ("civicgrid_orggraph", "ORGGRAPH_"),
    "resources": ("civicgrid_resources", "RESOURCES_"),
    "notifications": ("civicgrid_notifications", "NOTIFICATIONS_"),
    "deliberation": ("civicgrid_deliberation", "DELIBERATION_"),
}


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now, never one this test process handed out before: the kernel may well give the
    same ephemeral port to two binds in a row once the first socket is closed, and two services of
    one stack then race for it (the loser exits, and the winner answers the loser's readiness check)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        module, _ = MODULES[self.name]
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}.bootstrap:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; log:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    if self.process.poll() is not None:  # another process answered on our port
                        raise RuntimeError(f"{self.name} exited at start; log:\n{self.log_tail()}")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} was not ready after {timeout}s; log:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what was not stored is lost unless redelivered."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stack:
    """Settings shared by the processes of one test: keys, servers, a unique suffix for stores and groups."""

    kafka: str
    mongo_uri: str
    neo4j_uri: str
    keys_dir: Path
    workdir: Path
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    own_topics: bool = False
    """Give the services topics of their own (``<topic>.e2e<suffix>``: nothing shared with any other
    stack or test); off for suites that read and write the catalogue's topics of a stack of their own."""

    @property
    def topic_suffix(self) -> str:
        return f".e2e{self.suffix}" if self.own_topics else ""

    def topic(self, catalogue_topic: str) -> str:
        """The name this stack's services use for a catalogue topic (its dead-letter topic too)."""
        from civicgrid_runtime.topic_names import TopicNames

        return TopicNames(self.topic_suffix).name(catalogue_topic)

    def database(self, name: str) -> str:
        return f"e2e_{name.replace('-', '_')}_{self.suffix}"

    def service(self, name: str, **extra_env: str) -> ServiceProcess:
        _, prefix = MODULES[name]
        env = {
            **os.environ,
            f"{prefix}KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            f"{prefix}KEYS_DIR": str(self.keys_dir),
            f"{prefix}LOG_JSON": "true",
            f"{prefix}LOG_LEVEL": "INFO",
            f"{prefix}CONSUMER_GROUP": f"e2e-{name}-{self.suffix}",
            f"{prefix}MONGO_URI": self.mongo_uri,
            f"{prefix}MONGO_DATABASE": self.database(name),
            f"{prefix}NEO4J_URI": self.neo4j_uri,
            f"{prefix}TOPIC_SUFFIX": self.topic_suffix,
            "PYTHONUNBUFFERED": "1",
            **{f"{prefix}{k}": v for k, v in extra_env.items()},
        }
        process = ServiceProcess(name, free_port(), env, self.workdir / f"{name}.log")
        self.processes[name] = process
        return process

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


async def start_group_at_end(bootstrap: str, group: str, topics: list[str], suffix: str = "") -> None:
    """Commit the current end offsets for a new consumer group, so a service started with it reads only
    what is published from now on (and nothing published later is lost while it joins). The shared
    servers' topics hold every other test's history, which a group starting at ``earliest`` would
    replay first. ``topics`` are catalogue names; with ``suffix`` (a stack's own topics) the group is
    pinned on ``<topic><suffix>``."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    from civicgrid_runtime.kafka.topics import ensure_topics
    from civicgrid_runtime.topic_names import TopicNames

    # On a fresh broker no service has created the catalogue's topics yet: create them here, with the
    # catalogue's partition counts, so the group's start is pinned on every partition.
    names = TopicNames(suffix)
    await ensure_topics(bootstrap, topics, topics=names)
    topics = names.names(topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for _ in range(50):
            cluster = await consumer._client.fetch_all_metadata()
            partitions = [
                TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())
            ]
            if {tp.topic for tp in partitions} == set(topics):
                break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"topics {topics} still missing from the broker's metadata")
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(ends)
    finally:
        await consumer.stop()
