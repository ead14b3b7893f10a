"""Session fixtures: real servers (see tests/support/servers.py) and clients bound to one loop."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from neo4j import AsyncDriver
from pymongo import AsyncMongoClient

from civicgrid_runtime.stores.mongo import create_client
from civicgrid_runtime.stores.neo4j import create_driver
from tests.support.servers import Servers, ServerUnavailable, resolve_servers, stop_containers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    try:
        found = resolve_servers()
    except ServerUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield found
    stop_containers()


@pytest.fixture(scope="session")
def kafka_bootstrap(servers: Servers) -> str:
    return servers.kafka_bootstrap


@pytest.fixture(scope="session")
async def neo4j_driver(servers: Servers) -> AsyncIterator[AsyncDriver]:
    driver = create_driver(servers.neo4j_uri)
    await driver.verify_connectivity()
    yield driver
    await driver.close()


@pytest.fixture(scope="session")
async def mongo_client(servers: Servers) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client = create_client(servers.mongo_uri, "civicgrid-tests")
    await client.admin.command("ping")
    yield client
    await client.close()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topics, groups, databases and ids used by one test."""
    return uuid.uuid4().hex[:10]
