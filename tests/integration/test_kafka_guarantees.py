"""The broker factory's guarantees against a real Kafka broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.municipal import PopulationReported
from civicgrid_runtime.correlation import bind_correlation_id, current_correlation_id
from civicgrid_runtime.errors import PermanentFailure
from civicgrid_runtime.events import make_event
from civicgrid_runtime.kafka import (
    EventRoutes,
    KafkaEventPublisher,
    create_broker,
    stop_broker,
    subscribe_events,
)
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED, population_reported
from tests.support.kafka import committed_offset, create_topics, read_all, send_raw, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=bootstrap, service_name="tests", consumer_retry_backoff_seconds=0.05
    )


def _spawn(bootstrap: str, topic: str, group: str, journal: Path, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.consumer_process",
            bootstrap,
            topic,
            group,
            str(journal),
            mode,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )


def _journal(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_an_event_whose_consumer_is_killed_mid_handler_is_redelivered_not_lost(
    kafka_bootstrap, unique, tmp_path
):
    topic, group = f"test.kill.{unique}", f"kill-{unique}"
    await create_topics(kafka_bootstrap, topic)
    broker = create_broker(_settings(kafka_bootstrap))
    await broker.start()
    event = population_reported()
    await KafkaEventPublisher(broker).publish(event, topic=topic)
    await stop_broker(broker)

    first_journal, second_journal = tmp_path / "first.log", tmp_path / "second.log"
    first = _spawn(kafka_bootstrap, topic, group, first_journal, "hang")
    try:
        assert await wait_for(lambda: f"started {event.id}" in _journal(first_journal), timeout=60)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert f"done {event.id}" not in _journal(first_journal)
    assert await committed_offset(kafka_bootstrap, group, topic) in (None, -1, 0)

    second = _spawn(kafka_bootstrap, topic, group, second_journal, "finish")
    try:
        assert await wait_for(lambda: f"done {event.id}" in _journal(second_journal), timeout=60)
        assert await wait_for(lambda: committed_offset(kafka_bootstrap, group, topic), timeout=15), (
            "the offset is committed once the handler succeeded"
        )
        assert await committed_offset(kafka_bootstrap, group, topic) == 1
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait()


async def test_a_handler_that_succeeds_has_its_offset_committed_after_it_returns(kafka_bootstrap, unique):
    topic, group = f"test.commit.{unique}", f"commit-{unique}"
    await create_topics(kafka_bootstrap, topic)
    offsets_seen_inside_handler: list[int | None] = []
    handled = asyncio.Event()

    async def handle(event: CloudEvent) -> None:
        offsets_seen_inside_handler.append(await committed_offset(kafka_bootstrap, group, topic))
        handled.set()

    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: handle})
    )
    await broker.start()
    try:
        await KafkaEventPublisher(broker).publish(population_reported(), topic=topic)
        await asyncio.wait_for(handled.wait(), 30)
        assert await wait_for(lambda: _is_one(committed_offset(kafka_bootstrap, group, topic)), timeout=15)
    finally:
        await stop_broker(broker)
    assert offsets_seen_inside_handler[0] in (None, -1, 0), "nothing is committed while the handler runs"


async def _is_one(offset_coroutine) -> bool:
    return bool(await offset_coroutine == 1)


async def test_malformed_and_failing_events_are_dead_lettered_with_a_reason_and_the_next_is_processed(
    kafka_bootstrap, unique
):
    topic, group = f"test.dlq.{unique}", f"dlq-{unique}"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    attempts: dict[str, int] = {}
    processed: list[str] = []

    async def handle(event: CloudEvent) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        if event.data["residents"] == 666:
            raise RuntimeError("statistics store rejected the figures")
        if event.data["residents"] == 777:
            raise PermanentFailure("community 420106002099 is unknown")
        processed.append(event.id)

    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: handle})
    )
    await broker.start()
    try:
        publisher = KafkaEventPublisher(broker)
        await send_raw(kafka_bootstrap, topic, b"{not json", key=b"420106002003")
        failing, permanent, good = (
            population_reported(residents=666),
            population_reported(residents=777),
            population_reported(),
        )
        for event in (failing, permanent, good):
            await publisher.publish(event, topic=topic)
        assert await wait_for(lambda: good.id in processed, timeout=60)
        dead = await read_all(kafka_bootstrap, f"{topic}.dlq", expected=3, timeout=30)
    finally:
        await stop_broker(broker)

    reasons = [dict(r.headers)["x-dlq-reason"].decode() for r in dead]
    assert len(dead) == 3
    assert "ce_" in reasons[0] or "header" in reasons[0], reasons[0]
    assert reasons[1] == "statistics store rejected the figures"
    assert dict(dead[1].headers)["x-dlq-attempts"] == b"3"
    assert attempts[failing.id] == 3, "bounded retries before giving up"
    assert reasons[2] == "community 420106002099 is unknown"
    assert attempts[permanent.id] == 1, "a permanent failure is not retried"
    assert dict(dead[0].headers)["x-dlq-original-topic"].decode() == topic
    assert dead[1].value == failing.to_kafka().value, "the original payload is kept"
    assert await committed_offset(kafka_bootstrap, group, topic) == 4


async def test_the_correlation_id_of_an_event_is_bound_while_its_handler_runs(kafka_bootstrap, unique):

    topic, group = f"test.corr.{unique}", f"corr-{unique}"
    await create_topics(kafka_bootstrap, topic)
    seen: list[str | None] = []

    async def handle(event: CloudEvent) -> None:
        seen.append(current_correlation_id())

    bind_correlation_id(f"req-{unique}")
    event = make_event(
        PopulationReported(community_code="420106002003", as_of=date(2025, 6, 30), residents=1, households=1),
        source="/civicgrid/tests",
    )
    assert event.correlationid == f"req-{unique}"
    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: handle})
    )
    await broker.start()
    try:
        bind_correlation_id("something-else")
        await KafkaEventPublisher(broker).publish(event, topic=topic)
        assert await wait_for(lambda: bool(seen), timeout=30)
    finally:
        await stop_broker(broker)
    assert seen == [f"req-{unique}"]


async def test_a_batched_commit_never_covers_a_record_whose_handler_is_still_running(kafka_bootstrap, unique):
    topic, group = f"test.batch.{unique}", f"batch-{unique}"
    await create_topics(kafka_bootstrap, topic)
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        if event.data["residents"] == 2:
            await release.wait()
        handled.append(event.data["residents"])

    settings = _settings(kafka_bootstrap).model_copy(update={"consumer_commit_interval_seconds": 0.1})
    broker = create_broker(settings)
    routes = EventRoutes({POPULATION_REPORTED: handle})
    subscribe_events(broker, topics=[topic], group_id=group, routes=routes)
    await broker.start()
    try:
        publisher = KafkaEventPublisher(broker)
        await publisher.publish_many([(topic, population_reported(residents=n)) for n in (1, 2)])
        assert await wait_for(lambda: handled == [1], timeout=30)
        assert await wait_for(lambda: _is_one(committed_offset(kafka_bootstrap, group, topic)), timeout=15)
        await asyncio.sleep(0.5)  # several flush intervals pass while record 2 is in its handler
        assert await committed_offset(kafka_bootstrap, group, topic) == 1
        release.set()
        assert await wait_for(lambda: handled == [1, 2], timeout=30)
        assert await wait_for(lambda: _is_two(committed_offset(kafka_bootstrap, group, topic)), timeout=15)
    finally:
        release.set()
        await stop_broker(broker)


async def _is_two(offset_coroutine) -> bool:
    return bool(await offset_coroutine == 2)


async def test_several_consumers_of_one_group_share_the_partitions_and_handle_every_event_once(
    kafka_bootstrap, unique
):
    topic, group = f"test.shared.{unique}", f"shared-{unique}"
    await create_topics(kafka_bootstrap, topic, partitions=6)
    handled: list[str] = []
    partitions_seen: set[int] = set()
    in_flight, most_in_flight = 0, 0
    events = [population_reported(community_code=f"420106002{i:03d}") for i in range(60)]

    async def handle(event: CloudEvent) -> None:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.02)
        handled.append(event.id)
        in_flight -= 1

    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker,
        topics=[topic],
        group_id=group,
        routes=EventRoutes({POPULATION_REPORTED: handle}),
        consumers=3,
    )
    await broker.start()
    try:
        publisher = KafkaEventPublisher(broker)
        for event in events:
            await publisher.publish(event, topic=topic)
        assert await wait_for(lambda: len(handled) >= len(events), timeout=60)
        for record in await read_all(kafka_bootstrap, topic, len(events)):
            partitions_seen.add(record.partition)
    finally:
        await stop_broker(broker)
    assert sorted(handled) == sorted(e.id for e in events)
    assert len(partitions_seen) > 1
    assert most_in_flight > 1, "the consumers handle records at the same time"


def test_several_consumers_in_one_process_need_exactly_one_topic() -> None:
    broker = create_broker(_settings("127.0.0.1:1"))
    with pytest.raises(ValueError, match="exactly one topic"):
        subscribe_events(broker, topics=["a", "b"], group_id="g", routes=EventRoutes({}), consumers=2)
