"""End-to-end fixtures: services as processes over the real servers, one unique stack per test: its own
databases, consumer groups and topics (``<topic>.e2e<suffix>``), so no test reads or writes what another
stack uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from civicgrid_contracts.catalogue import topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.auth import TokenIssuer
from tests.e2e.processes import Stack
from tests.integration.notifications.harness import Kafka
from tests.support.servers import Servers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def e2e_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-keys")


@pytest.fixture
async def stack(
    servers: Servers, e2e_keys: Path, tmp_path: Path, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[Stack]:
    built = Stack(
        servers.kafka_bootstrap, servers.mongo_uri, servers.neo4j_uri, e2e_keys, tmp_path, own_topics=True
    )
    try:
        yield built
    finally:
        built.stop_all()
        for name in built.processes:
            await mongo_client.drop_database(built.database(name))


@pytest.fixture(scope="session")
def issuer(e2e_keys: Path) -> TokenIssuer:
    return TokenIssuer(e2e_keys, "civicgrid-dev", "civicgrid")


@dataclass
class StackKafka(Kafka):
    """Publishes events on the test's own topics (the names its stack's services use)."""

    stack: Stack | None = None

    async def publish(self, *events: CloudEvent) -> None:
        assert self.stack is not None
        for e in events:
            record = e.to_kafka()
            await self.producer.send_and_wait(
                self.stack.topic(topic_for(e.type)), record.value, key=record.key, headers=record.headers
            )


@pytest.fixture
async def kafka(servers: Servers, stack: Stack) -> AsyncIterator[Kafka]:
    producer = AIOKafkaProducer(
        bootstrap_servers=servers.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        yield StackKafka(producer, stack)
    finally:
        await producer.stop()
