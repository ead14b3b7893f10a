"""The transactional outbox: a relay killed between publish and mark re-publishes; the effect happens once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.org import PlaceRegistered
from civicgrid_runtime.kafka import EventRoutes, KafkaEventPublisher, create_broker, subscribe_events
from civicgrid_runtime.outbox import OutboxRelay, PendingEvent
from civicgrid_runtime.settings import ServiceSettings
from civicgrid_runtime.stores.neo4j import Neo4jOutboxStore, claim_event
from tests.integration.orggraph.conftest import Api, NewCommunity
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration
PLACES_TOPIC = "civicgrid.org.places.v1"


class _OnlyOurs:
    """The outbox seen through one community's events; the first ``mark_published`` can crash."""

    def __init__(self, inner: Neo4jOutboxStore, community: str, crash: bool) -> None:
        self.inner, self.community, self.crash = inner, community, crash

    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        return [p for p in await self.inner.fetch_pending(100_000) if p.event.partitionkey == self.community][
            :limit
        ]

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None:
        if self.crash:
            self.crash = False
            raise ConnectionError("relay killed after publishing, before marking")
        await self.inner.mark_published(entries)


async def test_a_relay_killed_between_publish_and_mark_republishes_and_the_effect_happens_once(
    api: Api, new_community: NewCommunity, neo4j_driver, kafka_bootstrap, unique
):
    c = await new_community()
    compound = f"{c.code}-C{unique[:6]}"
    await api.ok(
        "POST", "/places", {"kind": "compound", "code": compound, "parent_code": c.code, "name": "杀进程小区"}
    )

    deliveries: list[str] = []

    async def effect(event: CloudEvent) -> None:
        if event.partitionkey != c.code or event.data.get("code") != compound:
            return
        deliveries.append(event.id)

        async def apply(tx) -> None:
            if not await claim_event(tx, f"test-{unique}", event.id):
                return
            await (
                await tx.run(
                    "MERGE (n:OutboxTestEffect {id: $id}) SET n.count = coalesce(n.count, 0) + 1", id=unique
                )
            ).consume()

        async with neo4j_driver.session() as session:
            await session.execute_write(apply)

    broker = create_broker(
        ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, service_name="outbox-test")
    )
    subscribe_events(
        broker,
        topics=[PLACES_TOPIC],
        group_id=f"outbox-test-{unique}",
        routes=EventRoutes({PlaceRegistered.event_type: effect}),
    )
    await broker.start()
    try:
        store = Neo4jOutboxStore(neo4j_driver)
        publisher = KafkaEventPublisher(broker)
        with pytest.raises(ConnectionError):
            await OutboxRelay(_OnlyOurs(store, c.code, crash=True), publisher).run_once()
        restarted = OutboxRelay(_OnlyOurs(store, c.code, crash=False), publisher)
        assert await restarted.drain() >= 1, "the restarted relay publishes the unmarked entries again"
        assert await restarted.drain() == 0
        assert await wait_for(lambda: len(deliveries) == 2, timeout=60)
        await asyncio.sleep(0.5)
    finally:
        await broker.stop()
    assert len(set(deliveries)) == 1, "the same event (one id) was delivered twice"
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (n:OutboxTestEffect {id: $id}) RETURN n.count AS count", id=unique
    )
    assert records[0]["count"] == 1, "and its effect happened once"


async def test_a_rejected_write_leaves_no_outbox_entry(api: Api, new_community: NewCommunity, neo4j_driver):
    c = await new_community()
    response = await api.post(
        "/organisations", {"kind": "owners_committee", "place_code": c.code, "name": "错"}
    )
    assert response.status_code == 422
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $code AND o.event CONTAINS 'organisation.formed' "
        "RETURN count(o) AS n",
        code=c.code,
    )
    assert records[0]["n"] == 0
