"""Proof that a test run left the developer's stack alone.

``./civicgrid test`` runs on its own servers (the ``test`` stack: ``.local/test``, ports + 10000). When a
development stack (``./civicgrid up``: ``.local``, ports 9092/7687/27017) is running meanwhile, the test
command takes a :func:`snapshot` of it before and after the run and fails if the demo's data changed:

- **demo** (a change fails the run): org-graph's demo community in Neo4j (every place under 420106002003
  with its name and attributes, and the community's organisations, people and memberships, hashed), the
  number of documents in each collection of the resources and notifications databases, and the demo
  member's feed (entry ids, rules, states, titles);
- **footprint** (a change is reported, not failed): Kafka topics and their end offsets, MongoDB database
  names, Neo4j node counts per label. Something else using the development servers during the run (a
  developer, a benchmark, another test run pointed there on purpose) changes these too.

Every read is cheap: index lookups in Neo4j, ``estimated_document_count`` and one member's feed in MongoDB,
end offsets in Kafka.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from deploy.local import servers as local_servers
from deploy.local.config import Settings
from deploy.stack import demo_notifications

DEMO_COMMUNITY = "420106002003"
DEMO_QUERIES = {
    "places": "MATCH (p:Place) WHERE p.code STARTS WITH $community RETURN p ORDER BY p.code",
    "organisations": "MATCH (o:Organisation {community_code: $community}) RETURN o ORDER BY o.id",
    "people": "MATCH (p:Person {community_code: $community}) RETURN p ORDER BY p.id",
    "memberships": "MATCH (m:Membership {community_code: $community}) RETURN m ORDER BY m.id",
}


@dataclass
class Snapshot:
    demo: dict[str, Any] = field(default_factory=dict)
    footprint: dict[str, Any] = field(default_factory=dict)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def databases() -> dict[str, str]:
    """The MongoDB databases of the development services (their settings' defaults unless overridden)."""
    return {
        "resources": os.environ.get("RESOURCES_MONGO_DATABASE", "civicgrid_resources"),
        "notifications": os.environ.get("NOTIFICATIONS_MONGO_DATABASE", "civicgrid_notifications"),
        "deliberation": os.environ.get("DELIBERATION_MONGO_DATABASE", "civicgrid_deliberation"),
    }


def running(settings: Settings) -> bool:
    """Whether every server of the stack described by ``settings`` runs and answers."""
    return all(row.healthy for row in local_servers.status(settings=settings))


async def _neo4j(uri: str, snapshot: Snapshot) -> None:
    from neo4j import AsyncGraphDatabase

    async with AsyncGraphDatabase.driver(uri, auth=None, connection_timeout=5) as driver:
        for name, query in DEMO_QUERIES.items():
            records, _, _ = await driver.execute_query(query, community=DEMO_COMMUNITY)
            rows = [dict(record[0]) for record in records]
            snapshot.demo[f"neo4j {name} of {DEMO_COMMUNITY}"] = f"{len(rows)} ({_digest(rows)})"
        labels, _, _ = await driver.execute_query("CALL db.labels() YIELD label RETURN label")
        for record in labels:
            label = str(record["label"]).replace("`", "``")
            counted, _, _ = await driver.execute_query(f"MATCH (n:`{label}`) RETURN count(n) AS n")
            snapshot.footprint[f"neo4j :{record['label']} nodes"] = counted[0]["n"]


async def _mongo(uri: str, snapshot: Snapshot) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        names = sorted(await client.list_database_names())
        snapshot.footprint["mongo databases"] = names
        for service, database in databases().items():
            if database not in names:
                continue
            db = client[database]
            for collection in sorted(await db.list_collection_names()):
                count = await db[collection].estimated_document_count()
                snapshot.demo[f"mongo {service} {collection} documents"] = count
        feed = client[databases()["notifications"]]["feed"]
        member = demo_notifications.DEMO_MEMBER
        entries = [
            [doc.get("_id"), doc.get("rule"), doc.get("state"), doc.get("title")]
            async for doc in feed.find({"member_id": member}).sort("_id", 1)
        ]
        snapshot.demo[f"feed of demo member {member}"] = f"{len(entries)} entries ({_digest(entries)})"
    finally:
        await client.close()


async def _kafka(bootstrap: str, snapshot: Snapshot) -> None:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=10000
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()  # every topic's partitions, not only subscribed
        topics = sorted(t for t in cluster.topics() if not t.startswith("__"))
        partitions = [
            TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())
        ]
        ends: dict[TopicPartition, int] = {}
        if partitions:
            consumer.assign(partitions)  # so that the client's own metadata knows their leaders
            await consumer._client.force_metadata_update()
            ends = await consumer.end_offsets(partitions)
        for topic in topics:
            total = sum(offset for tp, offset in ends.items() if tp.topic == topic)
            snapshot.footprint[f"kafka {topic} end offset"] = total
    finally:
        await consumer.stop()


async def take(env: dict[str, str]) -> Snapshot:
    """A snapshot of the servers named by ``env`` (the ``CIVICGRID_*`` connection variables)."""
    snapshot = Snapshot()
    await asyncio.gather(
        _neo4j(env["CIVICGRID_NEO4J_URI"], snapshot),
        _mongo(env["CIVICGRID_MONGO_URI"], snapshot),
        _kafka(env["CIVICGRID_KAFKA_BOOTSTRAP"], snapshot),
    )
    return snapshot


def snapshot(settings: Settings) -> Snapshot:
    """What the development stack described by ``settings`` holds now (its servers must be running)."""
    return asyncio.run(take(settings.connection_env()))


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """One line per key whose value changed, appeared or disappeared."""
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, "(absent)"), after.get(key, "(absent)")
        if old != new:
            lines.append(f"{key}: {old} -> {new}")
    return lines
