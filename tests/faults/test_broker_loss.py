"""A three-broker KRaft cluster of its own loses a broker under steady load: nothing acknowledged is lost
and no consumer stalls for more than 30 s.

The cluster runs in ``<state>/broker-loss`` on ports 39292-39297 (node i: 39292 + 2(i-1), controller one
above), never the shared test or faults stacks; it is made afresh for the run and wiped after. Topics are
created by the runtime's ``ensure_topics``, which gives them 3 replicas and ``min.insync.replicas=2`` on a
cluster of three; the producer is the runtime's (idempotent, ``acks=all``), the consumer the runtime's
batched at-least-once consumer. Halfway through the load the leader of partition 0 is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from civicgrid_contracts.catalogue import topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.kafka import (
    EventRoutes,
    KafkaEventPublisher,
    create_broker,
    stop_broker,
    subscribe_events,
)
from civicgrid_runtime.kafka.topics import ensure_topics
from civicgrid_runtime.settings import ServiceSettings
from civicgrid_runtime.topic_names import TopicNames
from deploy.local import processes
from deploy.local import servers as local_servers
from deploy.local.base import no_report
from deploy.local.config import Settings
from deploy.local.kafka import KafkaServer
from tests.support.events import POPULATION_REPORTED, population_reported

pytestmark = pytest.mark.faults

BASE_PORT = 39292
RATE = 100  # events per second, steady
BEFORE_KILL, AFTER_KILL = 10.0, 20.0  # seconds of load on either side of the kill
STALL_LIMIT = 30.0


def cluster_settings() -> Settings:
    dev = Settings.from_env()
    return replace(
        dev,
        state_dir=dev.state_dir / "broker-loss",
        kafka_port=BASE_PORT,
        kafka_controller_port=BASE_PORT + 1,
        neo4j_port=BASE_PORT + 10,  # not started: only kept apart from the Kafka ports
        mongo_port=BASE_PORT + 11,
        kafka_brokers=3,
    )


def kill_all(settings: Settings) -> None:
    for server in local_servers.make_servers(["kafka"], settings):
        pid = processes.read_pid(server.pid_path)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        server.pid_path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Settings]:
    settings = cluster_settings()
    kill_all(settings)
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    started = time.monotonic()
    await asyncio.to_thread(local_servers.up, ["kafka"], settings=settings, report=no_report, timeout=150)
    print(f"\nthree-broker cluster up in {time.monotonic() - started:.1f} s: {settings.kafka_bootstrap}")
    try:
        yield settings
    finally:
        kill_all(settings)  # a cluster that lost a node may not stop cleanly; it is wiped anyway
        shutil.rmtree(settings.state_dir, ignore_errors=True)


async def describe(bootstrap: str, topic: str) -> tuple[dict[int, tuple[int, list[int]]], str]:
    """Per partition (leader, replicas), and the topic's min.insync.replicas."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        partitions = {p["partition"]: (p["leader"], list(p["replicas"])) for p in described["partitions"]}
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {row[0]: row[1] for row in response.resources[0][4]}
        return partitions, entries["min.insync.replicas"]
    finally:
        await admin.close()


async def test_killing_one_of_three_brokers_under_steady_load_loses_nothing_and_stalls_no_consumer(
    cluster: Settings, unique: str
) -> None:
    bootstrap = cluster.kafka_bootstrap
    catalogue_topic = topic_for(POPULATION_REPORTED)
    settings = ServiceSettings(
        kafka_bootstrap_servers=bootstrap, service_name="broker-loss", topic_suffix=f".bl{unique}"
    )
    topic = TopicNames(settings.topic_suffix).name(catalogue_topic)
    await ensure_topics(bootstrap, [catalogue_topic], topics=settings.topic_names())
    partitions, min_isr = await describe(bootstrap, topic)
    assert {len(replicas) for _, replicas in partitions.values()} == {3}
    assert min_isr == "2"

    received: dict[str, float] = {}
    arrivals: list[float] = []

    async def handle(event: CloudEvent) -> None:
        now = time.monotonic()
        arrivals.append(now)
        received.setdefault(event.id, now)

    consumer = create_broker(settings)
    subscribe_events(
        consumer,
        topics=[catalogue_topic],
        group_id=f"broker-loss-{unique}",
        routes=EventRoutes({POPULATION_REPORTED: handle}),
        redrive=False,
    )
    producer = create_broker(settings)
    await consumer.start()
    await producer.start()
    publisher = KafkaEventPublisher(producer)
    acked: dict[str, float] = {}
    failed: list[str] = []

    async def send(event: CloudEvent) -> None:
        try:
            await publisher.publish(event)
            acked[event.id] = time.monotonic()
        except Exception as error:
            failed.append(f"{type(error).__name__}: {error}")

    try:
        warm_up = population_reported(residents=0)
        await send(warm_up)
        deadline = time.monotonic() + 60
        while warm_up.id not in received:  # the group has joined and reads
            assert time.monotonic() < deadline, "the consumer never read the warm-up event"
            await asyncio.sleep(0.1)

        victim_node = partitions[0][0]
        victim = next(
            s
            for s in local_servers.make_servers(["kafka"], cluster)
            if isinstance(s, KafkaServer) and s.node_id == victim_node
        )
        sends: list[asyncio.Task[None]] = []
        load_started = time.monotonic()
        killed_at = 0.0
        total = int(RATE * (BEFORE_KILL + AFTER_KILL))
        for i in range(total):
            due = load_started + i / RATE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not killed_at and time.monotonic() - load_started >= BEFORE_KILL:
                pid = processes.read_pid(victim.pid_path)
                assert pid is not None
                os.killpg(pid, signal.SIGKILL)
                killed_at = time.monotonic()
            sends.append(asyncio.create_task(send(population_reported(residents=i + 1))))
        await asyncio.gather(*sends)
        load_ended = time.monotonic()

        deadline = time.monotonic() + 60
        while not set(acked) <= set(received) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await stop_broker(producer)
        await stop_broker(consumer)

    lost = set(acked) - set(received)
    window = [t for t in arrivals if load_started <= t]
    gaps = [b - a for a, b in zip([load_started, *window], window, strict=False)]
    stall = max(gaps, default=float("inf"))
    latencies = sorted(received[i] - acked[i] for i in acked if i in received)
    after_kill = [received[i] for i in acked if i in received and received[i] > killed_at]
    print(
        f"\nbroker loss: killed node {victim_node} (leader of partition 0) after "
        f"{killed_at - load_started:.1f} s of {RATE}/s; sent {total}, acknowledged {len(acked) - 1}, "
        f"refused {len(failed)}, lost {len(lost)}, "
        f"duplicates {len(arrivals) - len(received)}; longest consumer gap {stall:.2f} s; first record "
        f"consumed after the kill {min(after_kill, default=float('nan')) - killed_at:.2f} s after it; "
        f"ack-to-consume p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1]:.2f} s; "
        f"load {load_ended - load_started:.1f} s"
    )
    assert failed == []
    assert len(acked) == total + 1
    assert lost == set()
    assert stall < STALL_LIMIT
