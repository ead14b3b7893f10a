"""resources benchmark: 12345 intake from Kafka, dispatch latency, supervisor dashboard queries.

    ./civicgrid bench resources_requests [--intake N] [--latency N] [--dashboard-requests N]
        [--communities N] [--resources-per-community N]

Prints JSON:
- city: a year of a city's requests (``--dashboard-requests``, default 1,000,000) and its report-in
  resources (``--resources-per-community`` × ``--communities``), synthetic, written straight into the
  store with the service's own document mapping, and the dashboards' buckets summed from them with
  the service's own code — load times;
- intake: N hotline events pre-loaded on Kafka, then consumed by the service on top of that store
  (validate, locate the building's grid, store the request, dispatch it, outbox) — events/s, and the
  ratio to ``bench.kafka_baseline.raw_aiokafka`` (bare aiokafka, no work) measured in the same run;
- dispatch latency p50/p99: from producing a hotline event to the ``request.dispatched`` event
  arriving on the requests topic (through the service and its outbox relay), at a steady rate;
- dashboard: the supervisor rates for one street and for the whole city, the overdue list of a
  street, and one reconciliation pass of the side collections (what the periodic reconciler costs).

Everything runs in its own MongoDB database and suffixed topics, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from bench.kafka_baseline import raw_aiokafka
from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.events import org
from civicgrid_contracts.events.common import RequestKind, Urgency
from civicgrid_contracts.events.municipal import HotlineRequestSubmitted
from civicgrid_resources.adapters.bulk import load_requests, load_resources
from civicgrid_resources.bootstrap import create_app
from civicgrid_resources.domain.deployment import ReportInBasis, ReportInStatus, Resource, ResourceKind
from civicgrid_resources.domain.requests import (
    Actor,
    Assignee,
    ServiceRequest,
    SlaPolicy,
    Tier,
    tier_office,
)
from civicgrid_resources.domain.requests import Urgency as DomainUrgency
from civicgrid_resources.service_layer import supervision
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.stores.mongo import create_client

CITY = "4201"
DISTRICTS = ["420102", "420103", "420104", "420105", "420106", "420107", "420111", "420112"]
URGENCIES = [Urgency.ORDINARY] * 6 + [Urgency.UTILITIES] * 3 + [Urgency.EMERGENCY, Urgency.COMPLEX]


def community_codes(n: int) -> list[str]:
    """``n`` community codes spread over the city's districts, about 12 communities per street."""
    codes = []
    for i in range(n):
        district = DISTRICTS[i % len(DISTRICTS)]
        street = (i // len(DISTRICTS)) // 12 + 1
        community = (i // len(DISTRICTS)) % 12 + 1
        codes.append(f"{district}{street:03d}{community:03d}")
    return codes


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def hotline_event(community: str, ticket: str, building: str) -> Any:
    payload = HotlineRequestSubmitted(
        community_code=community,
        ticket_no=ticket,
        received_at=datetime.now(UTC),
        kind=random.choice(list(RequestKind)),
        category="环境卫生",
        urgency=random.choice(URGENCIES),
        address="武汉市某社区",
        building_code=building,
        description="垃圾清运不及时",
    )
    return new_event(payload, source="/municipal/hotline12345")


async def seed_places(ctx: Context, communities: list[str], grids_per_community: int) -> None:
    for code in communities:
        await ctx.places.apply(
            org.PlaceRegistered(
                community_code=code,
                kind=org.PlaceKind.COMMUNITY,
                code=code,
                name=code,
                parent_code=code[:9] + "000",
            )
        )
        for g in range(1, grids_per_community + 1):
            grid = f"{code}{g:03d}"
            await ctx.places.apply(
                org.GridDefined(community_code=code, grid_id=grid, name=grid, building_codes=[f"B{grid}"])
            )


class Service:
    def __init__(self, settings: ResourcesSettings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._lifespan: Any = None

    @property
    def ctx(self) -> Context:
        context: Context = self.app.state.context
        return context

    async def __aenter__(self) -> Service:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._lifespan.__aexit__(None, None, None)


async def _produce(bootstrap: str, topic: str, events: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for event in events:
            record = event.to_kafka()
            futures.append(await producer.send(topic, record.value, key=record.key, headers=record.headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def committed_total(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


async def _poll(predicate: Callable[[], Awaitable[bool]], interval: float = 0.25) -> None:
    while True:
        if await predicate():
            return
        await asyncio.sleep(interval)


async def intake(settings: ResourcesSettings, communities: list[str], n: int) -> dict[str, Any]:
    """Pre-load ``n`` events, start the service, time until all are stored as dispatched requests."""
    topic = "municipal.hotline12345.requests.v1" + settings.topic_suffix
    async with Service(settings.model_copy(update={"run_background_workers": False})) as svc:
        await seed_places(svc.ctx, communities, 3)
    events = [
        hotline_event(c, f"B{i:08d}", f"B{c}{1 + i % 3:03d}")
        for i, c in enumerate(random.choices(communities, k=n))
    ]
    await _produce(settings.kafka_bootstrap_servers, topic, events)
    start = time.time()
    async with Service(settings) as svc:
        group = f"{settings.consumer_group}.hotline"

        async def all_stored() -> bool:
            # The service commits an offset only after the request is stored: the group's committed
            # offsets say how many are in, without counting documents (a scan on FerretDB).
            return await committed_total(settings.kafka_bootstrap_servers, group, topic) >= n

        pending = svc.app.state.store.db["outbox_pending"]

        async def all_published() -> bool:  # the small side collection, not a scan of the requests
            return bool(await pending.estimated_document_count() == 0)

        await _poll(all_stored)
        stored = time.time() - start
        await _poll(all_published)
        published = time.time() - start
    return {
        "events": n,
        "seconds_to_store": round(stored, 2),
        "events_per_second": round(n / stored, 1),
        "seconds_to_store_and_publish": round(published, 2),
        "events_per_second_with_outbox": round(n / published, 1),
    }


async def dispatch_latency(
    settings: ResourcesSettings, communities: list[str], n: int, rate: float
) -> dict[str, Any]:
    hotline = "municipal.hotline12345.requests.v1" + settings.topic_suffix
    requests_topic = "civicgrid.resources.requests.v1" + settings.topic_suffix
    sent: dict[str, float] = {}
    latencies: list[float] = []
    async with Service(settings) as svc:
        del svc
        consumer = AIOKafkaConsumer(
            requests_topic,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=None,
            auto_offset_reset="latest",
        )
        await consumer.start()
        await consumer.seek_to_end()
        await asyncio.sleep(1.0)
        done = asyncio.Event()

        async def read() -> None:
            async for record in consumer:
                headers = {k: v.decode() for k, v in record.headers}
                if headers["ce_type"].endswith("request.dispatched.v1"):
                    ticket = headers["ce_subject"].removeprefix("h12345-")
                    if ticket in sent:
                        latencies.append(time.time() - sent[ticket])
                        if len(latencies) >= n:
                            done.set()
                            return

        reader = asyncio.create_task(read())
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        await producer.start()
        start = time.time()
        for i in range(n):
            delay = start + i / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            community = random.choice(communities)
            ticket = f"L{i:08d}"
            record = hotline_event(community, ticket, f"B{community}001").to_kafka()
            sent[ticket] = time.time()
            await producer.send(hotline, record.value, key=record.key, headers=record.headers)
        await producer.stop()
        await asyncio.wait_for(done.wait(), timeout=600)
        reader.cancel()
        await consumer.stop()
    return {"events": n, "rate_per_second": rate, **_percentiles(latencies)}


def synthetic_request(i: int, community: str, now: datetime, sla: SlaPolicy) -> ServiceRequest:
    urgency = random.choice(list(DomainUrgency))
    received = now - timedelta(days=random.uniform(0, 365))
    grid = f"{community}{1 + (i // 7) % 4:03d}"  # several grids per community, whatever their count
    request = ServiceRequest.receive(
        request_id=f"bench-{i}",
        community_code=community,
        channel="hotline12345",
        kind="help",
        category="环境卫生",
        urgency=urgency,
        summary="垃圾清运不及时",
        now=received,
        sla=sla,
        actor=Actor("hotline12345"),
        grid_id=grid,
        resident_person_id=f"p-{i}",
    )
    request.dispatch(Tier.GRID, [Assignee(f"res-{community}-1")], Actor(None), received)
    roll = random.random()
    if roll < 0.9:
        request.accept(f"res-{community}-1", Actor("p"), received + timedelta(hours=1))
    if roll < 0.8:
        request.resolve("已处理", Actor("p"), received + timedelta(days=1))
    if roll < 0.6:
        request.evaluate(
            random.choice([3, 4, 5, 5, 5]), None, Actor(f"p-{i}", f"p-{i}"), received + timedelta(days=2)
        )
    if roll > 0.97:
        request.escalate_overdue(received + timedelta(days=20), sla)
        if request.tier is not Tier.GRID:
            request.assignees = [tier_office(request.tier or Tier.COMMUNITY, community, "x")]
    request.take_events()
    return request


async def load_city(
    settings: ResourcesSettings, communities: list[str], n_requests: int, resources_per_community: int
) -> dict[str, Any]:
    """A year of a city's requests and its report-in resources, written straight into the store by the
    service's bulk loader (its own document mapping; deadlines and statistics made to agree)."""
    async with Service(settings.model_copy(update={"run_background_workers": False})):
        pass  # a first start creates the collections' indexes, kept up to date by the load below
    client = create_client(settings.mongo_uri, "bench")
    db = client[settings.mongo_database]
    sla = settings.sla_policy()
    now = datetime.now(UTC)
    start = time.time()
    year = (synthetic_request(i, communities[i % len(communities)], now, sla) for i in range(n_requests))
    loaded = await load_requests(db, year)  # requests, their deadlines, and the statistics' buckets
    requests_loaded = time.time() - start
    start = time.time()
    people = (
        Resource(
            resource_id=f"res-{community}-{j}",
            community_code=community,
            kind=ResourceKind.IN_SERVICE_MEMBER,
            display_name="member",
            basis=ReportInBasis.PAIRED,
            reported_at=now,
            person_id=f"pm-{community}-{j}",
            status=ReportInStatus.CONFIRMED,
        )
        for community in communities
        for j in range(resources_per_community)
    )
    resources = await load_resources(db, people)
    resources_loaded = time.time() - start
    await client.close()
    return {
        "requests": loaded.documents,
        "resources": resources.documents,
        "communities": len(communities),
        "statistics_buckets": loaded.statistics_buckets,
        "open_requests_tracked": loaded.open_requests_tracked,
        "load_requests_and_buckets_seconds": round(requests_loaded, 1),
        "load_resources_seconds": round(resources_loaded, 1),
    }


async def dashboards(settings: ResourcesSettings, communities: list[str], reconcile: bool) -> dict[str, Any]:
    street = communities[0][:9]
    timings: dict[str, Any] = {}
    async with Service(settings.model_copy(update={"run_background_workers": False})) as svc:
        admin = Principal("bench", frozenset({Role.ADMIN}))
        for name, region, group in (("street_rates", street, "community"), ("city_rates", CITY, "street")):
            t0 = time.perf_counter()
            result = await supervision.rates(svc.ctx, admin, region, group)
            timings[f"{name}_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            timings[f"{name}_groups"] = len(result["groups"])
            timings[f"{name}_requests_counted"] = sum(g["total"] for g in result["groups"])
        t0 = time.perf_counter()
        overdue = await supervision.overdue(svc.ctx, admin, street, 100)
        timings["street_overdue_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        timings["street_overdue_rows"] = len(overdue)
        if reconcile:  # reads every open request: minutes at a city's scale (the 6-hourly safety net)
            t0 = time.perf_counter()
            found = await svc.ctx.maintenance.reconcile()
            timings["reconcile_side_collections_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            timings["reconcile_found"] = found
    return timings


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = os.environ.get("CIVICGRID_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    mongo = os.environ.get("CIVICGRID_MONGO_URI", "mongodb://127.0.0.1:27017")
    tag = uuid.uuid4().hex[:8]
    settings = ResourcesSettings(
        kafka_bootstrap_servers=bootstrap,
        mongo_uri=mongo,
        mongo_database=f"bench_resources_{tag}",
        topic_suffix=f".bench{tag}",
        consumer_group=f"bench-{tag}",
        log_level="WARNING",
        log_json=False,
        environment="test",
        keys_dir=os.environ.get("CIVICGRID_KEYS_DIR", ".local/keys"),
        outbox_poll_interval_seconds=0.05,
    )
    communities = community_codes(args.communities)
    live = communities[: args.intake_communities]  # places seeded for intake (dashboards need none)
    result: dict[str, Any] = {"scale": vars(args)}
    try:
        # The city's year is in the store first: intake and dispatch are measured against it.
        result["city"] = await load_city(
            settings, communities, args.dashboard_requests, args.resources_per_community
        )
        raw = await raw_aiokafka(bootstrap, args.intake)
        result["raw_aiokafka_consume"] = {"events": raw.events, "events_per_second": raw.events_per_second}
        result["intake"] = await intake(settings, live, args.intake)
        result["intake"]["ratio_to_raw_aiokafka"] = round(
            result["intake"]["events_per_second"] / raw.events_per_second, 4
        )
        result["dispatch_latency"] = await dispatch_latency(settings, live, args.latency, args.latency_rate)
        result["dashboard"] = await dashboards(settings, communities, args.reconcile)
    finally:
        client = create_client(mongo, "bench")
        await client.drop_database(settings.mongo_database)
        await client.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intake", type=int, default=5000)
    parser.add_argument("--latency", type=int, default=300)
    parser.add_argument("--reconcile", action="store_true", help="also time one reconciliation pass")
    parser.add_argument("--latency-rate", type=float, default=20.0)
    parser.add_argument("--dashboard-requests", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=1500)
    parser.add_argument("--intake-communities", type=int, default=100)
    parser.add_argument("--resources-per-community", type=int, default=200)
    print(json.dumps(asyncio.run(run(parser.parse_args())), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
