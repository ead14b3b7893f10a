"""The deliberation service in-process against the test stack's FerretDB and Kafka, isolated per session
(its own database, topic suffix and consumer groups). org-graph's facts are published by the tests as
org-graph would publish them (organisations, posts, households)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.events import households as hh
from civicgrid_contracts.events import org
from civicgrid_contracts.events.base import EventPayload
from civicgrid_deliberation.bootstrap import create_app
from civicgrid_deliberation.service_layer.context import Context
from civicgrid_deliberation.settings import DeliberationSettings
from civicgrid_runtime.auth import Role, TokenIssuer
from tests.support.kafka import send_raw, wait_for
from tests.support.servers import Servers

STREET = "420106002"
DELIBERATION = "civicgrid.deliberation.v1"


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    settings: DeliberationSettings
    issuer: TokenIssuer

    @property
    def ctx(self) -> Context:
        context: Context = self.app.state.components["context"]
        return context

    def topic(self, catalogue_topic: str) -> str:
        return catalogue_topic + self.settings.topic_suffix

    def coordinator(self, region: str = STREET) -> dict[str, str]:
        token = self.issuer.mint(f"test-coordinator-{region}", [Role.COORDINATOR], region=region)
        return {"Authorization": f"Bearer {token}"}

    def member(self, person_id: str) -> dict[str, str]:
        token = self.issuer.mint(f"test-member-{person_id}", [Role.MEMBER], person_id=person_id)
        return {"Authorization": f"Bearer {token}"}

    async def publish(self, payloads: list[EventPayload], catalogue_topic: str) -> None:
        for payload in payloads:
            record = new_event(payload, source="/civicgrid/org-graph").to_kafka()
            await send_raw(
                self.settings.kafka_bootstrap_servers,
                self.topic(catalogue_topic),
                record.value,
                record.key,
                record.headers,
            )

    async def seed_posts(self, community: str, posts: list[tuple[str, str, str, str]]) -> None:
        """(org kind, place code, org id, person id) → organisations formed and posts started; waits
        until the projection has every post."""
        orgs = {(kind, place, org_id) for kind, place, org_id, _ in posts}
        await self.publish(
            [
                org.OrganisationFormed(
                    community_code=community,
                    org_id=o,
                    kind=org.OrganisationKind(k),
                    name=f"{k} {o}",
                    place_code=p,
                )
                for k, p, o in sorted(orgs)
            ],
            "civicgrid.org.organisations.v1",
        )
        await self.publish(
            [
                org.MembershipStarted(
                    community_code=community,
                    membership_id=f"ms-{org_id}-{person}",
                    person_id=person,
                    post="member",
                    org_id=org_id,
                    place_code=place,
                    start_date=date(2025, 1, 1),
                    basis=org.AppointmentBasis.ELECTION,
                    basis_reference="2025 election",
                    cross_appointment=False,
                )
                for _, place, org_id, person in posts
            ],
            "civicgrid.org.memberships.v1",
        )

        async def arrived() -> bool:
            people = set()
            for kind, place, _, _ in posts:
                people |= set(await self.ctx.directory.members_of([kind], place))
            return people >= {person for *_, person in posts}

        assert await wait_for(arrived, timeout=60), "the org projection never received the posts"

    async def seed_households(
        self,
        community: str,
        compound: str,
        units: list[tuple[float, list[str]]],
        representative: str | None = None,
    ) -> list[str]:
        """Households of one building of ``compound``: (area m², owner ids); returns their codes."""
        building = f"{compound}-B01"
        entrance = f"{building}-U1"
        codes = [f"{entrance}-{101 + i}" for i in range(len(units))]
        await self.publish(
            [
                hh.HouseholdRegistered(
                    community_code=community,
                    household_code=code,
                    compound_code=compound,
                    building_code=building,
                    entrance_code=entrance,
                    unit_number=code.rsplit("-", 1)[1],
                    exclusive_area_m2=area,
                    owners=[hh.HouseholdOwner(person_id=o) for o in owners],
                    resident_person_ids=list(owners),
                    representative_person_id=representative,
                    version=1,
                )
                for code, (area, owners) in zip(codes, units, strict=True)
            ],
            "civicgrid.org.households.v1",
        )

        async def arrived() -> bool:
            return len(await self.ctx.households.units_of(compound)) == len(units)

        assert await wait_for(arrived, timeout=90), "the household projection never received the households"
        return codes


async def deliberation_events(
    service: Running, predicate: Callable[[dict[str, str], dict[str, Any]], bool], expected: int
) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of the records on the service's deliberation topic that satisfy ``predicate``,
    once ``expected`` arrived (or after 30 s)."""
    consumer = AIOKafkaConsumer(
        service.topic(DELIBERATION),
        bootstrap_servers=service.settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[tuple[int, int, str, dict[str, Any]]] = []
    deadline = time.monotonic() + 30
    try:
        while len(found) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers}
                    data = json.loads(record.value or b"{}")
                    if predicate(headers, data):
                        found.append((record.partition, record.offset, headers["ce_type"], data))
    finally:
        await consumer.stop()
    return [(t, d) for _, _, t, d in sorted(found, key=lambda f: (f[0], f[1]))]


@asynccontextmanager
async def running(settings: DeliberationSettings) -> AsyncIterator[Running]:
    app = create_app(settings)
    issuer = TokenIssuer(settings.keys_dir, settings.jwt_issuer, settings.jwt_audience)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deliberation.test") as client:
            yield Running(app, client, settings, issuer)


@pytest.fixture(scope="session")
def deliberation_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deliberation-keys")


@pytest.fixture(scope="session")
async def service(servers: Servers, deliberation_keys: Path, mongo_client: Any) -> AsyncIterator[Running]:
    tag = uuid.uuid4().hex[:10]
    settings = DeliberationSettings(
        environment="test",
        log_json=False,
        log_level="WARNING",
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        mongo_uri=servers.mongo_uri,
        mongo_database=f"t_deliberation_{tag}",
        topic_suffix=f".t{tag}",
        consumer_group=f"deliberation-test-{tag}",
        keys_dir=deliberation_keys,
        outbox_poll_interval_seconds=0.1,
        consumer_retry_backoff_seconds=0.05,
        public_base_url="http://deliberation.test",
        vote_close_interval_seconds=0.5,
    )
    async with running(settings) as running_service:
        yield running_service
    await mongo_client.drop_database(settings.mongo_database)


_counter = iter(range(500, 1000))


@pytest.fixture
def community() -> str:
    """A community code of its own for each test."""
    return f"{STREET}{next(_counter):03d}"
