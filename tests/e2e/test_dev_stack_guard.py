"""The check ``./civicgrid test`` runs on a developer's stack sees what a stray test would leave there."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from deploy.stack import demo_notifications, guard
from tests.support.kafka import create_topics, send_raw
from tests.support.servers import Servers

pytestmark = pytest.mark.e2e


async def test_an_entry_in_the_demo_members_feed_fails_the_check_and_a_new_topic_is_noted(
    servers: Servers, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    # The test stack stands in for a developer's: the services' default database names are unused here.
    env = {
        "CIVICGRID_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
        "CIVICGRID_NEO4J_URI": servers.neo4j_uri,
        "CIVICGRID_MONGO_URI": servers.mongo_uri,
    }
    feed = mongo_client[guard.databases()["notifications"]]["feed"]
    topic = f"guard-{uuid.uuid4().hex[:10]}"
    entry = f"guard-{uuid.uuid4().hex[:10]}"
    before = await guard.take(env)
    await feed.insert_one({"_id": entry, "member_id": demo_notifications.DEMO_MEMBER, "rule": "appointed"})
    await create_topics(servers.kafka_bootstrap, topic)
    await send_raw(servers.kafka_bootstrap, topic, b"{}")
    try:
        after = await guard.take(env)
    finally:
        await feed.delete_one({"_id": entry})
    changed = guard.differences(before.demo, after.demo)
    noted = guard.differences(before.footprint, after.footprint)
    assert any(line.startswith(f"feed of demo member {demo_notifications.DEMO_MEMBER}:") for line in changed)
    assert f"kafka {topic} end offset: (absent) -> 1" in noted
