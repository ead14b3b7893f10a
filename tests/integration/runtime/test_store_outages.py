"""A store that goes away answers 503 within 3 s, never a hang; when it is back, writes work again.

FerretDB: a private instance (deploy.local, own state directory and port) killed with SIGKILL and
started again. Neo4j: the shared test server behind a proxy that cuts it off (connections reset,
port refused) and restores it; Neo4j itself takes minutes to restart on this machine (measured by
hand: docs/architecture.md, Faults). The shared servers are never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI
from neo4j import AsyncDriver

from civicgrid_runtime.http import HealthChecks, create_service_app
from civicgrid_runtime.stores.mongo import create_client
from civicgrid_runtime.stores.neo4j import Neo4jAvailability, create_driver
from deploy.local import processes
from deploy.local.config import Settings
from deploy.local.ferret import FerretDBServer
from deploy.local.servers import down, up
from tests.integration.runtime.faultproxy import FaultProxy

pytestmark = pytest.mark.integration
WITHIN = 3.0  # seconds: the 503 contract


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Call:
    started: float
    ended: float
    status: int

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Load:
    """Writers calling the app without pause, as an operator's load test would."""

    app: FastAPI
    path: Callable[[int], str]
    workers: int = 4
    calls: list[Call] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _worker(self, client: httpx.AsyncClient, worker: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            started = time.monotonic()
            response = await client.post(self.path(worker * 1_000_000 + n))
            self.calls.append(Call(started, time.monotonic(), response.status_code))
            if response.status_code == 503:
                assert response.headers["retry-after"]
                assert response.headers["content-type"] == "application/problem+json"
            await asyncio.sleep(0.02)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service", timeout=60) as client:
            tasks = [asyncio.create_task(self._worker(client, w)) for w in range(self.workers)]
            try:
                yield
            finally:
                self._stop.set()
                await asyncio.gather(*tasks)

    def between(self, start: float, end: float) -> list[Call]:
        return [c for c in self.calls if c.started >= start and c.ended <= end]


def _http(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service")


async def _until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _outage_round(
    load: Load, stop_store: Callable[[], Awaitable[None]], start_store: Callable[[], Awaitable[None]]
) -> dict[str, float]:
    """Up 2 s, down 6 s, back: checks the contract and returns the figures."""
    async with load.running():
        await _until(lambda: sum(c.status == 201 for c in load.calls) >= 5, timeout=30)
        await stop_store()
        cut = time.monotonic()
        await asyncio.sleep(6)
        restarting = time.monotonic()
        await start_store()
        healthy = time.monotonic()
        await _until(lambda: any(c.status == 201 and c.started >= healthy for c in load.calls), timeout=30)
        first_ok = min(c.ended for c in load.calls if c.status == 201 and c.started >= healthy)
        await asyncio.sleep(2)
    statuses = {c.status for c in load.calls}
    assert statuses <= {201, 503}, f"only 201 or 503, never another 5xx or a hang: {statuses}"
    # While the store is down (from the kill until its restart begins) every answer is a 503; once the
    # restart has begun the store may answer again before ``start_store`` returns, so a 201 is fine then.
    down = load.between(cut + 0.5, restarting)
    assert down, "calls were made during the outage"
    assert {c.status for c in down} == {503}
    during = load.between(cut, healthy)
    slowest = max(c.seconds for c in during)
    assert slowest < WITHIN, f"a call took {slowest:.2f} s while the store was down"
    settled = [c for c in load.calls if c.started >= first_ok + 0.5]
    assert settled, "calls were made after recovery"
    assert {c.status for c in settled} == {201}, "once back, every write succeeds"
    figures = {
        "calls": len(load.calls),
        "answered_503": sum(c.status == 503 for c in load.calls),
        "slowest_503_seconds": round(slowest, 2),
        "recovery_seconds": round(first_ok - healthy, 2),
    }
    print("outage figures:", figures)
    return figures


@pytest.fixture
def private_ferretdb(tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    settings = Settings(
        cache_dir=Settings.from_env().cache_dir,
        state_dir=tmp_path / "state",
        kafka_port=_free_port(),
        kafka_controller_port=_free_port(),
        neo4j_port=_free_port(),
        mongo_port=_free_port(),
    )
    env = up(["ferretdb"], settings=settings, report=lambda _m: None)
    try:
        yield settings, env["CIVICGRID_MONGO_URI"]
    finally:
        down(["ferretdb"], settings=settings, report=lambda _m: None)


def _mongo_app(uri: str, database: str) -> tuple[FastAPI, object]:
    client = create_client(uri, "outage-tests")
    app = create_service_app("t", "t", HealthChecks())

    @app.post("/residents/{n}", status_code=201)
    async def write(n: int) -> dict[str, int]:
        await client[database]["residents"].update_one({"_id": n}, {"$set": {"n": n}}, upsert=True)
        return {"n": n}

    return app, client


async def test_a_killed_ferretdb_answers_503_within_3_s_and_writes_resume_when_it_is_back(
    private_ferretdb: tuple[Settings, str], unique: str
) -> None:
    settings, uri = private_ferretdb
    server = FerretDBServer(settings)
    app, client = _mongo_app(uri, f"outage_{unique}")

    async def kill() -> None:
        pid = processes.read_pid(server.pid_path)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    async def start() -> None:
        await asyncio.to_thread(up, ["ferretdb"], settings=settings, report=lambda _m: None)

    try:
        figures = await _outage_round(Load(app, lambda n: f"/residents/{n}"), kill, start)
    finally:
        await client.close()  # type: ignore[attr-defined]
    assert figures["recovery_seconds"] < 30


async def test_an_unreachable_mongodb_answers_503_within_3_s() -> None:
    app, client = _mongo_app(f"mongodb://127.0.0.1:{_free_port()}", "nowhere")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service"
        ) as http:
            started = time.monotonic()
            response = await http.post("/residents/1")
            seconds = time.monotonic() - started
    finally:
        await client.close()  # type: ignore[attr-defined]
    print(f"503 after {seconds:.2f} s")
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert seconds < WITHIN


def _neo4j_app(
    driver: AsyncDriver,
    label: str,
    deadline: float | None = None,
    availability: Neo4jAvailability | None = None,
) -> FastAPI:
    app = create_service_app("t", "t", HealthChecks(), request_deadline_seconds=deadline)

    async def merge(tx: object, n: int) -> None:
        result = await tx.run(f"MERGE (p:{label} {{n: $n}}) SET p.at = timestamp()", n=n)  # type: ignore[attr-defined]
        await result.consume()

    @app.post("/probes/{n}", status_code=201)
    async def write(n: int) -> dict[str, int]:
        async with contextlib.AsyncExitStack() as stack:
            if availability is not None:  # as org-graph's unit of work does
                await stack.enter_async_context(availability.watch())
            async with driver.session() as session:
                await session.execute_write(merge, n)
        return {"n": n}

    return app


async def test_neo4j_cut_off_answers_503_within_3_s_and_writes_resume_at_once_when_it_returns(
    servers: object, unique: str
) -> None:
    target = urlparse(servers.neo4j_uri)  # type: ignore[attr-defined]
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 7687)
    port = await proxy.start()
    driver = create_driver(f"bolt://127.0.0.1:{port}")
    try:
        load = Load(_neo4j_app(driver, f"Outage_{unique}"), lambda n: f"/probes/{n}")
        figures = await _outage_round(load, proxy.cut, proxy.restore)
    finally:
        await driver.close()
        await proxy.close()
    assert figures["recovery_seconds"] < 30


async def test_an_unreachable_neo4j_answers_503_within_3_s() -> None:
    driver = create_driver(f"bolt://127.0.0.1:{_free_port()}")
    try:
        app = _neo4j_app(driver, "Nowhere")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service"
        ) as http:
            started = time.monotonic()
            response = await http.post("/probes/1")
            seconds = time.monotonic() - started
    finally:
        await driver.close()
    print(f"503 after {seconds:.2f} s")
    assert response.status_code == 503
    assert seconds < WITHIN


async def test_a_hung_neo4j_answers_503_at_the_request_deadline(servers: object, unique: str) -> None:
    target = urlparse(servers.neo4j_uri)  # type: ignore[attr-defined]
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 7687)
    port = await proxy.start()
    driver = create_driver(f"bolt://127.0.0.1:{port}")
    app = _neo4j_app(driver, f"Hung_{unique}", deadline=2.0)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service"
        ) as http:
            assert (await http.post("/probes/1")).status_code == 201
            proxy.blackhole()
            started = time.monotonic()
            response = await http.post("/probes/2")
            seconds = time.monotonic() - started
            await proxy.cut()
            await proxy.restore()
            await _until_ok(http, "/probes/3")
    finally:
        await driver.close()
        await proxy.close()
    print(f"503 after {seconds:.2f} s")
    assert response.status_code == 503
    assert seconds < WITHIN


async def _until_ok(http: httpx.AsyncClient, path: str) -> None:
    deadline = time.monotonic() + 30
    while (await http.post(path)).status_code != 201:
        assert time.monotonic() < deadline, "writes work again once the server answers"
        await asyncio.sleep(0.2)


async def test_after_an_outage_a_neo4j_that_takes_writes_but_does_not_answer_them_gets_503_within_3_s(
    servers: object, unique: str
) -> None:
    """A restarted Neo4j accepts connections and queries before it answers them (docs/faults.md): once
    an outage was seen, writes have a deadline (no request deadline here), until Neo4j answers again."""
    target = urlparse(servers.neo4j_uri)  # type: ignore[attr-defined]
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 7687)
    port = await proxy.start()
    driver = create_driver(f"bolt://127.0.0.1:{port}")
    availability = Neo4jAvailability()
    app = _neo4j_app(driver, f"Warming_{unique}", availability=availability)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service"
        ) as http:
            assert (await http.post("/probes/1")).status_code == 201
            assert availability.deadline() is None, "a working Neo4j: writes may wait as long as they need"
            await proxy.cut()
            assert (await http.post("/probes/2")).status_code == 503
            await proxy.restore()
            await _until_ok(http, "/probes/3")  # a pooled connection to the server that is back
            proxy.blackhole()  # ...which takes the next query and does not answer it
            started = time.monotonic()
            response = await http.post("/probes/4")
            seconds = time.monotonic() - started
            await proxy.cut()
            await proxy.restore()
            await _until_ok(http, "/probes/5")
    finally:
        await driver.close()
        await proxy.close()
    print(f"503 after {seconds:.2f} s")
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert seconds < WITHIN
