"""End-to-end latency: an org-graph HTTP write -> Kafka -> notifications -> the member's SSE stream.

    ./civicgrid bench notifications_e2e_latency [--events N] [--rate R] [--warmup N]

Starts org-graph and notifications as processes (uvicorn) on the servers named by CIVICGRID_KAFKA_BOOTSTRAP,
CIVICGRID_NEO4J_URI and CIVICGRID_MONGO_URI (the test stack: 127.0.0.1:19092, bolt://127.0.0.1:17687,
mongodb://127.0.0.1:37017), in a fresh street and community, with new consumer groups committed at the
topics' current end. Every member's stream is opened first (all ``ready``); then appointments
(``POST /memberships``, a coordinator appoints the member) go out **open loop** at a steady
``--rate`` per second, each to another member, whatever the previous ones' latency (to the residents
committees of ``--organisations`` communities of one street, round robin; a 503 with Retry-After from
org-graph is retried as a client would and counted); each is timed from just before its POST until the
``entry`` event arrives on that member's stream.

Prints JSON: latency p50/p90/p99/max, the stages (org-graph's HTTP answer; POST -> the fact readable
on Kafka, read by a tap consumer of the memberships topic: Neo4j + outbox relay + produce; fact on
Kafka -> the feed entry's ``created_at``: notifications' consumer, its queue and its projection
writes; ``created_at`` -> SSE: feed write + live hub + stream), and, measured in the same run at
the same rate, one raw Kafka hop (aiokafka ``acks=all`` produce -> consume) and raw FerretDB round
trips, with the ratio of our p99 to the raw hop's p99. Each part carries the load average read then
(the machine has 2 shared cores).
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
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench.notifications_raw import kafka_hop, load, store_round_trips, summary
from civicgrid_contracts.catalogue import topic_for
from civicgrid_notifications.entrypoints.consumers import consumed_event_types
from civicgrid_runtime.auth import Role, TokenIssuer
from civicgrid_runtime.stores.mongo import create_client
from tests.e2e.processes import Stack, start_group_at_end

RETRIED: list[str] = []
"""Writes org-graph answered 503 + Retry-After (Neo4j busy on the loaded machine), retried as a
client would."""


async def ok(
    client: httpx.AsyncClient, method: str, url: str, token: str, body: Any = None, conflict_ok: bool = False
) -> Any:
    for _ in range(10):
        response = await client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 503:
            break
        RETRIED.append(url)
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    if response.status_code >= 300 and not (conflict_ok and response.status_code == 409):
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


async def community(
    client: httpx.AsyncClient, og: str, admin: str, street: str | None = None
) -> tuple[str, str]:
    """A new community (in ``street``, or in a new street); returns (street, community code)."""
    if street is None:
        for kind, code, name in (
            ("province", "420000000000", "湖北省"),
            ("city", "420100000000", "武汉市"),
            ("district", "420106000000", "武昌区"),
        ):
            body = {"kind": kind, "code": code, "name": name}
            await ok(client, "POST", f"{og}/places", admin, body, conflict_ok=True)
    while True:
        chosen = street or f"420106{random.randint(100, 999)}000"
        code = f"{chosen[:9]}{random.randint(1, 999):03d}"
        if street is None:
            body = {"kind": "street", "code": chosen, "name": f"测试街道{chosen[6:9]}"}
            await ok(client, "POST", f"{og}/places", admin, body, conflict_ok=True)
        created = await client.post(
            f"{og}/places",
            json={"kind": "community", "code": code, "name": "基准社区"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        if created.status_code == 201:
            return chosen, code


class Listener:
    """One member's open stream: ``ready`` when it is live, then the wall time the entry arrived and the
    entry's ``created_at`` (the notifier's clock when it wrote the entry)."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.arrived: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()

    async def run(self, client: httpx.AsyncClient, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        timeout = httpx.Timeout(30, read=300)
        async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: ready"):
                    self.ready.set()
                if line.startswith("data:") and '"item"' in line:
                    now = time.time()
                    item = json.loads(line[5:])["item"]
                    created = datetime.fromisoformat(item["created_at"]).timestamp()
                    if not self.arrived.done():
                        self.arrived.set_result((now, created))
                    return


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    stack = Stack(
        os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:37017"),
        os.environ.get("CIVICGRID_NEO4J_URI", "bolt://127.0.0.1:17687"),
        workdir / "keys",
        workdir,
    )
    og_process, nt_process = stack.service("org-graph"), stack.service("notifications")
    topics = sorted({topic_for(t) for t in consumed_event_types()})
    await start_group_at_end(stack.kafka, nt_process.env["NOTIFICATIONS_CONSUMER_GROUP"], topics)
    memberships = topic_for("cn.civicgrid.org.membership.started.v1")
    tap_group = f"bench-tap-{stack.suffix}"
    await start_group_at_end(stack.kafka, tap_group, [memberships])
    on_kafka: dict[str, float] = {}
    issuer = TokenIssuer(stack.keys_dir, "civicgrid-dev", "civicgrid")
    admin = issuer.mint("bench-admin", [Role.ADMIN])
    mongo = create_client(stack.mongo_uri, "bench")
    rows: list[dict[str, float]] = []
    result: dict[str, Any] = {}
    listeners: list[asyncio.Task[None]] = []
    tap: AIOKafkaConsumer | None = None
    try:
        await asyncio.gather(asyncio.to_thread(og_process.start), asyncio.to_thread(nt_process.start))
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            og, nt = og_process.url, nt_process.url
            street, code = await community(client, og, admin)
            coordinator = issuer.mint("bench-coordinator", [Role.COORDINATOR], region=street)
            gate = asyncio.Semaphore(8)

            async def organisation(n: int) -> tuple[str, str]:
                async with gate:
                    place = code if n == 0 else (await community(client, og, admin, street))[1]
                    body = {"kind": "residents_committee", "place_code": place, "name": f"基准居委会{n}"}
                    org = await ok(client, "POST", f"{og}/organisations", admin, body)
                    return str(org["org_id"]), place

            # Appointments spread over the residents committees of several communities of one street:
            # 20 a second to one post of one organisation would measure Neo4j's lock queue on that
            # post, not the path to the phone.
            orgs = list(await asyncio.gather(*(organisation(n) for n in range(args.organisations))))

            async def person(n: int) -> str:
                body = {
                    "display_name": f"委员{n}",
                    "community_code": orgs[n % len(orgs)][1],
                    "person_id": f"bench-{uuid.uuid4().hex[:12]}",
                }
                async with gate:
                    return str((await ok(client, "POST", f"{og}/people", admin, body))["person_id"])

            people = list(await asyncio.gather(*(person(n) for n in range(args.events + args.warmup))))

            def appointment(member: str) -> dict[str, Any]:
                return {
                    "person_id": member,
                    "org_id": orgs[people.index(member) % len(orgs)][0],
                    "post": "committee_member",
                    "start_date": "2025-07-01",
                    "basis": "election",
                    "basis_reference": "基准选举",
                }

            streams: dict[str, Listener] = {}
            for member in people:
                streams[member] = Listener()
                token = issuer.mint(member, [Role.MEMBER], person_id=member)
                listeners.append(
                    asyncio.create_task(streams[member].run(client, f"{nt}/members/{member}/stream", token))
                )
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in streams.values())), timeout=120)
            for member in people[: args.warmup]:  # the consumer group's first fetches; not measured
                await ok(client, "POST", f"{og}/memberships", coordinator, appointment(member))
                await asyncio.wait_for(streams[member].arrived, timeout=60)

            # A tap on the memberships topic: when each appointment's fact is readable on Kafka
            # (splits org-graph + relay from notifications' consumer).
            tap = AIOKafkaConsumer(memberships, bootstrap_servers=stack.kafka, group_id=tap_group)
            await tap.start()

            async def read_tap() -> None:
                async for record in tap:
                    kind = dict(record.headers).get("ce_type", b"").decode()
                    person_id = json.loads(record.value or b"{}").get("person_id")
                    if person_id and kind == "cn.civicgrid.org.membership.started.v1":
                        on_kafka.setdefault(person_id, time.time())

            tapping = asyncio.create_task(read_tap())
            listeners.append(tapping)
            result["raw_kafka_hop"] = await kafka_hop(stack.kafka, args.events, args.rate)
            result["raw_store"] = await store_round_trips(mongo[f"bench_raw_{stack.suffix}"], 100)

            async def write(member: str) -> None:
                sent = time.time()
                await ok(client, "POST", f"{og}/memberships", coordinator, appointment(member))
                answered = time.time()
                try:
                    arrived, created = await asyncio.wait_for(streams[member].arrived, timeout=args.timeout)
                except TimeoutError:
                    missing.append(member)
                    return
                seen_on_kafka = on_kafka.get(member, created)
                rows.append(
                    {
                        "on_kafka": (seen_on_kafka - sent) * 1000,
                        "kafka_to_entry": (created - seen_on_kafka) * 1000,
                        "total": (arrived - sent) * 1000,
                        "http": (answered - sent) * 1000,
                        "to_entry": (created - sent) * 1000,
                        "entry_to_sse": (arrived - created) * 1000,
                    }
                )

            RETRIED.clear()
            missing: list[str] = []
            load_before = load()
            start = time.time()
            writes = []
            for i, member in enumerate(people[args.warmup :]):
                delay = start + i / args.rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                writes.append(asyncio.create_task(write(member)))
            sending_s = time.time() - start
            await asyncio.gather(*writes)
            load_after = load()
            feed = mongo[stack.database("notifications")]["feed"]
            # Not on the stream in time: is the entry in the feed (live path lost it) or not (backlog)?
            in_feed = [m for m in missing if await feed.count_documents({"member_id": m})]
            result["missing"] = {
                "not_on_stream_within_s": args.timeout,
                "count": len(missing),
                "of_which_in_the_feed_by_then": len(in_feed),
            }
    finally:
        for task in listeners:
            task.cancel()
        if tap is not None:
            await tap.stop()
        stack.stop_all()
        await mongo.drop_database(stack.database("notifications"))
        await mongo.drop_database(f"bench_raw_{stack.suffix}")
        await mongo.close()
    # An entry not on the stream within the timeout counts at the timeout (a lower bound of its latency).
    total = [r["total"] for r in rows] + [args.timeout * 1000] * result["missing"]["count"]
    raw_p99 = result["raw_kafka_hop"]["latency_ms"]["p99"]
    ours = summary(total)
    return {
        "path": "POST org-graph /memberships -> Neo4j+outbox -> Kafka -> notifications -> feed -> SSE entry",
        "events": len(total),
        "rate_per_s": args.rate,
        "achieved_rate_per_s": round(len(rows) / sending_s, 1) if sending_s else None,
        "latency_ms": ours,
        "mean_ms": round(statistics.fmean(total), 1),
        "stages_ms": {
            "org_graph_http_answer": summary([r["http"] for r in rows]),
            "post_to_feed_entry_created": summary([r["to_entry"] for r in rows]),
            "post_to_fact_readable_on_kafka": summary([r["on_kafka"] for r in rows]),
            "fact_on_kafka_to_feed_entry_created": summary([r["kafka_to_entry"] for r in rows]),
            "feed_entry_created_to_sse": summary([r["entry_to_sse"] for r in rows]),
        },
        "http_503_retried": len(RETRIED),
        "organisations": args.organisations,
        "target": {"p99_ms_below": 250, "met": ours["p99"] < 250},
        "ratio_p99_to_raw_kafka_hop_p99": round(ours["p99"] / raw_p99, 1) if raw_p99 else None,
        "load": {"before": load_before, "after": load_after},
        **result,
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="appointments per second (open loop)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each entry")
    parser.add_argument(
        "--organisations", type=int, default=20, help="organisations appointed to (round robin)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), ensure_ascii=False, indent=2))
