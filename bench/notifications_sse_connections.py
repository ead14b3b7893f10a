"""Open SSE streams per notifications instance: delivery latency of one broadcast to N open streams.

    ./civicgrid bench notifications_sse_connections [--levels 100,1000,5000] [--broadcasts 3]
        [--open-concurrency 50] [--timeout 120]

Starts one notifications process (uvicorn, its own database and topics) on the servers named by
CIVICGRID_KAFKA_BOOTSTRAP and CIVICGRID_MONGO_URI, writes N members of one community into its directory
projection, then, level by level (streams are kept open and added up to the next level), opens the
members' streams (``GET /members/{id}/stream``, httpx, one connection each) and waits for every
``ready`` event. At each level it sends ``--broadcasts`` community broadcasts through ``POST
/broadcasts`` and times, per stream, from just before the POST until that broadcast's ``entry`` event
arrives. Prints JSON per level: time to open the streams, delivery p50/p99/max and the time until the
last stream had it, the server's resident memory and the CPU seconds it spent per broadcast.

The client runs in this one process on the same machine: its own parsing of N events is part of
every figure, so latencies are upper bounds and the stream counts lower bounds of what an instance holds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from civicgrid_runtime.auth import Role, TokenIssuer
from civicgrid_runtime.stores.mongo import create_client
from tests.e2e.processes import Stack

COMMUNITY = "420106002003"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def process_figures(pid: int) -> tuple[float, float]:
    """(CPU seconds used so far, resident memory in MB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    rss_kb = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss_kb / 1024


class Streams:
    """Open streams of one client; records when each stream saw each broadcast id."""

    def __init__(self, client: httpx.AsyncClient, url: str, issuer: TokenIssuer) -> None:
        self.client, self.url, self.issuer = client, url, issuer
        self.tasks: list[asyncio.Task[None]] = []
        self.arrivals: dict[str, list[float]] = {}
        self.expected = 0
        self.complete: dict[str, asyncio.Event] = {}
        self.watched: set[str] = set()
        self.failures: list[str] = []

    async def open(self, member: str, ready: asyncio.Semaphore) -> None:
        opened = asyncio.Event()
        self.tasks.append(asyncio.create_task(self._listen(member, opened)))
        try:
            await asyncio.wait_for(opened.wait(), timeout=120)
        finally:
            ready.release()

    async def _listen(self, member: str, opened: asyncio.Event) -> None:
        token = self.issuer.mint(member, [Role.MEMBER], person_id=member)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self.client.stream(
                "GET", f"{self.url}/members/{member}/stream", headers=headers
            ) as response:
                if response.status_code != 200:
                    self.failures.append(f"{member}: {response.status_code}")
                    opened.set()
                    return
                async for line in response.aiter_lines():
                    if line.startswith("event: ready"):
                        opened.set()
                    elif line.startswith("data:") and self.watched:
                        for broadcast_id in self.watched:
                            if broadcast_id in line:
                                arrived = self.arrivals[broadcast_id]
                                arrived.append(time.perf_counter())
                                if len(arrived) >= self.expected:
                                    self.complete[broadcast_id].set()
        except (httpx.HTTPError, asyncio.CancelledError) as error:
            if not isinstance(error, asyncio.CancelledError):
                self.failures.append(f"{member}: {type(error).__name__}")
            opened.set()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def broadcast_once(
    client: httpx.AsyncClient, url: str, admin: str, streams: Streams, expected: int, timeout: float
) -> dict[str, Any]:
    broadcast_id = f"sse{uuid.uuid4().hex[:16]}"
    streams.arrivals[broadcast_id] = []
    streams.complete[broadcast_id] = asyncio.Event()
    streams.expected = expected
    streams.watched.add(broadcast_id)
    body = {
        "id": broadcast_id,
        "audience": f"community:{COMMUNITY}",
        "community_code": COMMUNITY,
        "category": "notice",
        "priority": "high",
        "title": "停水通知",
        "body": "明日9时至17时小区停水，请提前储水。",
    }
    sent = time.perf_counter()
    response = await client.post(f"{url}/broadcasts", json=body, headers={"Authorization": f"Bearer {admin}"})
    answered = time.perf_counter()
    if response.status_code != 201:
        raise RuntimeError(f"POST /broadcasts: {response.status_code} {response.text[:300]}")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(streams.complete[broadcast_id].wait(), timeout)
    streams.watched.discard(broadcast_id)
    latencies = [(t - sent) * 1000 for t in streams.arrivals[broadcast_id]]
    return {
        "post_ms": round((answered - sent) * 1000, 1),
        "delivered": len(latencies),
        "p50_ms": pct(latencies, 0.5) if latencies else None,
        "p99_ms": pct(latencies, 0.99) if latencies else None,
        "last_ms": round(max(latencies), 1) if latencies else None,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    levels = sorted(int(n) for n in args.levels.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    stack = Stack(
        os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:27017"),
        os.environ.get("CIVICGRID_NEO4J_URI", "bolt://127.0.0.1:7687"),
        workdir / "keys",
        workdir,
        own_topics=True,
    )
    service = stack.service("notifications", LOG_LEVEL="WARNING")
    mongo = create_client(stack.mongo_uri, "bench-sse")
    database = mongo[stack.database("notifications")]
    members = [f"sse-{i}" for i in range(levels[-1])]
    results: list[dict[str, Any]] = []
    try:
        await asyncio.to_thread(service.start)
        assert service.process is not None
        pid = service.process.pid
        for i in range(0, len(members), 5000):
            await database["people"].insert_many(
                [{"_id": m, "community_code": COMMUNITY} for m in members[i : i + 5000]], ordered=False
            )
        issuer = TokenIssuer(stack.keys_dir, "civicgrid-dev", "civicgrid")
        admin = issuer.mint("bench-admin", [Role.ADMIN])
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        timeout = httpx.Timeout(30, read=None)
        async with (
            httpx.AsyncClient(limits=limits, timeout=timeout) as client,
            httpx.AsyncClient(timeout=60) as control,
        ):
            streams = Streams(client, service.url, issuer)
            opened = 0
            try:
                for level in levels:
                    gate = asyncio.Semaphore(args.open_concurrency)
                    started = time.perf_counter()
                    openers = []
                    for member in members[opened:level]:
                        await gate.acquire()
                        openers.append(asyncio.create_task(streams.open(member, gate)))
                    await asyncio.gather(*openers)
                    open_s = time.perf_counter() - started
                    opened = level
                    await asyncio.sleep(2.0)  # let the last opens' reads settle
                    cpu_before, _ = process_figures(pid)
                    rounds = [
                        await broadcast_once(control, service.url, admin, streams, level, args.timeout)
                        for _ in range(args.broadcasts)
                    ]
                    cpu_after, rss_mb = process_figures(pid)
                    cpu_per_broadcast = (cpu_after - cpu_before) / args.broadcasts
                    added = level - (results[-1]["streams"] if results else 0)
                    results.append(
                        {
                            "streams": level,
                            "open_s": round(open_s, 1),
                            "opens_per_s": round(added / open_s, 1),
                            "failures": len(streams.failures),
                            "server_rss_mb": round(rss_mb, 1),
                            "server_cpu_s_per_broadcast": round(cpu_per_broadcast, 2),
                            "broadcasts": rounds,
                        }
                    )
                    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
            finally:
                await streams.close()
    finally:
        stack.stop_all()
        await mongo.drop_database(stack.database("notifications"))
        await mongo.close()
    return {
        "server": {"mongo": stack.mongo_uri, "kafka": stack.kafka},
        "path": "POST /broadcasts -> one broadcast document -> hub nudge -> "
        "every open stream: unread count, SSE entry",
        "levels": results,
        "failures_sample": streams.failures[:5],
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--levels", default="100,1000,5000", help="open streams, comma-separated")
    parser.add_argument("--broadcasts", type=int, default=3, help="broadcasts timed per level")
    parser.add_argument("--open-concurrency", type=int, default=50, help="streams being opened at once")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one broadcast")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), ensure_ascii=False, indent=2))
