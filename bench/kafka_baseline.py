"""Kafka baseline: raw aiokafka produce -> consume vs. the project's broker factory (no-op handler).

    ./civicgrid bench kafka_baseline [--events N]      (servers are started if needed)

Prints JSON: flat-out throughput (events/s) for both paths with the ratio factory/raw, and
end-to-end latency p50/p99 (ms) for both paths at a steady rate below capacity (at full speed
latency only measures the backlog), with the ratios. Later benchmarks compare against these
figures in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.kafka import (
    EventRoutes,
    KafkaEventPublisher,
    create_broker,
    stop_broker,
    subscribe_events,
)
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED, population_reported
from tests.support.kafka import create_topics


@dataclass
class Figures:
    events: int
    seconds: float
    events_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float


def _figures(latencies: list[float], seconds: float) -> Figures:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Figures(
        events=len(latencies),
        seconds=round(seconds, 3),
        events_per_second=round(len(latencies) / seconds, 1),
        latency_p50_ms=round(statistics.median(ordered) * 1000, 2),
        latency_p99_ms=round(p99 * 1000, 2),
    )


async def _pace(index: int, start: float, rate: float | None) -> None:
    """At a steady ``rate`` (events/s), wait until event ``index`` is due; flat out when None."""
    if rate:
        delay = start + index / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


async def raw_aiokafka(bootstrap: str, events: int, rate: float | None = None) -> Figures:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, topic, partitions=3)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    template = population_reported().to_kafka()
    latencies: list[float] = []

    async def consume() -> None:
        async for record in consumer:
            sent = float(dict(record.headers)["sent"].decode())
            latencies.append(time.time() - sent)
            if len(latencies) >= events:
                return

    reader = asyncio.create_task(consume())
    await asyncio.sleep(1.0)
    start = time.time()
    futures = []
    for index in range(events):
        await _pace(index, start, rate)
        headers = [*template.headers, ("sent", str(time.time()).encode())]
        futures.append(await producer.send(topic, template.value, key=template.key, headers=headers))
    await asyncio.gather(*futures)
    await reader
    elapsed = time.time() - start
    await producer.stop()
    await consumer.stop()
    return _figures(latencies, elapsed)


async def through_factory(bootstrap: str, events: int, rate: float | None = None) -> Figures:
    topic = f"bench.factory.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, topic, partitions=3)
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers=bootstrap, service_name="bench"))
    latencies: list[float] = []
    done = asyncio.Event()

    async def noop(event: CloudEvent) -> None:
        latencies.append(time.time() - event.time.timestamp())
        if len(latencies) >= events:
            done.set()

    subscribe_events(
        broker, topics=[topic], group_id=f"factory-{topic}", routes=EventRoutes({POPULATION_REPORTED: noop})
    )
    await broker.start()
    await asyncio.sleep(1.0)
    publisher = KafkaEventPublisher(broker)
    start = time.time()
    batch: list[tuple[str, CloudEvent]] = []
    size = 500 if rate is None else 1
    for index in range(events):
        await _pace(index, start, rate)
        batch.append((topic, population_reported()))
        if len(batch) == size:
            await publisher.publish_many(batch)
            batch = []
    if batch:
        await publisher.publish_many(batch)
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.time() - start
    await stop_broker(broker)
    return _figures(latencies, elapsed)


async def run(bootstrap: str, events: int, steady_rate: float, steady_seconds: float) -> dict[str, Any]:
    raw = await raw_aiokafka(bootstrap, events)
    factory = await through_factory(bootstrap, events)
    steady_events = int(steady_rate * steady_seconds)
    raw_steady = await raw_aiokafka(bootstrap, steady_events, steady_rate)
    factory_steady = await through_factory(bootstrap, steady_events, steady_rate)
    return {
        "benchmark": "kafka_baseline",
        "throughput_flat_out": {
            "raw_aiokafka": asdict(raw),
            "broker_factory_noop_handler": asdict(factory),
            "ratio_factory_to_raw": round(factory.events_per_second / raw.events_per_second, 3),
        },
        f"latency_at_{steady_rate:g}_events_per_second": {
            "raw_aiokafka": asdict(raw_steady),
            "broker_factory_noop_handler": asdict(factory_steady),
            "ratio_factory_to_raw_p50": round(
                factory_steady.latency_p50_ms / max(raw_steady.latency_p50_ms, 0.001), 2
            ),
            "ratio_factory_to_raw_p99": round(
                factory_steady.latency_p99_ms / max(raw_steady.latency_p99_ms, 0.001), 2
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default=os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--events", type=int, default=20_000, help="events for the flat-out run")
    parser.add_argument("--steady-rate", type=float, default=200.0, help="events/s for the latency run")
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    args = parser.parse_args()
    figures = asyncio.run(run(args.bootstrap, args.events, args.steady_rate, args.steady_seconds))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
