"""Real Neo4j and MongoDB-protocol servers through the runtime's store helpers and the outbox relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
from pymongo.errors import DuplicateKeyError

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.idempotency import idempotent
from civicgrid_runtime.kafka import (
    EventRoutes,
    KafkaEventPublisher,
    create_broker,
    stop_broker,
    subscribe_events,
)
from civicgrid_runtime.outbox import OutboxRelay, PendingEvent
from civicgrid_runtime.settings import ServiceSettings
from civicgrid_runtime.stores.mongo import MongoEmbeddedOutbox, MongoInbox, new_document_outbox, outbox_update
from civicgrid_runtime.stores.neo4j import Neo4jOutboxStore, append_outbox, ensure_schema
from tests.support.events import POPULATION_REPORTED, population_reported
from tests.support.kafka import create_topics, read_all, wait_for

pytestmark = pytest.mark.integration


async def test_a_node_written_to_neo4j_reads_back(neo4j_driver, unique):
    await neo4j_driver.execute_query("CREATE (:RoundTrip {id: $id, name: $name})", id=unique, name="闸口社区")
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (n:RoundTrip {id: $id}) RETURN n.name AS name", id=unique
    )
    assert [r["name"] for r in records] == ["闸口社区"]


async def test_a_unique_index_rejects_a_duplicate_on_the_mongodb_protocol_server(mongo_client, unique):
    collection = mongo_client[f"t_{unique}"]["people"]
    await collection.create_index("id_hash", unique=True)
    await collection.insert_one({"id_hash": "abc", "name": "张三"})
    with pytest.raises(DuplicateKeyError):
        await collection.insert_one({"id_hash": "abc", "name": "李四"})
    assert await collection.count_documents({}) == 1
    found = await collection.find_one({"id_hash": "abc"})
    assert found is not None
    assert found["name"] == "张三"


class _CrashAfterPublish:
    """A store wrapper whose first ``mark_published`` fails: the relay died between publish and mark."""

    def __init__(self, inner: MongoEmbeddedOutbox) -> None:
        self.inner = inner
        self.crashed = False

    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        return await self.inner.fetch_pending(limit)

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None:
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("relay killed before marking")
        await self.inner.mark_published(entries)


async def test_an_outbox_event_republished_after_a_relay_crash_has_one_effect(
    mongo_client, kafka_bootstrap, unique
):
    db = mongo_client[f"t_{unique}"]
    topic, group = f"test.outbox.{unique}", f"outbox-{unique}"
    await create_topics(kafka_bootstrap, topic)
    event = population_reported()
    await db.communities.insert_one({"_id": "420106002003", "residents": 0, **new_document_outbox([])})
    await db.communities.update_one(
        {"_id": "420106002003"}, {**outbox_update([event]), "$inc": {"residents": 12636}}
    )
    stored = await db.communities.find_one({"_id": "420106002003"})
    assert stored is not None
    assert stored["outbox_pending"]
    assert list(stored["outbox"]) == [event.id]

    effects: list[str] = []

    async def count_effect(received: CloudEvent) -> None:
        effects.append(received.id)

    handler = idempotent("test-consumer", MongoInbox(db.processed_events), count_effect)
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, service_name="tests"))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: handler})
    )
    await broker.start()
    try:
        outbox = MongoEmbeddedOutbox([db.communities])

        class _Retarget:
            async def publish_many(self, items: Sequence[tuple[str, CloudEvent]]) -> None:
                await KafkaEventPublisher(broker).publish_many([(topic, e) for _, e in items])

        crashing = OutboxRelay(_CrashAfterPublish(outbox), _Retarget())
        with pytest.raises(ConnectionError):
            await crashing.run_once()
        assert await OutboxRelay(outbox, _Retarget()).drain() == 1, "the restarted relay publishes again"
        assert await OutboxRelay(outbox, _Retarget()).drain() == 0, "and then nothing is pending"
        records = await read_all(kafka_bootstrap, topic, expected=2, timeout=30)
        assert len(records) == 2, "published twice: at-least-once on the wire"
        assert await wait_for(lambda: len(effects) == 1, timeout=30)
        await asyncio.sleep(1.0)
    finally:
        await stop_broker(broker)
    assert effects == [event.id], "the consumer applied the effect once"
    final = await db.communities.find_one({"_id": "420106002003"})
    assert final is not None
    assert final["outbox"] == {}
    assert final["outbox_pending"] is False


async def test_neo4j_outbox_nodes_commit_with_the_change_and_roll_back_with_it(neo4j_driver, unique):
    await ensure_schema(neo4j_driver)
    kept, rolled_back = population_reported(), population_reported()

    async def write(tx, event: CloudEvent, fail: bool) -> None:
        await (
            await tx.run("CREATE (:Community {code: $code, tag: $tag})", code=unique, tag=event.id)
        ).consume()
        await append_outbox(tx, [event])
        if fail:
            raise RuntimeError("rule broken after the write")

    async with neo4j_driver.session() as session:
        await session.execute_write(write, kept, False)
        with pytest.raises(RuntimeError):
            await session.execute_write(write, rolled_back, True)

    store = Neo4jOutboxStore(neo4j_driver)
    pending_ids = {p.event.id for p in await store.fetch_pending(10_000)}
    assert kept.id in pending_ids
    assert rolled_back.id not in pending_ids
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (c:Community {code: $code}) RETURN c.tag AS tag", code=unique
    )
    assert [r["tag"] for r in records] == [kept.id]
    ours = [p for p in await store.fetch_pending(10_000) if p.event.id == kept.id]
    await store.mark_published(ours)
    assert kept.id not in {p.event.id for p in await store.fetch_pending(10_000)}


async def test_marking_published_under_the_documents_guard_never_undoes_a_concurrent_change(
    mongo_client, unique
):
    """On FerretDB 1.24 an update racing another on the same document can undo it; a service whose
    writes hold a per-document guard gives the outbox the same guard, and nothing is lost."""
    db = mongo_client[f"t_{unique}"]
    locks: dict[object, asyncio.Lock] = {}

    def guard(collection: str, doc_id: object) -> asyncio.Lock:
        return locks.setdefault((collection, doc_id), asyncio.Lock())

    events = [population_reported(residents=n) for n in range(30)]
    await db.communities.insert_one({"_id": "420106002003", **new_document_outbox(events)})
    outbox = MongoEmbeddedOutbox([db.communities], guard=guard)
    pending = await outbox.fetch_pending(100)
    assert len(pending) == 30

    async def change(n: int) -> None:
        async with guard("communities", "420106002003"):
            await db.communities.update_one({"_id": "420106002003"}, {"$set": {f"figures.f{n}": n}})

    await asyncio.gather(*(change(n) for n in range(30)), *(outbox.mark_published([p]) for p in pending))
    final = await db.communities.find_one({"_id": "420106002003"})
    assert final is not None
    assert final["figures"] == {f"f{n}": n for n in range(30)}, "every concurrent change kept"
    assert final["outbox"] == {}
    assert final["outbox_pending"] is False


async def test_a_query_naming_a_property_no_node_has_yet_logs_no_warning(neo4j_driver, unique, caplog):
    caplog.set_level(logging.INFO, logger="neo4j")
    property_name = f"never_set_{unique.replace('-', '_')}"
    await neo4j_driver.execute_query(
        f"MATCH (n:RoundTrip {{id: $id}}) WHERE n.{property_name} IS NULL RETURN count(n) AS n", id=unique
    )
    notices = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("neo4j") and "notification" in r.getMessage()
    ]
    assert notices == []
