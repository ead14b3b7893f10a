"""Raw baselines the notifications benchmarks compare against, measured in the same run.

Not a benchmark of its own: helpers for ``notifications_e2e_latency``, ``notifications_feed``,
``notifications_broadcast`` and ``notifications_push``. Every figure is taken on the shared machine next
to the figure it is compared with, and each result carries the load average read at that moment.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.support.kafka import create_topics


def load() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (2 cores, shared)."""
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def pct(values: list[float], q: float, digits: int = 1) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], digits)


def summary(values: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "p50": pct(values, 0.5, digits),
        "p90": pct(values, 0.9, digits),
        "p99": pct(values, 0.99, digits),
        "max": round(max(values), digits),
    }


async def kafka_hop(bootstrap: str, events: int, rate: float) -> dict[str, Any]:
    """One raw aiokafka hop (``acks=all`` produce -> a group consumer's ``getmany``), paced at ``rate``
    events/s: the broker operation every fact crosses (org-graph's relay -> notifications' consumer)."""
    topic = f"bench.notifications.raw.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, topic, partitions=1)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"raw-{topic}", auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    latencies: list[float] = []
    try:
        for _ in range(1200):  # until the group has assigned the partition
            if consumer.assignment():
                break
            await asyncio.sleep(0.05)

        async def consume() -> None:
            async for record in consumer:
                latencies.append((time.time() - float(record.value or b"0")) * 1000)
                if len(latencies) >= events:
                    return

        reader = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        start = time.time()
        for i in range(events):
            delay = start + i / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(topic, str(time.time()).encode())
        await asyncio.wait_for(reader, timeout=60)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"events": len(latencies), "rate_per_s": rate, "latency_ms": summary(latencies), "load": load()}


async def store_round_trips(db: Any, n: int) -> dict[str, Any]:
    """Raw FerretDB/MongoDB operations: ``insert_one`` and ``find_one`` by ``_id``, one at a time."""
    collection = db[f"raw_{uuid.uuid4().hex[:8]}"]
    inserts: list[float] = []
    finds: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        await collection.insert_one({"_id": f"r{i}", "member_id": "m", "seq": i, "title": "通知"})
        inserts.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        await collection.find_one({"_id": f"r{i}"})
        finds.append((time.perf_counter() - t) * 1000)
    await collection.drop()
    return {"insert_one_ms": summary(inserts), "find_one_by_id_ms": summary(finds), "load": load()}
