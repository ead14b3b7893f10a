"""/metrics: what the runtime measures moves with what happens (in-memory broker, fake stores)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from faststream.kafka import TestKafkaBroker
from prometheus_client.parser import text_string_to_metric_families

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.errors import PermanentFailure
from civicgrid_runtime.jobs import periodic
from civicgrid_runtime.kafka import EventRoutes, create_broker, subscribe_events
from civicgrid_runtime.kafka.dlq import DeadLetterPolicy
from civicgrid_runtime.metrics import ServiceMetrics
from civicgrid_runtime.outbox import OutboxRelay, PendingEvent
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED, population_reported

POPULATION = "municipal.statistics.population.v1"


async def scrape(metrics: ServiceMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, by name and sorted labels."""
    text = (await metrics.render()).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _app(metrics: ServiceMetrics) -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise HTTPException(404)
        return {"id": thing_id}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    metrics.install(app)
    return app


async def test_requests_are_counted_by_route_template_with_their_status_and_never_by_path() -> None:
    metrics = ServiceMetrics()
    transport = httpx.ASGITransport(app=_app(metrics), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/things/a", "/things/b", "/things/missing", "/nowhere", "/broken"):
            await client.get(path)
        exposed = await client.get("/metrics")
    samples = await scrape(metrics)
    route = "/things/{thing_id}"
    assert value(samples, "civicgrid_http_requests_total", method="GET", route=route, status="200") == 2
    assert value(samples, "civicgrid_http_requests_total", method="GET", route=route, status="404") == 1
    assert (
        value(samples, "civicgrid_http_requests_total", method="GET", route="(unmatched)", status="404") == 1
    )
    assert value(samples, "civicgrid_http_requests_total", method="GET", route="/broken", status="500") == 1
    assert value(samples, "civicgrid_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert not any("/things/a" in str(labels) for _name, labels in samples), "a path leaked into a label"
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain")
    assert "civicgrid_http_requests_total" in exposed.text


class Outbox:
    """Three entries written a minute ago."""

    def __init__(self) -> None:
        old = datetime.now(UTC) - timedelta(seconds=60)
        self.pending = [
            PendingEvent(f"e{i}", POPULATION, replace_time(population_reported(), old)) for i in range(3)
        ]

    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        return self.pending[:limit]

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None:
        done = {e.outbox_id for e in entries}
        self.pending = [p for p in self.pending if p.outbox_id not in done]


def replace_time(event: CloudEvent, when: datetime) -> CloudEvent:
    return event.model_copy(update={"time": when})


class Publisher:
    def __init__(self) -> None:
        self.down = True
        self.calls = 0
        self.called_twice = asyncio.Event()

    async def publish_many(self, items: Sequence[tuple[str, CloudEvent]]) -> None:
        self.calls += 1
        if self.calls >= 2:
            self.called_twice.set()
        if self.down:
            raise ConnectionError("Kafka is unavailable")


async def test_an_outbox_the_relay_cannot_publish_shows_its_backlog_and_age_until_it_is_published() -> None:
    metrics, publisher = ServiceMetrics(), Publisher()
    relay = OutboxRelay(Outbox(), publisher)
    metrics.watch_relay(relay)
    before = await scrape(metrics)
    assert value(before, "civicgrid_outbox_pending") == 0

    with pytest.raises(ConnectionError):
        await relay.run_once()
    stuck = await scrape(metrics)
    assert value(stuck, "civicgrid_outbox_pending") == 3
    assert value(stuck, "civicgrid_outbox_oldest_age_seconds") >= 60
    assert value(stuck, "civicgrid_outbox_published_total") == 0

    publisher.down = False
    assert await relay.run_once() == 3
    done = await scrape(metrics)
    assert value(done, "civicgrid_outbox_pending") == 0
    assert value(done, "civicgrid_outbox_oldest_age_seconds") == 0
    assert value(done, "civicgrid_outbox_published_total") == 3
    assert value(done, "civicgrid_outbox_last_poll_timestamp_seconds") > 0


async def test_a_relay_round_that_fails_is_counted() -> None:
    metrics, publisher = ServiceMetrics(), Publisher()
    relay = OutboxRelay(Outbox(), publisher, poll_interval=0.001, max_backoff=0.002)
    metrics.watch_relay(relay)
    relay.start()
    try:
        await asyncio.wait_for(publisher.called_twice.wait(), timeout=10)
    finally:
        await relay.stop()
    assert value(await scrape(metrics), "civicgrid_outbox_relay_failures_total") == publisher.calls >= 2


async def test_dead_letters_are_counted_by_original_topic_and_reason() -> None:
    policy = DeadLetterPolicy(max_attempts=1, backoff_seconds=0.001)
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1"), dead_letter=policy)
    metrics = ServiceMetrics()
    metrics.watch_broker(broker)

    async def refuse(event: Any) -> None:
        raise PermanentFailure("not for us")

    subscribe_events(
        broker, topics=[POPULATION], group_id="g", routes=EventRoutes({POPULATION_REPORTED: refuse})
    )
    async with TestKafkaBroker(broker):
        for _ in range(2):
            record = population_reported().to_kafka()
            headers = {k: v.decode() for k, v in record.headers}
            await broker.publish(record.value, POPULATION, key=record.key, headers=headers)
        await broker.publish(b"not a cloud event", POPULATION, key=b"k")
    samples = await scrape(metrics)
    assert value(samples, "civicgrid_dead_letters_total", topic=POPULATION, reason="PermanentFailure") == 2
    assert value(samples, "civicgrid_dead_letters_total", topic=POPULATION, reason="InvalidEvent") == 1


async def test_periodic_job_runs_are_counted_by_outcome() -> None:
    metrics = ServiceMetrics()
    runs: list[int] = []
    third = asyncio.Event()

    async def job() -> None:
        runs.append(1)
        if len(runs) == 3:
            third.set()
        if len(runs) == 1:
            raise RuntimeError("the store was away")

    stop = await periodic("sweeper", job, 0.001, observers=[metrics.observe_job])()
    try:
        await asyncio.wait_for(third.wait(), timeout=10)
    finally:
        await stop()
    samples = await scrape(metrics)
    assert value(samples, "civicgrid_job_runs_total", job="sweeper", outcome="error") == 1
    assert value(samples, "civicgrid_job_runs_total", job="sweeper", outcome="ok") == len(runs) - 1
    assert value(samples, "civicgrid_job_duration_seconds_count", job="sweeper") == len(runs)


async def test_a_failing_scrape_refresh_is_logged_and_the_rest_is_still_served() -> None:
    metrics = ServiceMetrics()
    gauge = metrics.gauge("civicgrid_test_figure", "A figure read from a store.")

    async def broken() -> None:
        raise ConnectionError("the store is away")

    async def fine() -> None:
        gauge.set(7)

    metrics.on_scrape(broken)
    metrics.on_scrape(fine)
    assert value(await scrape(metrics), "civicgrid_test_figure") == 7


def test_two_services_in_one_process_keep_separate_figures() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()
    first.dead_letters.labels("t", "InvalidEvent").inc()
    assert first.registry.get_sample_value(
        "civicgrid_dead_letters_total", {"topic": "t", "reason": "InvalidEvent"}
    )
    assert second.registry.get_sample_value(
        "civicgrid_dead_letters_total", {"topic": "t", "reason": "InvalidEvent"}
    ) in (None, 0)
