"""Job leases in the test stack's FerretDB: of two runners one runs the job; the holder killed with
SIGKILL, the other takes the job over once the lease has expired, not before. The Neo4j leases (org-graph)
likewise let one of many takers win."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from neo4j import AsyncDriver
from pymongo import AsyncMongoClient

from civicgrid_runtime.jobs import MongoLeases, Neo4jLeases
from tests.support.servers import Servers

ROOT = Path(__file__).resolve().parents[3]
TTL = 3.0


def holder(servers: Servers, database: str, owner: str, journal: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.integration.runtime.lease_holder_process", servers.mongo_uri]
    argv += [database, "sla-sweeper", owner, str(TTL), str(journal)]
    return subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def runs(journal: Path) -> list[tuple[str, float]]:
    if not journal.exists():
        return []
    return [(owner, float(at)) for owner, at in (line.split() for line in journal.read_text().splitlines())]


async def wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_of_many_instances_taking_one_expired_lease_at_once_exactly_one_wins(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    database = f"leases_{unique}"
    store = MongoLeases(mongo_client[database]["leases"])
    try:
        assert await store.take("reconciler", "old", 1.0, now=100.0)
        for round_ in range(5):
            now = 200.0 + 100 * round_
            wins = await asyncio.gather(
                *(store.take("reconciler", f"r{round_}-{i}", 1.0, now) for i in range(10))
            )
            assert sum(wins) == 1
        assert await mongo_client[database]["leases"].count_documents({}) == 1
    finally:
        await mongo_client.drop_database(database)


async def test_a_killed_holder_s_job_moves_to_the_other_runner_after_its_lease_expires(
    servers: Servers, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str, tmp_path: Path
) -> None:
    database = f"leases_{unique}"
    journal = tmp_path / "runs.log"
    first = holder(servers, database, "a", journal)
    second: subprocess.Popen[bytes] | None = None
    try:
        await wait_for(lambda: any(o == "a" for o, _ in runs(journal)), 30)
        second = holder(servers, database, "b", journal)
        await asyncio.sleep(2.5)  # b is up and trying to take the lease all along
        assert {o for o, _ in runs(journal)} == {"a"}

        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.time()
        await wait_for(lambda: any(o == "b" for o, _ in runs(journal)), 20)
        last_a = max(at for o, at in runs(journal) if o == "a")
        first_b = min(at for o, at in runs(journal) if o == "b")
        print(
            f"last run by a {killed_at - last_a:.2f} s before the kill; "
            f"b took over {first_b - killed_at:.2f} s after"
        )
        assert first_b - last_a >= TTL - 1.0  # not before the lease the holder last renewed ran out
        assert first_b > last_a
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        await mongo_client.drop_database(database)


async def test_of_many_instances_taking_one_expired_neo4j_lease_at_once_exactly_one_wins(
    neo4j_driver: AsyncDriver, unique: str
) -> None:
    store = Neo4jLeases(neo4j_driver)
    await store.ensure_schema()
    name = f"outbox-relay.{unique}"
    try:
        assert await store.take(name, "old", 1.0, now=100.0)
        assert not await store.take(name, "other", 1.0, now=100.5)
        for round_ in range(5):
            now = 200.0 + 100 * round_
            wins = await asyncio.gather(*(store.take(name, f"r{round_}-{i}", 1.0, now) for i in range(10)))
            assert sum(wins) == 1
    finally:
        await neo4j_driver.execute_query("MATCH (l:Lease {name: $name}) DELETE l", name=name)
