"""Notifications benchmark: fan-out on write vs a raw bulk insert, a 100,000-member broadcast,
feed page reads, and live-stream latency at a steady load.

    ./civicgrid bench notifications_feed [--entries N] [--members N] [--page-entries N] [--events N]

Uses the servers named by CIVICGRID_KAFKA_BOOTSTRAP / CIVICGRID_MONGO_URI and its own databases
(dropped at the end). Prints JSON:

- personal fan-out throughput (feed entries/s through ``MongoFeedStore.add_entries``, which reserves
  sequence numbers and skips existing entries) and a raw ``insert_many`` of the same documents into
  the same server, with the ratio;
- a broadcast to ``--members`` members (their projections are loaded first): time from the API call
  until it is visible on a member's first feed page (fan-out on read: one document);
- feed page read p50/p99 (ms) for a member with ``--page-entries`` entries (first and deep pages),
  with ``--other-entries`` entries of other members in the same collection, against the raw store
  operation in the same run (the page's own-entries query alone, and a ``find_one`` by ``_id``);
- live latency p50/p99 (ms) from publishing an org-graph fact to Kafka until the SSE ``entry`` event
  arrives on the member's open stream, at a steady rate of ``--rate`` events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer

from bench.notifications_raw import load
from civicgrid_contracts.catalogue import new_event, topic_for
from civicgrid_contracts.events import org
from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from civicgrid_notifications.bootstrap import create_app
from civicgrid_notifications.domain.model import (
    Audience,
    AudienceKind,
    Broadcast,
    FeedEntry,
    Message,
    Priority,
    entry_id,
)
from civicgrid_notifications.service_layer.feed import VISIBLE
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_runtime.auth import Role, TokenIssuer
from civicgrid_runtime.stores.mongo import create_client

COMMUNITY = "420106002003"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def entries(n: int, members: int, tag: str) -> list[FeedEntry]:
    now = datetime.now(UTC)
    message = Message(
        "request", Priority.HIGH, "新派单：求助·楼道照明", "3栋2单元楼道灯不亮（水电气暖，请于24小时内办结）"
    )
    return [
        FeedEntry(
            id=entry_id(f"m{i % members}", f"{tag}-{i // members}", "request_dispatched"),
            member_id=f"m{i % members}",
            rule="request_dispatched",
            source_event_id=f"{tag}-{i // members}",
            community_code=COMMUNITY,
            message=message,
            created_at=now + timedelta(microseconds=i),
        )
        for i in range(n)
    ]


async def fan_out(db: Any, n: int, batch: int) -> dict[str, Any]:
    store = MongoFeedStore(db)
    await store.ensure_indexes()
    items = entries(n, members=batch, tag=uuid.uuid4().hex[:8])
    started = time.perf_counter()
    for i in range(0, n, batch):
        await store.add_entries(items[i : i + batch])
    ours = time.perf_counter() - started
    raw_docs = [MongoFeedStore._document(e, i) for i, e in enumerate(entries(n, members=batch, tag="raw"))]
    raw = db["raw_feed"]
    await raw.create_index([("member_id", 1), ("source_event_id", 1), ("rule", 1)], unique=True)
    started = time.perf_counter()
    for i in range(0, n, batch):
        await raw.insert_many(raw_docs[i : i + batch], ordered=False)
    raw_time = time.perf_counter() - started
    again = time.perf_counter()
    await store.add_entries(items[:batch])  # a redelivered event: nothing is written twice
    redelivery_ms = (time.perf_counter() - again) * 1000
    return {
        "entries": n,
        "recipients_per_event": batch,
        "fan_out_entries_per_s": round(n / ours),
        "raw_insert_many_per_s": round(n / raw_time),
        "ratio_fan_out_to_raw": round(raw_time / ours, 3),
        "redelivered_event_ms": round(redelivery_ms, 1),
    }


async def broadcast(db: Any, members: int) -> dict[str, Any]:
    people = db["people"]
    started = time.perf_counter()
    chunk = 5000
    for i in range(0, members, chunk):
        await people.insert_many(
            [{"_id": f"r{j}", "community_code": COMMUNITY} for j in range(i, min(members, i + chunk))],
            ordered=False,
        )
    load_s = time.perf_counter() - started
    store = MongoFeedStore(db)
    audiences = [f"person:r{members - 1}", f"community:{COMMUNITY}", f"street:{COMMUNITY[:9]}"]
    started = time.perf_counter()
    await store.add_broadcast(
        Broadcast(
            id=f"b{uuid.uuid4().hex}",
            audience=Audience(AudienceKind.STREET, COMMUNITY[:9]),
            community_code=COMMUNITY,
            message=Message("notice", Priority.CRITICAL, "暴雨红色预警", "今晚有特大暴雨，请勿外出。"),
            created_at=datetime.now(UTC),
            created_by="bench",
        )
    )
    written_ms = (time.perf_counter() - started) * 1000
    items, _ = await store.page(
        f"r{members - 1}", audiences, before=None, limit=20, category=None, states=VISIBLE
    )
    visible_ms = (time.perf_counter() - started) * 1000
    if not items or items[0].title != "暴雨红色预警":
        raise RuntimeError("the broadcast is not on the member's first page")
    return {
        "members": members,
        "member_projection_load_s": round(load_s, 1),
        "broadcast_documents_written": 1,
        "broadcast_write_ms": round(written_ms, 1),
        "visible_in_member_feed_ms": round(visible_ms, 1),
    }


async def page_reads(db: Any, n: int, reads: int, others: int = 0) -> dict[str, Any]:
    store = MongoFeedStore(db)
    member = "reader"
    now = datetime.now(UTC)
    message = Message("appointment", Priority.NORMAL, "任职通知：楼栋长", "您已担任楼栋长。")
    batch = [
        FeedEntry(
            entry_id(member, f"e{i}", "appointed"),
            member,
            "appointed",
            f"e{i}",
            COMMUNITY,
            message,
            now - timedelta(seconds=i),
        )
        for i in range(n)
    ]
    for i in range(0, n, 500):
        await store.add_entries(batch[i : i + 500])
    for i in range(0, others, 5000):  # other members' entries in the same collection
        docs = [
            MongoFeedStore._document(
                FeedEntry(
                    entry_id(f"o{j}", "x", "appointed"), f"o{j}", "appointed", "x", COMMUNITY, message, now
                ),
                j,
            )
            for j in range(i, min(others, i + 5000))
        ]
        await store.entries.insert_many(docs, ordered=False)
    audiences = [f"person:{member}", f"community:{COMMUNITY}"]
    order = [("created_at", -1), ("_id", -1)]
    raw_query = {"member_id": member, "state": {"$in": [s.value for s in VISIBLE]}}
    raw: list[float] = []
    by_id: list[float] = []
    load_start = load()
    for _ in range(reads):  # the raw store operation: the same query as the page's own-entries read
        t = time.perf_counter()
        await store.entries.find(raw_query).sort(order).limit(21).to_list()
        raw.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        await store.entries.find_one({"_id": batch[0].id})
        by_id.append((time.perf_counter() - t) * 1000)
    first: list[float] = []
    deep: list[float] = []
    unread: list[float] = []
    for _ in range(reads):
        t = time.perf_counter()
        items, _ = await store.page(member, audiences, before=None, limit=20, category=None, states=VISIBLE)
        first.append((time.perf_counter() - t) * 1000)
    cursor_items, _ = await store.page(
        member, audiences, before=None, limit=100, category=None, states=VISIBLE
    )
    from civicgrid_notifications.service_layer.ports import PageCursor

    deep_cursor = PageCursor(batch[n // 2].created_at, batch[n // 2].id)
    for _ in range(reads):
        t = time.perf_counter()
        await store.page(member, audiences, before=deep_cursor, limit=20, category=None, states=VISIBLE)
        deep.append((time.perf_counter() - t) * 1000)
    for _ in range(reads):
        t = time.perf_counter()
        await store.unread_count(member, audiences)
        unread.append((time.perf_counter() - t) * 1000)
    del cursor_items, items
    first_p99, raw_p99 = pct(first, 0.99), pct(raw, 0.99)
    return {
        "entries": n,
        "other_members_entries_in_collection": others,
        "reads": reads,
        "first_page_ms": {"p50": pct(first, 0.5), "p99": first_p99},
        "raw_same_query_ms": {"p50": pct(raw, 0.5), "p99": raw_p99},
        "raw_find_one_by_id_ms": {"p50": pct(by_id, 0.5), "p99": pct(by_id, 0.99)},
        "ratio_first_page_p99_to_raw_query_p99": round(first_p99 / raw_p99, 2) if raw_p99 else None,
        "target": {"first_page_p99_ms_below": 100, "met": first_p99 < 100},
        "load": {"start": load_start, "end": load()},
        "middle_page_ms": {"p50": pct(deep, 0.5), "p99": pct(deep, 0.99)},
        "unread_count_ms": {"p50": pct(unread, 0.5), "p99": pct(unread, 0.99)},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def live_latency(kafka: str, mongo: str, database: str, events: int, rate: float) -> dict[str, Any]:
    keys = Path(tempfile.mkdtemp(prefix="bench-keys-"))
    port = free_port()
    settings = NotificationsSettings(
        kafka_bootstrap_servers=kafka,
        mongo_uri=mongo,
        mongo_database=database,
        keys_dir=keys,
        consumer_group=f"bench-notifications-{uuid.uuid4().hex[:8]}",
        consumer_offset_reset="latest",
        log_level="WARNING",
        log_json=False,
        stream_poll_interval_seconds=0.5,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started:
            break
        await asyncio.sleep(0.1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=True)
    await producer.start()
    issuer = TokenIssuer(keys, settings.jwt_issuer, settings.jwt_audience)
    person, community, org_id = (
        f"live-{uuid.uuid4().hex[:8]}",
        f"420106{uuid.uuid4().int % 900000 + 100000}",
        "org-bench",
    )
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def publish(membership: str) -> None:
        event = new_event(
            org.MembershipStarted(
                community_code=community,
                membership_id=membership,
                person_id=person,
                post="building_head",
                org_id=org_id,
                place_code=community,
                start_date=date(2025, 7, 1),
                basis=org.AppointmentBasis.ELECTION,
                basis_reference="bench",
                cross_appointment=False,
            ),
            source="/bench",
        )
        record = event.to_kafka()
        sent[membership] = time.perf_counter()
        await producer.send_and_wait(
            topic_for(event.type), record.value, key=record.key, headers=record.headers
        )

    received: asyncio.Queue[float] = asyncio.Queue()

    async def listen() -> None:
        headers = {"Authorization": "Bearer " + issuer.mint(person, [Role.MEMBER], person_id=person)}
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream(
                "GET", f"http://127.0.0.1:{port}/members/{person}/stream", headers=headers
            ) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data:") and '"item"' in line:
                    received.put_nowait(time.perf_counter())

    listener = asyncio.create_task(listen())
    try:
        warm = 0
        while received.empty():  # the consumer group joins at the latest offsets: warm up until it reads
            await publish(f"warm-{warm}")
            warm += 1
            try:
                await asyncio.wait_for(received.get(), timeout=2.0)
                break
            except TimeoutError:
                continue
        await asyncio.sleep(1.0)
        while not received.empty():
            received.get_nowait()
        for i in range(events):
            started = time.perf_counter()
            await publish(f"m{i}")
            arrived = await asyncio.wait_for(received.get(), timeout=30)
            latencies.append((arrived - sent[f"m{i}"]) * 1000)
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    finally:
        listener.cancel()
        await producer.stop()
        server.should_exit = True
        await task
    return {
        "events": events,
        "rate_per_s": rate,
        "path": "Kafka publish (org-graph fact) -> consumer -> feed entry -> SSE entry event",
        "latency_ms": {
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
            "max": round(max(latencies), 1),
        },
        "mean_ms": round(statistics.fmean(latencies), 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    kafka = os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    mongo = os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:27017")
    client = create_client(mongo, "bench-notifications")
    suffix = uuid.uuid4().hex[:8]
    names = [f"bench_notifications_{part}_{suffix}" for part in ("fanout", "broadcast", "pages", "live")]
    try:
        result: dict[str, Any] = {"server": {"kafka": kafka, "mongo": mongo}}
        parts = set(args.parts.split(","))
        if "fanout" in parts:
            result["personal_fan_out"] = await fan_out(client[names[0]], args.entries, args.recipients)
        if "broadcast" in parts:
            result["broadcast"] = await broadcast(client[names[1]], args.members)
        if "pages" in parts:
            result["feed_pages"] = await page_reads(
                client[names[2]], args.page_entries, args.reads, args.other_entries
            )
        if "live" in parts:
            result["live_stream"] = await live_latency(kafka, mongo, names[3], args.events, args.rate)
        return result
    finally:
        for name in names:
            await client.drop_database(name)
        await client.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--entries", type=int, default=20_000, help="personal feed entries to fan out")
    parser.add_argument("--recipients", type=int, default=500, help="recipients per event (batch size)")
    parser.add_argument("--members", type=int, default=100_000, help="members in the broadcast audience")
    parser.add_argument("--page-entries", type=int, default=1_000, help="entries in the paged feed")
    parser.add_argument("--reads", type=int, default=200, help="page reads measured")
    parser.add_argument(
        "--parts", default="fanout,broadcast,pages,live", help="which parts to run (comma-separated)"
    )
    parser.add_argument(
        "--other-entries", type=int, default=0, help="other members' entries in the feed collection"
    )
    parser.add_argument("--events", type=int, default=200, help="live events measured")
    parser.add_argument("--rate", type=float, default=5.0, help="live events per second")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), ensure_ascii=False, indent=2))
