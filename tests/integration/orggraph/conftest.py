"""org-graph over real Neo4j and Kafka: the app's lifespan runs once per session, with no background relay
(tests drain the outbox themselves when they need events on Kafka)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from civicgrid_orggraph.bootstrap import create_app
from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_runtime.auth import Role, TokenIssuer
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


@dataclass
class Api:
    client: httpx.AsyncClient
    issuer: TokenIssuer

    def token(self, role: Role = Role.ADMIN, region: str | None = None, person_id: str | None = None) -> str:
        return self.issuer.mint(f"test-{role.value}", [role], region=region, person_id=person_id)

    def headers(self, token: str | None, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    async def post(
        self, path: str, body: dict[str, Any], token: str | None = None, key: str | None = None
    ) -> Any:
        return await self.client.post(path, json=body, headers=self.headers(token, key))

    async def patch(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        return await self.client.patch(path, json=body, headers=self.headers(token))

    async def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        return await self.client.get(path, params=params, headers=self.headers(token))

    async def ok(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        if method == "GET":
            response = await self.get(path, **params)
        else:
            response = await self.post(path, body or {})
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture(scope="session")
def orggraph_settings(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> OrgGraphSettings:
    keys: Path = tmp_path_factory.mktemp("keys")
    return OrgGraphSettings(
        neo4j_uri=servers.neo4j_uri,
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        keys_dir=keys,
        consumer_group=f"org-graph-tests-{uuid.uuid4().hex[:8]}",
        run_background_workers=False,
        log_json=False,
        log_level="WARNING",
        environment="test",
    )


@pytest.fixture(scope="session")
async def orggraph_app(orggraph_settings: OrgGraphSettings) -> AsyncIterator[FastAPI]:
    app = create_app(orggraph_settings)
    async with app.router.lifespan_context(app):
        yield app
        await app.state.relay.drain()  # publish what the tests wrote, as the service's relay would


@pytest.fixture(scope="session")
async def api(orggraph_app: FastAPI, orggraph_settings: OrgGraphSettings) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=orggraph_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://org-graph") as client:
        issuer = TokenIssuer(
            orggraph_settings.keys_dir, orggraph_settings.jwt_issuer, orggraph_settings.jwt_audience
        )
        yield Api(client, issuer)


@dataclass(frozen=True)
class Community:
    street: str
    code: str

    def compound(self, n: int) -> str:
        return f"{self.code}-C{n:02d}"

    def building(self, compound: int, n: int) -> str:
        return f"{self.code}-C{compound:02d}-B{n:02d}"

    def grid(self, n: int) -> str:
        return f"{self.code}{n:03d}"


async def _division_chain(api: Api) -> None:
    for kind, code, name in (
        ("province", "420000000000", "湖北省"),
        ("city", "420100000000", "武汉市"),
        ("district", "420106000000", "武昌区"),
    ):
        await api.ok("POST", "/places", {"kind": kind, "code": code, "name": name})


NewCommunity = Callable[..., Awaitable[Community]]


@pytest.fixture
async def new_community(api: Api) -> NewCommunity:
    """A fresh street and community (random codes under Wuchang), registered by an admin."""

    async def make(residents: int = 12636, households: int = 4453, area: float = 1500.0) -> Community:
        await _division_chain(api)
        while True:
            street = f"420106{random.randint(100, 999)}000"
            code = f"{street[:9]}{random.randint(1, 999):03d}"
            name = f"测试街道{street[6:9]}"
            await api.ok("POST", "/places", {"kind": "street", "code": street, "name": name})
            body = {
                "kind": "community",
                "code": code,
                "name": f"测试社区{code[9:]}",
                "attributes": {"residents": residents, "households": households, "service_area_m2": area},
            }
            response = await api.post("/places", body)
            if response.status_code == 201 and response.json()["created"]:
                return Community(street, code)

    return make


async def build_compound(
    api: Api, c: Community, compound: int = 1, buildings: int = 2, eligible: bool = True
) -> None:
    await api.ok(
        "POST",
        "/places",
        {
            "kind": "compound",
            "code": c.compound(compound),
            "parent_code": c.code,
            "name": f"小区{compound}",
            "attributes": {"owners_committee_eligible": eligible},
        },
    )
    for n in range(1, buildings + 1):
        await api.ok(
            "POST",
            "/places",
            {
                "kind": "building",
                "code": c.building(compound, n),
                "parent_code": c.compound(compound),
                "name": f"{n}栋",
            },
        )
