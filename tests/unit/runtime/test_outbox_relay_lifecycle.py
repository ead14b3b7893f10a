"""The outbox relay stops when asked, whatever it was doing; each group has its redrive topic."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import redrive_topic
from civicgrid_runtime.kafka.consumer import EventRoutes, subscribe_events
from civicgrid_runtime.kafka.topics import redrive_topics_of
from civicgrid_runtime.outbox import OutboxRelay, PendingEvent


class EmptyStore:
    def __init__(self) -> None:
        self.fetches = 0

    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        self.fetches += 1
        return []

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None:
        raise AssertionError("nothing was pending")


class NoPublisher:
    async def publish_many(self, items: object) -> None:
        raise AssertionError("nothing was pending")


async def test_a_relay_woken_again_and_again_still_stops_when_asked() -> None:
    store = EmptyStore()
    relay = OutboxRelay(store, NoPublisher(), poll_interval=0.01)
    relay.start()
    for _ in range(50):
        relay.notify()
        await asyncio.sleep(0)
    await asyncio.wait_for(relay.stop(), timeout=5)
    fetched = store.fetches
    await asyncio.sleep(0.05)
    assert store.fetches == fetched, "the relay kept polling after stop()"
    assert fetched > 0


async def test_stopping_a_relay_that_never_started_does_nothing() -> None:
    relay = OutboxRelay(EmptyStore(), NoPublisher())
    await relay.stop()


def test_the_redrive_topics_of_a_broker_are_those_of_its_groups() -> None:
    broker = KafkaBroker("127.0.0.1:1")
    subscribe_events(broker, topics=["civicgrid.org.places.v1"], group_id="group-a", routes=EventRoutes())
    subscribe_events(
        broker, topics=["civicgrid.org.people.v1"], group_id="group-b", routes=EventRoutes(), redrive=False
    )
    assert redrive_topics_of(broker) == [redrive_topic("group-a")]
