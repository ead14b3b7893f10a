"""The resources service running in-process against the real servers, isolated per session.

Each service instance gets its own MongoDB database, its own topic suffix (so its places, hotline,
deployment and requests topics and their dead-letter topics are its own) and its own consumer group.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import org
from civicgrid_contracts.events.base import EventPayload
from civicgrid_resources.adapters.mongo import MongoStore
from civicgrid_resources.bootstrap import create_app
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.auth import Role, TokenIssuer
from tests.support.kafka import send_raw, wait_for
from tests.support.servers import Servers

STREET = "420106002"


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    settings: ResourcesSettings
    issuer: TokenIssuer

    @property
    def ctx(self) -> Context:
        context: Context = self.app.state.context
        return context

    @property
    def store(self) -> MongoStore:
        """The MongoDB collections behind the ports (tests look at the stored documents)."""
        store: MongoStore = self.app.state.store
        return store

    def notify_relay(self) -> None:
        self.app.state.relay.notify()

    def topic(self, catalogue_topic: str) -> str:
        return catalogue_topic + self.settings.topic_suffix

    def token(
        self, role: Role = Role.COORDINATOR, region: str | None = STREET, person: str | None = None
    ) -> str:
        return self.issuer.mint(
            f"test-{role.value}-{person or region}",
            [role],
            region=region if role is Role.COORDINATOR else None,
            person_id=person,
        )

    def auth(
        self, role: Role = Role.COORDINATOR, region: str | None = STREET, person: str | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, region, person)}"}

    async def publish(self, event: CloudEvent, catalogue_topic: str) -> None:
        record = event.to_kafka()
        await send_raw(
            self.settings.kafka_bootstrap_servers,
            self.topic(catalogue_topic),
            record.value,
            record.key,
            record.headers,
        )

    async def seed_places(self, community: str, grids: dict[str, list[str]]) -> None:
        """Publish org-graph's events for a community and its grids; wait until the projection has them."""
        events: list[EventPayload] = [
            org.PlaceRegistered(
                community_code=community,
                kind=org.PlaceKind.COMMUNITY,
                code=community,
                name=f"社区{community[-3:]}",
                parent_code=community[:9] + "000",
            )
        ]
        events += [
            org.GridDefined(community_code=community, grid_id=g, name=f"网格{g[-3:]}", building_codes=b)
            for g, b in grids.items()
        ]
        for payload in events:
            await self.publish(new_event(payload, source="/civicgrid/org-graph"), "civicgrid.org.places.v1")
        last = list(grids)[-1] if grids else None

        async def arrived() -> bool:
            if last is not None:
                return await self.ctx.places.grid(last) is not None
            return await self.ctx.places.community_known(community)

        assert await wait_for(arrived, timeout=60), f"the places projection never received {community}"


async def records_where(
    service: Running, topic: str, predicate: Callable[[dict[str, str]], bool], expected: int
) -> list[tuple[dict[str, str], bytes]]:
    """Records of ``topic`` whose headers satisfy ``predicate``, in offset order, once ``expected``
    arrived (or after 30 s)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=service.settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[tuple[int, int, dict[str, str], bytes]] = []
    deadline = time.monotonic() + 30
    try:
        while len(found) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers}
                    if predicate(headers):
                        found.append((record.partition, record.offset, headers, record.value or b""))
    finally:
        await consumer.stop()
    return [(h, v) for _, _, h, v in sorted(found, key=lambda f: (f[0], f[1]))]


async def event_types(service: Running, catalogue_topic: str, subject: str, expected: int) -> list[str]:
    """The types of the events about ``subject`` on the service's topic, in order."""
    found = await records_where(
        service, service.topic(catalogue_topic), lambda h: h.get("ce_subject") == subject, expected
    )
    return [h["ce_type"] for h, _ in found]


def settings_for(servers: Servers, keys: Path, db: str, suffix: str, **overrides: Any) -> ResourcesSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "log_json": False,
        "log_level": "WARNING",
        "kafka_bootstrap_servers": servers.kafka_bootstrap,
        "mongo_uri": servers.mongo_uri,
        "mongo_database": db,
        "topic_suffix": suffix,
        "consumer_group": f"resources-test{suffix}",
        "keys_dir": keys,
        "outbox_poll_interval_seconds": 0.1,
        "sla_sweep_interval_seconds": 0.2,
        "consumer_retry_backoff_seconds": 0.05,
        **overrides,
    }
    return ResourcesSettings(**values)


@asynccontextmanager
async def running(settings: ResourcesSettings) -> AsyncIterator[Running]:
    app = create_app(settings)
    issuer = TokenIssuer(settings.keys_dir, settings.jwt_issuer, settings.jwt_audience)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://resources.test") as client:
            yield Running(app, client, settings, issuer)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("resources-keys")


@pytest.fixture(scope="session")
def make_settings(servers: Servers, keys_dir: Path) -> Callable[..., ResourcesSettings]:
    def make(**overrides: Any) -> ResourcesSettings:
        tag = uuid.uuid4().hex[:10]
        return settings_for(servers, keys_dir, f"t_resources_{tag}", f".t{tag}", **overrides)

    return make


@pytest.fixture(scope="session")
async def service(
    make_settings: Callable[..., ResourcesSettings], mongo_client: Any
) -> AsyncIterator[Running]:
    settings = make_settings(sla_emergency_seconds=1.5)
    async with running(settings) as service:
        yield service
    await mongo_client.drop_database(settings.mongo_database)


_counter = iter(range(100, 1000))


@pytest.fixture
def community() -> str:
    """A community code of its own for each test (the session's database is its own too)."""
    return f"{STREET}{next(_counter):03d}"
