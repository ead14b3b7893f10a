"""Session fixtures of the security suite: one isolated stack of the four services, and its world."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver
from pymongo import AsyncMongoClient

from civicgrid_runtime.auth import TokenIssuer
from tests.e2e.processes import Stack
from tests.security.stack import Region, SecurityStack
from tests.security.world import Api, World
from tests.support.servers import Servers

pytestmark = pytest.mark.e2e

CLEANUP = (
    "MATCH (post:Post)-[:POST_IN]->(o:Organisation) WHERE o.community_code STARTS WITH $d DETACH DELETE post",
    "MATCH (n:Membership) WHERE n.community_code STARTS WITH $d DETACH DELETE n",
    "MATCH (n:CrossAppointmentFlag) WHERE n.community_code STARTS WITH $d DETACH DELETE n",
    "MATCH (n:Organisation) WHERE n.community_code STARTS WITH $d DETACH DELETE n",
    "MATCH (n:Person) WHERE n.community_code STARTS WITH $d DETACH DELETE n",
    "MATCH (n:Grid) WHERE n.id STARTS WITH $d DETACH DELETE n",
    "MATCH (n:Place) WHERE n.code STARTS WITH $d DETACH DELETE n",
)


@pytest.fixture(scope="session")
def security_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security-keys")


@pytest.fixture(scope="session")
async def security_stack(
    servers: Servers,
    security_keys: Path,
    tmp_path_factory: pytest.TempPathFactory,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    neo4j_driver: AsyncDriver,
) -> AsyncIterator[SecurityStack]:
    workdir = tmp_path_factory.mktemp("security-stack")
    stack = Stack(servers.kafka_bootstrap, servers.mongo_uri, servers.neo4j_uri, security_keys, workdir)
    built = SecurityStack(stack, Region())
    try:
        await built.start()
        yield built
    finally:
        built.stop()
        for name in built.stack.processes:
            await mongo_client.drop_database(built.database(name))
        for statement in CLEANUP:
            await neo4j_driver.execute_query(statement, d=built.region.district)


@pytest.fixture(scope="session")
async def api(security_stack: SecurityStack, security_keys: Path) -> AsyncIterator[Api]:
    urls = {name: security_stack.url(name) for name in security_stack.stack.processes}
    issuer = TokenIssuer(security_keys, "civicgrid-dev", "civicgrid")
    async with httpx.AsyncClient(timeout=60) as client:
        yield Api(urls, issuer, client)


@pytest.fixture(scope="session")
async def world(api: Api, security_stack: SecurityStack) -> World:
    built = World(api, security_stack.region, security_stack.tag)
    await built.build()
    return built
