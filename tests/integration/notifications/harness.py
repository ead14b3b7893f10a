"""The notifications service in the test's event loop (real uvicorn, real Kafka and MongoDB protocol)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from civicgrid_contracts.catalogue import topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_notifications.bootstrap import create_app
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_runtime.auth import Role, TokenIssuer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(
    probe: Callable[[], Awaitable[Any]], timeout: float = 30.0, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


@dataclass
class Kafka:
    producer: AIOKafkaProducer

    async def publish(self, *events: CloudEvent) -> None:
        for e in events:
            record = e.to_kafka()
            await self.producer.send_and_wait(
                topic_for(e.type), record.value, key=record.key, headers=record.headers
            )


@dataclass
class RunningService:
    base_url: str
    settings: NotificationsSettings
    issuer: TokenIssuer
    kafka: Kafka
    app: Any
    server: uvicorn.Server
    task: asyncio.Task[None]
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))

    def token(self, person_id: str | None = None, role: Role = Role.MEMBER, region: str | None = None) -> str:
        return self.issuer.mint(person_id or "admin", [role], person_id=person_id, region=region)

    def auth(
        self, person_id: str | None = None, role: Role = Role.MEMBER, region: str | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(person_id, role, region)}"}

    async def feed(self, member: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(
            f"{self.base_url}/members/{member}/feed", params=params, headers=self.auth(member)
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def wait_for_feed(self, member: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            items: list[dict[str, Any]] = (await self.feed(member, limit=100))["items"]
            return items if len(items) >= count else None

        result: list[dict[str, Any]] = await eventually(
            probe, timeout, what=f"{count} entries in {member}'s feed"
        )
        return result


async def start_service(
    kafka_bootstrap: str, mongo_uri: str, database: str, keys_dir: Path, group: str, **overrides: Any
) -> RunningService:
    port = free_port()
    defaults: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "mongo_uri": mongo_uri,
        "mongo_database": database,
        "consumer_group": group,
        "consumer_offset_reset": "latest",
        "keys_dir": keys_dir,
        "log_json": False,
        "log_level": "WARNING",
        "stream_poll_interval_seconds": 0.2,
        "delivery_poll_interval_seconds": 0.2,
        "public_url": f"http://127.0.0.1:{port}",
        "push_allow_local_receiver": True,  # the push service stand-ins listen on 127.0.0.1
    }
    settings = NotificationsSettings(**{**defaults, **overrides})
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), timeout=60, what="the service to start")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    issuer = TokenIssuer(keys_dir, settings.jwt_issuer, settings.jwt_audience)
    return RunningService(f"http://127.0.0.1:{port}", settings, issuer, Kafka(producer), app, server, task)


async def stop_service(service: RunningService) -> None:
    await service.kafka.producer.stop()
    await service.http.aclose()
    service.server.should_exit = True
    done, _ = await asyncio.wait({service.task}, timeout=30)
    if not done:  # say what it was waiting for (a shutdown hang once failed a CI run, with no clue)
        stuck = running_task_stacks()
        service.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service.task
        raise AssertionError(f"notifications did not stop within 30 s; tasks still running:\n{stuck}")


def running_task_stacks(frames: int = 8) -> str:
    """The unfinished tasks of this loop, each with the innermost frames of its chain of awaits."""
    lines: list[str] = []
    for task in asyncio.all_tasks():
        if task.done() or task is asyncio.current_task():
            continue
        chain: list[str] = []
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is not None:
                chain.append(f"    {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        lines.append(f"- {task.get_name()}")
        lines.extend(chain[-frames:])
    return "\n".join(lines)


async def sse_events(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], sink: list[dict[str, Any]]
) -> None:
    """Read an SSE stream into ``sink`` (dicts with event, id, data) until cancelled."""
    async with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=None)) as response:
        sink.append({"event": "_status", "status": response.status_code})
        if response.status_code != 200:
            return
        current: dict[str, Any] = {}
        async for line in response.aiter_lines():
            if line == "":
                if "data" in current:
                    current["data"] = json.loads(current["data"])
                    sink.append(current)
                current = {}
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                current[name] = value.lstrip(" ")


def entries_of(sink: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in sink if e.get("event") == "entry"]


def has_entries(sink: Sequence[dict[str, Any]], count: int) -> Callable[[], Awaitable[bool]]:
    """A probe for ``eventually``: at least ``count`` entry events arrived on the stream."""

    async def probe() -> bool:
        return len(entries_of(sink)) >= count

    return probe


def became_true(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return check()

    return probe


@contextlib.asynccontextmanager
async def streaming(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> AsyncIterator[list[dict[str, Any]]]:
    sink: list[dict[str, Any]] = []
    task = asyncio.create_task(sse_events(client, url, headers, sink))
    try:

        async def opened() -> bool:
            status = next((e["status"] for e in sink if e["event"] == "_status"), None)
            return status is not None and (status != 200 or any(e["event"] == "ready" for e in sink))

        await eventually(opened, what="the stream to open")
        yield sink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await task


@contextlib.asynccontextmanager
async def kafka_tail(bootstrap: str, topic: str) -> AsyncIterator[list[CloudEvent]]:
    """The events published on ``topic`` from now on (read without a consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    sink: list[CloudEvent] = []
    try:
        cluster = await consumer._client.fetch_all_metadata()  # the public topics() keeps no metadata
        partitions = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)

        async def read() -> None:
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for r in records:
                        sink.append(CloudEvent.from_kafka(r.key, r.value, list(r.headers)))

        task = asyncio.create_task(read())
        try:
            yield sink
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await consumer.stop()
