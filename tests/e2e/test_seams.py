"""The seams between services, end to end (issue 9 item 5): each fact reaches the service that needs it.

The services run as processes over the real servers, each test's on topics of its own; every test reads
what the services publish from the offsets taken before it acts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeAlias

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from civicgrid_contracts.catalogue import dead_letter_topic, new_event, topic_for
from civicgrid_contracts.events import municipal, org, resources
from civicgrid_contracts.events.common import RequestKind, Urgency
from civicgrid_runtime.auth import Role, TokenIssuer
from civicgrid_runtime.kafka.topics import ensure_topics
from civicgrid_runtime.topic_names import TopicNames
from tests.e2e.processes import Stack, start_group_at_end
from tests.e2e.test_journey import Api, register_community
from tests.integration.notifications.harness import Kafka, eventually

pytestmark = pytest.mark.e2e
PLACES = topic_for(org.PlaceUpdated.event_type)
HOTLINE = topic_for(municipal.HotlineRequestSubmitted.event_type)
POPULATION = topic_for(municipal.PopulationReported.event_type)
Record: TypeAlias = ConsumerRecord[bytes, bytes]


def header(record: Record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode("utf-8", "replace")
    return None


@asynccontextmanager
async def reading_from_now(stack: Stack, catalogue_topic: str) -> AsyncIterator[Callable[[], list[Record]]]:
    """Read the stack's ``catalogue_topic`` from its current end in the background; yields a view of what
    arrived since."""
    bootstrap = stack.kafka
    await ensure_topics(bootstrap, [catalogue_topic], topics=TopicNames(stack.topic_suffix))
    topic = stack.topic(catalogue_topic)
    # earliest: a reset started by assign() that lands after the seek below can only re-read (filtered
    # out by the callers), never jump past a record published meanwhile
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[Record] = []
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        assert partitions, f"{topic} has no partitions"
        consumer.assign(partitions)
        for tp, end in (await consumer.end_offsets(partitions)).items():
            consumer.seek(tp, end)

        async def poll() -> None:
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    seen.extend(records)

        task = asyncio.create_task(poll())
        try:
            yield lambda: list(seen)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await consumer.stop()


async def accepted_eventually(api: Api, path: str, body: Any, what: str, timeout: float = 45) -> Any:
    """Repeat a write resources refuses with 422 until org-graph's events reached it."""
    answers: list[httpx.Response] = []

    async def probe() -> bool:
        answers.append(await api.call("POST", path, body))
        assert answers[-1].status_code in (200, 201, 422), answers[-1].text
        return answers[-1].status_code < 300

    try:
        await eventually(probe, timeout=timeout, interval=0.5, what=what)
    except AssertionError as error:
        last = answers[-1].text[:400] if answers else None
        raise AssertionError(f"{error}; last answer: {last}") from None
    return answers[-1].json()


async def test_a_buildings_first_grid_set_in_org_graph_lets_resources_take_requests_for_it_in_that_grid(
    stack: Stack, issuer: TokenIssuer
) -> None:
    og_process = stack.service("org-graph")
    rs_process = stack.service("resources")
    await start_group_at_end(
        stack.kafka, f"{rs_process.env['RESOURCES_CONSUMER_GROUP']}.places", [PLACES], stack.topic_suffix
    )
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in (og_process, rs_process)))
    admin = issuer.mint("e2e-admin", [Role.ADMIN])
    async with httpx.AsyncClient(timeout=30) as client:
        og, rs = Api(client, og_process.url, admin), Api(client, rs_process.url, admin)
        _street, community = await register_community(og)
        compound, grid = f"{community}-C01", f"{community}001"
        gridded, first = f"{compound}-B01", f"{compound}-B02"
        await og.ok(
            "POST",
            "/places",
            {"kind": "compound", "code": compound, "parent_code": community, "name": "紫阳苑"},
        )
        for code, name in ((gridded, "1栋"), (first, "2栋")):
            await og.ok(
                "POST", "/places", {"kind": "building", "code": code, "parent_code": compound, "name": name}
            )
        await og.ok("POST", "/grids", {"grid_id": grid, "name": "第一网格", "building_codes": [gridded]})

        def request_for(building: str) -> dict[str, Any]:
            return {
                "community_code": community,
                "kind": "help",
                "category": "楼道照明",
                "urgency": "ordinary",
                "summary": "楼道灯不亮",
                "building_code": building,  # no grid_id: resources finds the building's grid
            }

        # The grid has reached resources (a request for a building in it is located there) ...
        located = await accepted_eventually(rs, "/requests", request_for(gridded), "the grid in resources")
        assert located["grid_id"] == grid
        # ... and the other building, registered without a grid, is refused for now.
        refused = await rs.call("POST", "/requests", request_for(first))
        assert refused.status_code == 422, refused.text
        assert "building_known" in refused.text

        moved = await og.call("POST", f"/buildings/{first}/grid", {"grid_id": grid})
        assert moved.status_code < 300, moved.text
        taken = await accepted_eventually(
            rs, "/requests", request_for(first), "the building's first grid in resources"
        )
        assert taken["grid_id"] == grid


async def test_a_population_report_sent_to_the_hotline_topic_is_dead_lettered_naming_the_hotline_group(
    stack: Stack, kafka: Kafka
) -> None:
    rs_process = stack.service("resources")
    group = f"{rs_process.env['RESOURCES_CONSUMER_GROUP']}.hotline"
    await start_group_at_end(stack.kafka, group, [HOTLINE], stack.topic_suffix)
    await asyncio.to_thread(rs_process.start)
    community = "420106999001"
    report = new_event(
        municipal.PopulationReported(
            community_code=community, as_of=date(2026, 1, 1), residents=10, households=4
        ),
        source="e2e/statistics",
    )
    async with reading_from_now(stack, dead_letter_topic(HOTLINE)) as dead_letters:
        record = report.to_kafka()
        await kafka.producer.send_and_wait(
            stack.topic(HOTLINE), record.value, key=record.key, headers=record.headers
        )

        def ours() -> list[Record]:
            return [r for r in dead_letters() if header(r, "ce_id") == report.id]

        async def arrived() -> bool:
            return bool(ours())

        await eventually(arrived, timeout=45, what="the misrouted report on the hotline's dead-letter topic")
    dead = ours()[0]
    assert header(dead, "x-dlq-consumer-group") == group
    assert header(dead, "x-dlq-original-topic") == stack.topic(HOTLINE)
    reason = header(dead, "x-dlq-reason") or ""
    assert POPULATION in reason, reason
    assert municipal.PopulationReported.event_type in reason, reason
    assert dead.value == record.value


async def test_the_place_update_org_graph_derives_from_a_population_report_names_the_report_as_its_cause(
    stack: Stack, kafka: Kafka, issuer: TokenIssuer
) -> None:
    og_process = stack.service("org-graph")
    await start_group_at_end(
        stack.kafka, og_process.env["ORGGRAPH_CONSUMER_GROUP"], [POPULATION], stack.topic_suffix
    )
    await asyncio.to_thread(og_process.start)
    admin = issuer.mint("e2e-admin", [Role.ADMIN])
    async with httpx.AsyncClient(timeout=30) as client:
        _street, community = await register_community(Api(client, og_process.url, admin))
    correlation = f"e2e-conversation-{uuid.uuid4().hex[:8]}"
    report = new_event(
        municipal.PopulationReported(
            community_code=community, as_of=date(2026, 1, 1), residents=13001, households=4601
        ),
        source="e2e/statistics",
        correlation_id=correlation,
    )
    async with reading_from_now(stack, PLACES) as places:
        await kafka.publish(report)

        def derived() -> list[Record]:
            return [
                r
                for r in places()
                if header(r, "ce_partitionkey") == community
                and header(r, "ce_type") == org.PlaceUpdated.event_type
            ]

        async def arrived() -> bool:
            return bool(derived())

        await eventually(arrived, timeout=45, what="org-graph's place.updated for the reported community")
    updates = derived()
    assert [header(r, "ce_causationid") for r in updates] == [report.id] * len(updates)
    assert [header(r, "ce_correlationid") for r in updates] == [correlation] * len(updates)
    assert b'"residents":13001' in updates[0].value


async def test_a_hotline_ticket_becomes_a_request_timed_by_the_ticket_whose_events_name_the_ticket_as_cause(
    stack: Stack, kafka: Kafka, issuer: TokenIssuer
) -> None:
    og_process = stack.service("org-graph")
    rs_process = stack.service("resources")
    group = rs_process.env["RESOURCES_CONSUMER_GROUP"]
    await start_group_at_end(stack.kafka, f"{group}.places", [PLACES], stack.topic_suffix)
    await start_group_at_end(stack.kafka, f"{group}.hotline", [HOTLINE], stack.topic_suffix)
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in (og_process, rs_process)))
    admin = issuer.mint("e2e-admin", [Role.ADMIN])
    async with httpx.AsyncClient(timeout=30) as client:
        og, rs = Api(client, og_process.url, admin), Api(client, rs_process.url, admin)
        _street, community = await register_community(og)
        walk_in = {"community_code": community, "kind": "inquiry", "category": "咨询", "urgency": "ordinary"}
        await accepted_eventually(
            rs, "/requests", walk_in | {"summary": "社区已知"}, "the community in resources"
        )

        received_at = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
        ticket_no = f"E2E{uuid.uuid4().hex[:12].upper()}"
        correlation = f"e2e-hotline-{uuid.uuid4().hex[:8]}"
        ticket = new_event(
            municipal.HotlineRequestSubmitted(
                community_code=community,
                ticket_no=ticket_no,
                received_at=received_at,
                kind=RequestKind.COMPLAINT,
                category="噪音扰民",
                urgency=Urgency.ORDINARY,
                address="武昌区紫阳路1号",
                description="夜间施工噪音",
            ),
            source="e2e/hotline12345",
            correlation_id=correlation,
        )
        requests_topic = topic_for(resources.RequestReceived.event_type)
        async with reading_from_now(stack, requests_topic) as published:
            await kafka.publish(ticket)

            def derived() -> list[Record]:
                return [r for r in published() if header(r, "ce_causationid") == ticket.id]

            async def arrived() -> bool:
                return any(header(r, "ce_type") == resources.RequestReceived.event_type for r in derived())

            await eventually(arrived, timeout=45, what="resources' request.received for the ticket")
        assert [header(r, "ce_correlationid") for r in derived()] == [correlation] * len(derived())

        request = await rs.ok("GET", f"/requests/h12345-{ticket_no}")
    assert datetime.fromisoformat(request["received_at"]) == received_at
    assert datetime.fromisoformat(request["due_at"]) == received_at + timedelta(days=7)  # ordinary: 7 days
    assert request["address"] == "武昌区紫阳路1号"
    assert request["external_ref"] == ticket_no


async def test_points_for_a_resolved_request_go_to_the_member_who_handled_it_not_to_the_whole_grid_team(
    stack: Stack, issuer: TokenIssuer
) -> None:
    og_process = stack.service("org-graph")
    rs_process = stack.service("resources")
    await start_group_at_end(
        stack.kafka, f"{rs_process.env['RESOURCES_CONSUMER_GROUP']}.places", [PLACES], stack.topic_suffix
    )
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in (og_process, rs_process)))
    admin = issuer.mint("e2e-admin", [Role.ADMIN])
    async with httpx.AsyncClient(timeout=30) as client:
        og, rs = Api(client, og_process.url, admin), Api(client, rs_process.url, admin)
        _street, community = await register_community(og)
        grid = f"{community}001"
        await og.ok("POST", "/grids", {"grid_id": grid, "name": "第一网格"})
        persons = [f"e2e-{uuid.uuid4().hex[:10]}" for _ in range(3)]
        resource_ids: list[str] = []
        for n, person in enumerate(persons):
            body = {
                "community_code": community,
                "kind": "volunteer",
                "display_name": f"队员{n}",
                "person_id": person,
                "resource_id": f"e2e-res-{person}",
            }
            resource = await accepted_eventually(rs, "/resources", body, "the community in resources")
            resource_ids.append(resource["id"])
            await rs.ok("POST", f"/resources/{resource['id']}/confirm")
            joined = {"grid_id": grid, "role": "volunteer", "period_start": "2025-07-01"}
            await accepted_eventually(
                rs, f"/resources/{resource['id']}/grids", joined, "the grid in resources"
            )
        await rs.ok("POST", "/teams", {"grid_id": grid, "name": "第一网格服务队"})
        for resource_id in resource_ids:
            await rs.ok("POST", f"/teams/team-{grid}/members", {"resource_id": resource_id})
        request = await rs.ok(
            "POST",
            "/requests",
            {
                "community_code": community,
                "kind": "help",
                "category": "楼道照明",
                "urgency": "ordinary",
                "summary": "楼道灯不亮",
                "grid_id": grid,
            },
        )
        assert sorted(request["assignee_ids"]) == sorted(resource_ids)  # the whole team is dispatched

        handler = persons[1]
        handler_token = issuer.mint(handler, [Role.MEMBER], person_id=handler)
        path = f"/requests/{request['id']}"
        await rs.ok("POST", f"{path}/accept", {}, token=handler_token)
        resolved = await rs.ok("POST", f"{path}/resolve", {"result": "已更换灯泡"}, token=handler_token)
        assert resolved["status"] == "resolved"

        earned = {rid: (await rs.ok("GET", f"/points/{rid}"))["earned"] for rid in resource_ids}
    assert earned[resource_ids[1]] > 0, earned
    assert [earned[resource_ids[0]], earned[resource_ids[2]]] == [0, 0], earned
