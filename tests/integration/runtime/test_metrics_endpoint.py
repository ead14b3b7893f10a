"""/metrics of a started service over real servers: the figures move with what the service does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from civicgrid_orggraph.bootstrap import create_app as orggraph_app
from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_resources.adapters.events import to_cloud_event
from civicgrid_resources.bootstrap import create_app as resources_app
from civicgrid_resources.domain import events as ev
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.auth import Role, TokenIssuer
from tests.support.kafka import send_raw, wait_for
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

POPULATION = "municipal.statistics.population.v1"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Started:
    app: FastAPI
    client: httpx.AsyncClient
    token: str
    suffix: str

    async def scrape(self) -> Samples:
        response = await self.client.get("/metrics")
        assert response.status_code == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


@pytest.fixture
async def orggraph(servers: Servers, tmp_path: Path) -> AsyncIterator[Started]:
    tag = uuid.uuid4().hex[:8]
    settings = OrgGraphSettings(
        neo4j_uri=servers.neo4j_uri,
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        keys_dir=tmp_path,
        consumer_group=f"org-graph-metrics-{tag}",
        topic_suffix=f".metrics{tag}",
        consumer_commit_interval_seconds=0.1,
        run_background_workers=False,
        log_json=False,
        log_level="WARNING",
        environment="test",
    )
    app = orggraph_app(settings)
    token = TokenIssuer(tmp_path, settings.jwt_issuer, settings.jwt_audience).mint("metrics", [Role.ADMIN])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://org-graph") as client:
            yield Started(app, client, token, settings.topic_suffix)


async def test_a_request_moves_the_counter_of_its_route_template(orggraph: Started) -> None:
    headers = {"Authorization": f"Bearer {orggraph.token}"}
    before = await orggraph.scrape()
    written = await orggraph.client.post(
        "/places", json={"kind": "province", "code": "420000000000", "name": "湖北省"}, headers=headers
    )
    assert written.status_code in (200, 201), written.text
    read = await orggraph.client.get("/places/420000000000", headers=headers)
    assert read.status_code == 200, read.text
    after = await orggraph.scrape()

    posts = ("civicgrid_http_requests_total", {"method": "POST", "route": "/places"})
    reads = ("civicgrid_http_requests_total", {"method": "GET", "route": "/places/{code}", "status": "200"})
    assert total(after, posts[0], **posts[1]) == total(before, posts[0], **posts[1]) + 1
    assert total(after, reads[0], **reads[1]) == total(before, reads[0], **reads[1]) + 1
    assert total(after, "civicgrid_http_request_duration_seconds_count", route="/places/{code}") >= 1
    assert not [labels for (_n, labels) in after if ("route", "/places/420000000000") in labels]


async def test_a_bad_record_is_counted_as_a_dead_letter_and_its_partition_shows_no_lag_once_handled(
    orggraph: Started, servers: Servers
) -> None:
    topic = POPULATION + orggraph.suffix
    await send_raw(servers.kafka_bootstrap, topic, b"not a cloud event", key=b"420106002003")

    async def counted() -> bool:
        samples = await orggraph.scrape()
        return total(samples, "civicgrid_dead_letters_total", topic=topic, reason="InvalidEvent") == 1

    assert await wait_for(counted, timeout=60), "the dead letter was not counted"

    async def caught_up() -> bool:
        samples = await orggraph.scrape()
        lags = [
            v
            for (name, labels), v in samples.items()
            if name == "civicgrid_consumer_lag" and ("topic", topic) in labels
        ]
        return bool(lags) and max(lags) == 0

    assert await wait_for(caught_up, timeout=60), "no lag figure reached 0 for the population topic"


@pytest.fixture
async def resources(servers: Servers, tmp_path: Path) -> AsyncIterator[Started]:
    """resources on a database of its own (its outbox is this test's alone)."""
    tag = uuid.uuid4().hex[:8]
    settings = ResourcesSettings(
        mongo_uri=servers.mongo_uri,
        mongo_database=f"metrics_{tag}",
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        keys_dir=tmp_path,
        consumer_group=f"resources-metrics-{tag}",
        topic_suffix=f".metrics{tag}",
        run_background_workers=False,
        log_json=False,
        log_level="WARNING",
        environment="test",
    )
    app = resources_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://resources") as client:
            yield Started(app, client, "", settings.topic_suffix)
        await app.state.store.db.client.drop_database(settings.mongo_database)


async def test_a_change_written_with_its_event_is_counted_as_published_once_the_relay_ran(
    resources: Started,
) -> None:
    store, relay = resources.app.state.store, resources.app.state.relay
    event = to_cloud_event(
        ev.RequestProgressed(request_id="r-metrics", community_code="420106002003", note="回访", actor_id="x")
    )
    await store.teams.insert("t-metrics", {"name": "metrics"}, [event])
    before = await resources.scrape()
    assert total(before, "civicgrid_outbox_published_total") == 0
    assert total(before, "civicgrid_outbox_last_poll_timestamp_seconds") == 0

    assert await relay.drain() == 1  # what the service's relay does when background workers run
    after = await resources.scrape()
    assert total(after, "civicgrid_outbox_published_total") == 1
    assert total(after, "civicgrid_outbox_pending") == 0
    assert total(after, "civicgrid_outbox_oldest_age_seconds") == 0
    assert total(after, "civicgrid_outbox_last_poll_timestamp_seconds") > 0


async def test_requests_past_their_deadline_are_counted_by_tier(resources: Started) -> None:
    requests = resources.app.state.store.requests.collection
    now = datetime.now(UTC)
    assert total(await resources.scrape(), "civicgrid_requests_overdue") == 0
    await requests.insert_many(
        [
            {"_id": "r-late-1", "open": True, "due_at": now - timedelta(hours=1), "tier": "street"},
            {"_id": "r-late-2", "open": True, "due_at": now - timedelta(hours=2), "tier": "street"},
            {"_id": "r-late-3", "open": True, "due_at": now - timedelta(hours=3), "tier": "grid"},
            {"_id": "r-on-time", "open": True, "due_at": now + timedelta(hours=1), "tier": "grid"},
            {"_id": "r-closed", "open": False, "due_at": now - timedelta(hours=1), "tier": "street"},
        ]
    )
    samples = await resources.scrape()
    assert total(samples, "civicgrid_requests_overdue", tier="street") == 2
    assert total(samples, "civicgrid_requests_overdue", tier="grid") == 1
    assert total(samples, "civicgrid_requests_overdue", tier="department") == 0
