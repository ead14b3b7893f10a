"""Kafka baseline: raw aiokafka produce -> consume vs. the project's broker factory (no-op handler).

    ./civicgrid bench kafka_baseline [--events N]      (servers are started if needed)

Prints JSON: flat-out throughput (events/s) for both paths with the ratio factory/raw, and
end-to-end latency p50/p99 (ms) for both paths at a steady rate below capacity (at full speed
latency only measures the backlog), with the ratios. Later benchmarks compare against these
figures in the same run.

Each path is timed from a settled consumer group (every member holds its partitions). The two paths
run alternately for ``--rounds`` rounds (default 3, order swapped every round) and the ratios are
the median over the rounds: on a machine shared with other work one round's ratio swings with the
load. Each flat-out figure also gives the process CPU time per event (``cpu_us_per_event``), which
other processes' load does not change much. ``targets`` says whether the median ratios meet
issue 12's bar (factory >= 0.8x raw flat out, p99 <= 1.5x raw at the steady rate).
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

THROUGHPUT_TARGET = 0.8
P99_TARGET = 1.5


@dataclass
class Figures:
    events: int
    seconds: float
    events_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    cpu_us_per_event: float


def _figures(latencies: list[float], seconds: float, cpu_seconds: float) -> Figures:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Figures(
        events=len(latencies),
        seconds=round(seconds, 3),
        events_per_second=round(len(latencies) / seconds, 1),
        latency_p50_ms=round(statistics.median(ordered) * 1000, 2),
        latency_p99_ms=round(p99 * 1000, 2),
        cpu_us_per_event=round(cpu_seconds / max(len(latencies), 1) * 1e6, 1),
    )


async def _pace(index: int, start: float, rate: float | None) -> None:
    """At a steady ``rate`` (events/s), wait until event ``index`` is due; flat out when None."""
    if rate:
        delay = start + index / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


async def _assigned(consumers: list[Any], timeout: float = 60.0) -> None:
    """Wait until every consumer has joined its group and holds partitions: both paths are timed
    from a settled group (the factory's subscriber and its redrive member join one group, which
    rebalances once while they start; that start-up cost is not throughput)."""
    deadline = time.monotonic() + timeout
    while any(c is not None and not c.assignment() for c in consumers):
        if time.monotonic() > deadline:
            raise TimeoutError("the consumers got no partitions")
        await asyncio.sleep(0.05)


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
    await _assigned([consumer])
    await asyncio.sleep(1.0)
    start, cpu = time.time(), time.process_time()
    futures = []
    for index in range(events):
        await _pace(index, start, rate)
        headers = [*template.headers, ("sent", str(time.time()).encode())]
        futures.append(await producer.send(topic, template.value, key=template.key, headers=headers))
    await asyncio.gather(*futures)
    await reader
    elapsed, cpu = time.time() - start, time.process_time() - cpu
    await producer.stop()
    await consumer.stop()
    return _figures(latencies, elapsed, cpu)


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
    await _assigned([getattr(sub, "consumer", None) for sub in broker.subscribers])
    await asyncio.sleep(1.0)
    publisher = KafkaEventPublisher(broker)
    start, cpu = time.time(), time.process_time()
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
    elapsed, cpu = time.time() - start, time.process_time() - cpu
    await stop_broker(broker)
    return _figures(latencies, elapsed, cpu)


async def _pair(bootstrap: str, events: int, rate: float | None, raw_first: bool) -> tuple[Figures, Figures]:
    if raw_first:
        raw = await raw_aiokafka(bootstrap, events, rate)
        return raw, await through_factory(bootstrap, events, rate)
    factory = await through_factory(bootstrap, events, rate)
    return await raw_aiokafka(bootstrap, events, rate), factory


def _median_round(rounds: list[dict[str, Any]], ratio: str) -> dict[str, Any]:
    """The round whose ratio is the median one (the lower middle for an even count)."""
    ordered = sorted(rounds, key=lambda r: r[ratio])
    return ordered[(len(ordered) - 1) // 2]


async def run(
    bootstrap: str, events: int, steady_rate: float, steady_seconds: float, rounds: int = 3
) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    steady: list[dict[str, Any]] = []
    steady_events = int(steady_rate * steady_seconds)
    for index in range(rounds):
        raw, factory = await _pair(bootstrap, events, None, raw_first=index % 2 == 0)
        flat.append(
            {
                "raw_aiokafka": asdict(raw),
                "broker_factory_noop_handler": asdict(factory),
                "ratio_factory_to_raw": round(factory.events_per_second / raw.events_per_second, 3),
                "cpu_ratio_raw_to_factory": round(raw.cpu_us_per_event / factory.cpu_us_per_event, 3),
            }
        )
    for index in range(rounds):
        raw_steady, factory_steady = await _pair(
            bootstrap, steady_events, steady_rate, raw_first=index % 2 == 0
        )
        steady.append(
            {
                "raw_aiokafka": asdict(raw_steady),
                "broker_factory_noop_handler": asdict(factory_steady),
                "ratio_factory_to_raw_p50": round(
                    factory_steady.latency_p50_ms / max(raw_steady.latency_p50_ms, 0.001), 2
                ),
                "ratio_factory_to_raw_p99": round(
                    factory_steady.latency_p99_ms / max(raw_steady.latency_p99_ms, 0.001), 2
                ),
            }
        )
    throughput = _median_round(flat, "ratio_factory_to_raw")
    latency = _median_round(steady, "ratio_factory_to_raw_p99")
    return {
        "benchmark": "kafka_baseline",
        "rounds": rounds,
        "throughput_flat_out": {
            **throughput,
            "ratio_factory_to_raw_each_round": [r["ratio_factory_to_raw"] for r in flat],
            "cpu_ratio_raw_to_factory_each_round": [r["cpu_ratio_raw_to_factory"] for r in flat],
        },
        f"latency_at_{steady_rate:g}_events_per_second": {
            **latency,
            "ratio_factory_to_raw_p99_each_round": [r["ratio_factory_to_raw_p99"] for r in steady],
        },
        "targets": {
            "throughput_ratio_at_least": THROUGHPUT_TARGET,
            "throughput_met": throughput["ratio_factory_to_raw"] >= THROUGHPUT_TARGET,
            "p99_ratio_at_most": P99_TARGET,
            "p99_met": latency["ratio_factory_to_raw_p99"] <= P99_TARGET,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default=os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--events", type=int, default=20_000, help="events for the flat-out run")
    parser.add_argument("--steady-rate", type=float, default=200.0, help="events/s for the latency run")
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; ratios are their median")
    args = parser.parse_args()
    figures = asyncio.run(
        run(args.bootstrap, args.events, args.steady_rate, args.steady_seconds, max(1, args.rounds))
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
