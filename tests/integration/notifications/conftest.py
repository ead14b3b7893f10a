"""One notifications service per test session, on its own database and consumer group."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService, eventually, start_service, stop_service
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def notifications_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notifications-keys")


@asynccontextmanager
async def running_notifications(
    servers: Servers,
    keys: Path,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    name: str = "notifications",
    **overrides: Any,
) -> AsyncIterator[RunningService]:
    """An in-process notifications with a database and consumer group of its own, consuming before it
    is handed over; stopped and its database dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    database = f"test_{name.replace('-', '_')}_{suffix}"
    service = await start_service(
        servers.kafka_bootstrap, servers.mongo_uri, database, keys, f"test-{name}-{suffix}", **overrides
    )
    try:
        await wait_until_consuming(service)
        yield service
    finally:
        await stop_service(service)
        await mongo_client.drop_database(database)


@pytest.fixture(scope="session")
async def notifications(
    servers: Servers, notifications_keys: Path, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[RunningService]:
    # Retries within a test's patience: 3 attempts, 0.2-1 s apart.
    async with running_notifications(
        servers,
        notifications_keys,
        mongo_client,
        delivery_max_attempts=3,
        delivery_backoff_base_seconds=0.2,
        delivery_backoff_cap_seconds=1.0,
    ) as service:
        yield service


async def wait_until_consuming(service: RunningService) -> None:
    """A new group starts at the latest offsets: probe until an event published now is consumed."""
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("probe")
    await service.kafka.publish(facts.organisation(community, org_id))

    async def consumed() -> bool:
        await service.kafka.publish(facts.appointed(community, person, org_id))
        response = await service.http.get(
            f"{service.base_url}/members/{person}/unread-count", headers=service.auth(person, Role.MEMBER)
        )
        return bool(response.json()["unread"])

    await eventually(consumed, timeout=90, interval=1.0, what="the consumer group to be assigned")
