"""Neo4j's bookkeeping nodes are deleted once past their retention, and never before (real Neo4j)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from neo4j import AsyncDriver

from civicgrid_runtime.stores.neo4j import Neo4jOutboxStore, ensure_schema
from civicgrid_runtime.stores.neo4j_retention import RETENTION_SCHEMA, Neo4jRetention, Retention, bookkeeping

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)  # older than any retention; nothing real is that old


async def _ids(driver: AsyncDriver, label: str, key: str, unique: str) -> set[str]:
    records, _, _ = await driver.execute_query(
        f"MATCH (n:{label}) WHERE n.{key} STARTS WITH $prefix RETURN n.{key} AS k", prefix=unique
    )
    return {r["k"] for r in records}


@pytest.fixture
async def seeded(neo4j_driver: AsyncDriver, unique: str) -> AsyncIterator[str]:
    """This test's nodes, removed afterwards: the test Neo4j is shared, and a pending outbox node left
    behind would be fetched by every other relay on it."""
    await _seed(neo4j_driver, unique)
    try:
        yield unique
    finally:
        for label, key in (("OutboxEvent", "id"), ("ProcessedEvent", "key"), ("IdempotencyRecord", "key")):
            await neo4j_driver.execute_query(
                f"MATCH (n:{label}) WHERE n.{key} STARTS WITH $prefix DETACH DELETE n", prefix=unique
            )


async def _seed(driver: AsyncDriver, unique: str) -> None:
    await driver.execute_query(
        "CREATE (:OutboxEvent {id: $u + '-sent-old', pending: false, published_at: $old}), "
        "(:OutboxEvent {id: $u + '-sent-new', pending: false, published_at: $recent}), "
        "(:OutboxEvent {id: $u + '-pending-old', pending: true, created_at: $old}), "
        "(:ProcessedEvent {key: $u + '-claim-old', at: $old}), "
        "(:ProcessedEvent {key: $u + '-claim-new', at: $recent}), "
        "(:IdempotencyRecord {key: $u + '-key-old', at: $old}), "
        "(:IdempotencyRecord {key: $u + '-key-new', at: $recent})",
        u=unique,
        old=LONG_AGO,
        recent=NOW - timedelta(hours=1),
    )


async def test_bookkeeping_past_its_retention_is_deleted_and_a_pending_event_never(
    neo4j_driver: AsyncDriver, seeded: str
) -> None:
    unique = seeded
    await ensure_schema(neo4j_driver, RETENTION_SCHEMA)
    kinds = [
        *bookkeeping(timedelta(days=7), timedelta(days=30)),
        Retention("IdempotencyRecord", "at", timedelta(hours=24)),
    ]
    retention = Neo4jRetention(neo4j_driver, kinds, batch=1)

    deleted = 0
    while (swept := await retention.sweep(NOW)) > 0:  # a batch of one per kind, until nothing is left
        deleted += swept

    assert deleted >= 3  # the three old ones of this test (and whatever else was that old)
    assert await _ids(neo4j_driver, "OutboxEvent", "id", unique) == {
        f"{unique}-sent-new",
        f"{unique}-pending-old",
    }
    assert await _ids(neo4j_driver, "ProcessedEvent", "key", unique) == {f"{unique}-claim-new"}
    assert await _ids(neo4j_driver, "IdempotencyRecord", "key", unique) == {f"{unique}-key-new"}


async def test_a_sweep_with_nothing_past_its_retention_deletes_nothing(
    neo4j_driver: AsyncDriver, seeded: str
) -> None:
    unique = seeded
    retention = Neo4jRetention(
        neo4j_driver, [Retention("IdempotencyRecord", "at", timedelta(days=365 * 100))]
    )
    assert await retention.sweep(NOW) == 0
    assert len(await _ids(neo4j_driver, "IdempotencyRecord", "key", unique)) == 2


def test_a_retention_names_plain_neo4j_names_and_a_positive_time() -> None:
    with pytest.raises(ValueError, match="plain"):
        Retention("Outbox) DETACH DELETE (x", "at", timedelta(days=1))
    with pytest.raises(ValueError, match="some time"):
        Retention("OutboxEvent", "published_at", timedelta(0))


async def test_a_pending_outbox_entry_that_is_no_event_is_set_aside_and_the_relay_goes_on(
    neo4j_driver: AsyncDriver, unique: str
) -> None:
    """An entry written around the outbox (here: no event at all) once stopped every relay on the
    database for good; it is now set aside with the reason, and what is readable is still returned."""
    await neo4j_driver.execute_query(
        "CREATE (:OutboxEvent {id: $u + '-broken', pending: true, created_at: $old, topic: 't', "
        "event: 'nope'})",
        u=unique,
        old=LONG_AGO,
    )
    try:
        fetched = await Neo4jOutboxStore(neo4j_driver).fetch_pending(1000)
        assert all(not p.outbox_id.startswith(unique) for p in fetched)
        records, _, _ = await neo4j_driver.execute_query(
            "MATCH (o:OutboxEvent {id: $id}) RETURN o.pending AS pending, o.unreadable AS reason",
            id=f"{unique}-broken",
        )
        assert records[0]["pending"] is False
        assert "JSONDecodeError" in records[0]["reason"]
    finally:
        await neo4j_driver.execute_query("MATCH (o:OutboxEvent {id: $id}) DELETE o", id=f"{unique}-broken")
