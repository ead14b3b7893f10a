"""Consumers on a real broker hold their partition through a store outage and lose nothing."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from pymongo.errors import AutoReconnect

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.http import HealthChecks, create_service_app
from civicgrid_runtime.kafka import (
    EventRoutes,
    KafkaEventPublisher,
    create_broker,
    stop_broker,
    subscribe_events,
)
from civicgrid_runtime.kafka.broker import consumer_stalls
from civicgrid_runtime.kafka.stalls import ConsumerStalled
from civicgrid_runtime.service import ServiceLifecycle
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED, population_reported
from tests.support.kafka import committed_offset, create_topics, read_all, wait_for

pytestmark = pytest.mark.integration


def _settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=bootstrap,
        service_name="tests",
        consumer_max_attempts=2,
        consumer_transient_backoff_seconds=0.05,
        consumer_transient_backoff_cap_seconds=0.4,
        consumer_commit_interval_seconds=0.1,
    )


class Store:
    """A store that is down until told otherwise."""

    def __init__(self) -> None:
        self.up = asyncio.Event()
        self.tries: dict[str, int] = {}
        self.stored: list[str] = []

    async def save(self, event: CloudEvent) -> None:
        self.tries[event.id] = self.tries.get(event.id, 0) + 1
        if not self.up.is_set():
            raise AutoReconnect("connection closed")
        self.stored.append(event.id)


def _subscribe(broker: object, topic: str, group: str, store: Store) -> None:
    routes = EventRoutes({POPULATION_REPORTED: store.save})
    subscribe_events(broker, topics=[topic], group_id=group, routes=routes)  # type: ignore[arg-type]


async def _stalled(broker: object) -> bool:
    try:
        await consumer_stalls(broker).probe()  # type: ignore[arg-type]
    except ConsumerStalled:
        return True
    return False


async def test_an_outage_holds_the_partition_and_every_event_is_stored_once_it_ends(kafka_bootstrap, unique):
    topic, group = f"test.outage.{unique}", f"outage-{unique}"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    store = Store()
    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: store.save})
    )
    await broker.start()
    events = [population_reported(residents=n) for n in (1, 2, 3)]
    try:
        await KafkaEventPublisher(broker).publish_many([(topic, e) for e in events])
        assert await wait_for(lambda: store.tries.get(events[0].id, 0) >= 5, timeout=60)
        assert await _stalled(broker), "readiness says 503 while the consumer is stalled"
        assert store.tries.get(events[1].id) is None, "the partition is held: nothing after it is read"
        assert await committed_offset(kafka_bootstrap, group, topic) in (None, -1, 0)
        store.up.set()
        assert await wait_for(lambda: len(store.stored) == 3, timeout=60)
        assert await wait_for(lambda: _offset_is(kafka_bootstrap, group, topic, 3), timeout=30)
        assert not await _stalled(broker)
    finally:
        store.up.set()
        await stop_broker(broker)
    assert store.stored == [e.id for e in events], "in order, each once"
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", expected=1, timeout=3) == [], (
        "nothing dead-lettered"
    )


async def _offset_is(bootstrap: str, group: str, topic: str, wanted: int) -> bool:
    return await committed_offset(bootstrap, group, topic) == wanted


async def test_a_stall_longer_than_the_poll_interval_keeps_the_consumer_in_its_group(kafka_bootstrap, unique):
    """aiokafka leaves the group of a consumer that does not poll for max_poll_interval_ms; the record
    would then be handled again after the rejoin. The stalled consumer keeps polling instead."""
    topic, group = f"test.longstall.{unique}", f"longstall-{unique}"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    store = Store()
    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker,
        topics=[topic],
        group_id=group,
        routes=EventRoutes({POPULATION_REPORTED: store.save}),
        max_poll_interval_ms=2000,
        redrive=False,
    )
    await broker.start()
    event = population_reported()
    try:
        await KafkaEventPublisher(broker).publish(event, topic=topic)
        assert await wait_for(lambda: store.tries.get(event.id, 0) >= 1, timeout=60)
        await asyncio.sleep(6)  # three poll intervals with the store down
        store.up.set()
        assert await wait_for(lambda: _offset_is(kafka_bootstrap, group, topic, 1), timeout=30)
        await asyncio.sleep(3)  # a re-read after a rejoin would show up here
    finally:
        store.up.set()
        await stop_broker(broker)
    assert store.stored == [event.id], "handled exactly once"


async def test_a_consumer_stalled_on_an_outage_stops_and_its_record_is_read_again(kafka_bootstrap, unique):
    topic, group = f"test.stopstall.{unique}", f"stopstall-{unique}"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    down = Store()
    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: down.save})
    )
    await broker.start()
    event = population_reported()
    await KafkaEventPublisher(broker).publish(event, topic=topic)
    assert await wait_for(lambda: down.tries.get(event.id, 0) >= 3, timeout=60)
    await asyncio.wait_for(stop_broker(broker), timeout=30)  # cancellation is honoured while retrying
    assert await committed_offset(kafka_bootstrap, group, topic) in (None, -1, 0)

    up = Store()
    up.up.set()
    again = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        again, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: up.save})
    )
    await again.start()
    try:
        assert await wait_for(lambda: up.stored == [event.id], timeout=60)
    finally:
        await stop_broker(again)


async def test_a_started_service_reports_its_stalled_consumers_in_readiness(kafka_bootstrap, unique):
    settings = _settings(kafka_bootstrap)
    topic, group = f"test.ready.{unique}", f"ready-{unique}"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    store = Store()
    broker = create_broker(settings)
    _subscribe(broker, topic, group, store)
    lifecycle = ServiceLifecycle(settings=settings, broker=broker)
    app = create_service_app("t", "t", HealthChecks(), lifespan=lifecycle.lifespan)
    async with lifecycle.lifespan(app):
        assert (await app.state.health.run())["consumers"] == "ok"
        await KafkaEventPublisher(broker).publish(population_reported(), topic=topic)
        assert await wait_for(lambda: len(store.tries) == 1, timeout=60)
        assert await wait_for(lambda: _check_mentions(app, group), timeout=30)
        store.up.set()
        assert await wait_for(lambda: _check_is_ok(app), timeout=30)


async def _check_mentions(app: FastAPI, group: str) -> bool:
    return f"consumer group {group} stalled since" in (await app.state.health.run())["consumers"]


async def _check_is_ok(app: FastAPI) -> bool:
    return bool((await app.state.health.run())["consumers"] == "ok")
