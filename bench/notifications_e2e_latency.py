"""End-to-end latency: an org-graph HTTP write -> Kafka -> notifications -> the member's SSE stream.

    ./civicgrid bench notifications_e2e_latency [--events N] [--rate R]

Starts org-graph and notifications as processes (uvicorn) on the servers named by CIVICGRID_KAFKA_BOOTSTRAP,
CIVICGRID_NEO4J_URI and CIVICGRID_MONGO_URI, in a fresh street and community, with new consumer groups
committed at the topics' current end. For each event: open the member's stream, then time from the
``POST /memberships`` (a coordinator appoints the member) until the ``entry`` event arrives, at a steady
``--rate`` of appointments per second. Prints JSON with p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from civicgrid_contracts.catalogue import topic_for
from civicgrid_notifications.entrypoints.consumers import consumed_event_types
from civicgrid_runtime.auth import Role, TokenIssuer
from tests.e2e.processes import Stack, start_group_at_end


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def ok(
    client: httpx.AsyncClient, method: str, url: str, token: str, body: Any = None, conflict_ok: bool = False
) -> Any:
    response = await client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code >= 300 and not (conflict_ok and response.status_code == 409):
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


async def community(client: httpx.AsyncClient, og: str, admin: str) -> tuple[str, str]:
    for kind, code, name in (
        ("province", "420000000000", "湖北省"),
        ("city", "420100000000", "武汉市"),
        ("district", "420106000000", "武昌区"),
    ):
        await ok(
            client,
            "POST",
            f"{og}/places",
            admin,
            {"kind": kind, "code": code, "name": name},
            conflict_ok=True,
        )
    while True:
        street = f"420106{random.randint(100, 999)}000"
        code = f"{street[:9]}{random.randint(1, 999):03d}"
        body = {"kind": "street", "code": street, "name": f"测试街道{street[6:9]}"}
        await ok(client, "POST", f"{og}/places", admin, body, conflict_ok=True)
        created = await client.post(
            f"{og}/places",
            json={"kind": "community", "code": code, "name": "基准社区"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        if created.status_code == 201:
            return street, code


async def first_entry(client: httpx.AsyncClient, url: str, token: str, ready: asyncio.Event) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=60)) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: ready"):
                ready.set()
            if line.startswith("data:") and '"item"' in line:
                return time.perf_counter()
    raise RuntimeError("the stream ended before the entry arrived")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    stack = Stack(
        os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:27017"),
        os.environ.get("CIVICGRID_NEO4J_URI", "bolt://127.0.0.1:7687"),
        workdir / "keys",
        workdir,
    )
    og_process, nt_process = stack.service("org-graph"), stack.service("notifications")
    topics = sorted({topic_for(t) for t in consumed_event_types()})
    await start_group_at_end(stack.kafka, nt_process.env["NOTIFICATIONS_CONSUMER_GROUP"], topics)
    issuer = TokenIssuer(stack.keys_dir, "civicgrid-dev", "civicgrid")
    admin = issuer.mint("bench-admin", [Role.ADMIN])
    latencies: list[float] = []
    try:
        await asyncio.gather(asyncio.to_thread(og_process.start), asyncio.to_thread(nt_process.start))
        async with httpx.AsyncClient(timeout=30) as client:
            og, nt = og_process.url, nt_process.url
            street, code = await community(client, og, admin)
            coordinator = issuer.mint("bench-coordinator", [Role.COORDINATOR], region=street)
            org = await ok(
                client,
                "POST",
                f"{og}/organisations",
                admin,
                {"kind": "residents_committee", "place_code": code, "name": "基准居委会"},
            )
            people = []
            for n in range(args.events + args.warmup):
                body = {
                    "display_name": f"委员{n}",
                    "community_code": code,
                    "person_id": f"bench-{uuid.uuid4().hex[:12]}",
                }
                people.append((await ok(client, "POST", f"{og}/people", admin, body))["person_id"])
            for n, person in enumerate(people):
                started = time.perf_counter()
                token = issuer.mint(person, [Role.MEMBER], person_id=person)
                ready = asyncio.Event()
                arrival = asyncio.create_task(
                    first_entry(client, f"{nt}/members/{person}/stream", token, ready)
                )
                await asyncio.wait_for(ready.wait(), timeout=30)
                body = {
                    "person_id": person,
                    "org_id": org["org_id"],
                    "post": "committee_member",
                    "start_date": "2025-07-01",
                    "basis": "election",
                    "basis_reference": "基准选举",
                }
                sent = time.perf_counter()
                await ok(client, "POST", f"{og}/memberships", coordinator, body)
                arrived = await asyncio.wait_for(arrival, timeout=60)
                if n >= args.warmup:
                    latencies.append((arrived - sent) * 1000)
                await asyncio.sleep(max(0.0, 1 / args.rate - (time.perf_counter() - started)))
    finally:
        stack.stop_all()
        from civicgrid_runtime.stores.mongo import create_client

        mongo = create_client(stack.mongo_uri, "bench")
        await mongo.drop_database(stack.database("notifications"))
        await mongo.close()
    return {
        "path": "POST org-graph /memberships -> Neo4j+outbox -> Kafka -> notifications -> feed -> SSE entry",
        "events": len(latencies),
        "rate_per_s": args.rate,
        "latency_ms": {
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
            "max": round(max(latencies), 1),
        },
        "mean_ms": round(statistics.fmean(latencies), 1),
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2.0, help="appointments per second")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), ensure_ascii=False, indent=2))
