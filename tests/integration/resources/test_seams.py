"""Seams and hostile callers (issue 9): both sides of a claim, the service report, the 12345 ticket's
own time and address, misrouted inbound events, causation and correlation ids, points for the people
who handled a request, a building's first grid, control characters and bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import org
from civicgrid_contracts.events.common import RequestKind, Urgency
from civicgrid_contracts.events.municipal import HotlineRequestSubmitted, PopulationReported
from civicgrid_runtime.auth import Role
from tests.integration.resources.conftest import Running, records_where
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

HOTLINE = "municipal.hotline12345.requests.v1"
PLACES = "civicgrid.org.places.v1"
REQUESTS = "civicgrid.resources.requests.v1"


async def _resource(
    service: Running, community: str, person: str, kind: str = "sunk_down_cadre", grid: str | None = None
) -> str:
    h = service.auth(region=community[:9])
    r = await service.client.post(
        "/resources",
        json={"community_code": community, "kind": kind, "display_name": "王芳", "person_id": person},
        headers=h,
    )
    assert r.status_code == 201, r.text
    resource_id = str(r.json()["id"])
    assert (await service.client.post(f"/resources/{resource_id}/confirm", headers=h)).status_code == 200
    if grid is not None:
        r = await service.client.post(
            f"/resources/{resource_id}/grids",
            json={"grid_id": grid, "role": kind, "period_start": "2025-01-01"},
            headers=h,
        )
        assert r.status_code == 200, r.text
    return resource_id


def _ticket(community: str, ticket: str, received_at: datetime, **extra: Any) -> HotlineRequestSubmitted:
    return HotlineRequestSubmitted(
        community_code=community,
        ticket_no=ticket,
        received_at=received_at,
        kind=RequestKind.HELP,
        category="供水",
        urgency=Urgency.ORDINARY,
        address="中华路街道和平里小区3栋2单元",
        description="整栋楼停水",
        **extra,
    )


async def _arrived(service: Running, request_id: str) -> dict[str, Any]:
    async def stored() -> bool:
        return await service.store.requests.find(request_id) is not None

    assert await wait_for(stored, timeout=60), f"{request_id} never arrived"
    return await service.store.requests.get(request_id)


async def test_a_member_of_another_street_can_neither_claim_nor_see_a_need_and_no_slot_is_taken(
    service: Running, community: str
) -> None:
    elsewhere = "420106087" + community[-3:]
    await service.seed_places(community, {})
    await service.seed_places(elsewhere, {})
    need = await service.client.post(
        "/needs",
        json={"community_code": elsewhere, "title": "助老送餐", "slots": 1},
        headers=service.auth(region="420106087"),
    )
    assert need.status_code == 201, need.text
    person = f"p-claimer-{community}"
    mine = await _resource(service, community, person)
    member = service.auth(Role.MEMBER, person=person)
    r = await service.client.post(
        f"/needs/{need.json()['id']}/claims", json={"resource_id": mine}, headers=member
    )
    assert r.status_code == 404, r.text
    assert "助老送餐" not in r.text
    missing = await service.client.post(
        "/needs/need-nosuchneed/claims", json={"resource_id": mine}, headers=member
    )
    assert (missing.status_code, missing.json()["detail"].replace("need-nosuchneed", "X")) == (
        404,
        r.json()["detail"].replace(need.json()["id"], "X"),
    ), "a need elsewhere reads exactly like no need"
    coordinator_here = service.auth(region=community[:9])
    r = await service.client.post(
        f"/needs/{need.json()['id']}/claims", json={"resource_id": mine}, headers=coordinator_here
    )
    assert r.status_code == 404, r.text
    admin = service.auth(Role.ADMIN, region=None)
    r = await service.client.post(
        f"/needs/{need.json()['id']}/claims", json={"resource_id": mine}, headers=admin
    )
    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "claimant_in_community"
    stored = await service.store.needs.get(need.json()["id"])
    assert (stored["remaining"], stored["claims"]) == (1, [])


async def test_a_member_claims_a_need_of_their_own_community_and_sees_only_the_claim(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    need = await service.client.post(
        "/needs", json={"community_code": community, "title": "助老送餐", "slots": 2}, headers=service.auth()
    )
    person = f"p-volunteer-{community}"
    mine = await _resource(service, community, person, kind="volunteer")
    r = await service.client.post(
        f"/needs/{need.json()['id']}/claims",
        json={"resource_id": mine},
        headers=service.auth(Role.MEMBER, person=person),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["need_id"], r.json()["resource_id"], r.json()["remaining"]) == (
        need.json()["id"],
        mine,
        1,
    )
    assert "claims" not in r.json()


async def test_an_admin_reads_the_service_report_of_one_resource(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    resource_id = await _resource(service, community, f"p-reported-{community}")
    admin = service.auth(Role.ADMIN, region=None)
    r = await service.client.get(f"/service-reports?resource_id={resource_id}", headers=admin)
    assert r.status_code == 200, r.text
    assert [row["resource_id"] for row in r.json()["resources"]] == [resource_id]
    other_street = service.auth(region="420106087")
    r = await service.client.get(f"/service-reports?resource_id={resource_id}", headers=other_street)
    assert r.status_code == 403


async def test_a_hotline_ticket_keeps_its_own_received_time_as_the_start_of_its_deadline_and_its_address(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    taken_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    event = new_event(_ticket(community, f"WT{community}", taken_at), source="/municipal/hotline12345")
    await service.publish(event, HOTLINE)
    doc = await _arrived(service, f"h12345-WT{community}")
    assert doc["received_at"] == taken_at
    assert doc["due_at"] == taken_at + timedelta(days=7), "ordinary: seven days from the ticket's own time"
    assert doc["timeline"][0]["at"] == taken_at
    view = await service.client.get(f"/requests/h12345-WT{community}", headers=service.auth())
    assert view.json()["address"] == "中华路街道和平里小区3栋2单元"


async def test_a_population_report_sent_to_the_hotline_topic_is_dead_lettered_with_the_reason(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    report = new_event(
        PopulationReported(
            community_code=community, as_of=datetime.now(UTC).date(), residents=3200, households=1100
        ),
        source="/municipal/statistics",
    )
    await service.publish(report, HOTLINE)
    found = await records_where(
        service, service.topic(HOTLINE) + ".dlq", lambda h: h.get("ce_id") == report.id, expected=1
    )
    assert len(found) == 1
    reason = found[0][0]["x-dlq-reason"]
    assert "municipal.statistics.population.v1" in reason
    assert found[0][0]["x-dlq-exception"] == "PermanentFailure"


async def test_events_derived_from_a_ticket_carry_its_id_as_cause_and_its_conversation(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    now = datetime.now(UTC)
    with_conversation: CloudEvent = new_event(
        _ticket(community, f"WC{community}", now),
        source="/municipal/hotline12345",
        correlation_id="corr-12345-a",
    )
    without: CloudEvent = new_event(
        _ticket(community, f"WD{community}", now), source="/municipal/hotline12345"
    )
    for event in (with_conversation, without):
        await service.publish(event, HOTLINE)
    for event, correlation in ((with_conversation, "corr-12345-a"), (without, without.id)):
        request_id = f"h12345-{event.data['ticket_no']}"

        def about(headers: dict[str, str], subject: str = request_id) -> bool:
            return headers.get("ce_subject") == subject

        found = await records_where(service, service.topic(REQUESTS), about, expected=2)
        assert [h["ce_type"].split(".")[-2] for h, _ in found] == ["received", "dispatched"]
        assert {(h["ce_causationid"], h["ce_correlationid"]) for h, _ in found} == {(event.id, correlation)}


async def test_only_the_person_who_handled_a_request_earns_points_not_the_whole_grid_team(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    h = service.auth()
    people = {"cadre": "sunk_down_cadre", "police": "police", "city": "city_management"}
    members = {
        name: await _resource(service, community, f"p-{name}-{community}", kind, grid)
        for name, kind in people.items()
    }
    team = await service.client.post("/teams", json={"grid_id": grid, "name": "网格服务队"}, headers=h)
    assert team.status_code == 201, team.text
    for resource_id in members.values():
        r = await service.client.post(
            f"/teams/{team.json()['id']}/members", json={"resource_id": resource_id}, headers=h
        )
        assert r.status_code == 200, r.text
    request = await service.client.post(
        "/requests",
        json={
            "community_code": community,
            "grid_id": grid,
            "kind": "help",
            "category": "lights",
            "summary": "路灯不亮",
        },
        headers=h,
    )
    assert sorted(request.json()["assignee_ids"]) == sorted(members.values())
    cadre = service.auth(Role.MEMBER, person=f"p-cadre-{community}")
    for step, body in (("accept", {}), ("resolve", {"result": "换了灯泡"})):
        r = await service.client.post(f"/requests/{request.json()['id']}/{step}", json=body, headers=cadre)
        assert r.status_code == 200, r.text
    balances = {
        name: (await service.client.get(f"/points/{resource_id}", headers=h)).json()["points"]
        for name, resource_id in members.items()
    }
    assert balances == {"cadre": 2, "police": 0, "city": 0}


async def test_a_buildings_first_grid_set_after_it_was_registered_reaches_resources(
    service: Running, community: str
) -> None:
    grid, other = community + "001", community + "002"
    await service.seed_places(community, {grid: [], other: []})
    building = f"B{community}-77"
    registered = org.PlaceRegistered(
        community_code=community,
        kind=org.PlaceKind.BUILDING,
        code=building,
        name="77栋",
        parent_code=community,
    )
    first_grid = org.PlaceUpdated(community_code=community, code=building, attributes={"grid_id": grid})
    for payload in (registered, first_grid):
        await service.publish(new_event(payload, source="/civicgrid/org-graph"), PLACES)

    async def in_grid(expected: str) -> bool:
        found = await service.ctx.places.building(building)
        return found is not None and found.grid_id == expected

    assert await wait_for(lambda: in_grid(grid), timeout=60)
    body = {"community_code": community, "kind": "report", "category": "safety", "summary": "消防通道堵塞"}
    r = await service.client.post(
        "/requests", json={**body, "building_code": building}, headers=service.auth()
    )
    assert r.status_code == 201, r.text
    assert r.json()["grid_id"] == grid

    moved = org.GridBuildingMoved(
        community_code=community, building_code=building, from_grid_id=grid, to_grid_id=other
    )
    await service.publish(new_event(moved, source="/civicgrid/org-graph"), PLACES)
    assert await wait_for(lambda: in_grid(other), timeout=60)
    grids = await service.client.get(f"/communities/{community}/grids", headers=service.auth())
    assert {g["grid_id"]: g["building_codes"] for g in grids.json()} == {grid: [], other: [building]}


async def test_org_graphs_one_grid_assignment_fact_alone_puts_a_building_in_its_grid_and_moves_it(
    service: Running, community: str
) -> None:
    grid, other = community + "001", community + "002"
    await service.seed_places(community, {grid: [], other: []})
    building = f"{community}-C01-B78"
    registered = org.PlaceRegistered(
        community_code=community,
        kind=org.PlaceKind.BUILDING,
        code=building,
        name="78栋",
        parent_code=community,
    )
    first = org.GridBuildingAssigned(community_code=community, building_code=building, grid_id=grid)
    for payload in (registered, first):
        await service.publish(new_event(payload, source="/civicgrid/org-graph"), PLACES)

    async def in_grid(expected: str) -> bool:
        found = await service.ctx.places.building(building)
        return found is not None and found.grid_id == expected

    assert await wait_for(lambda: in_grid(grid), timeout=60)
    moved = org.GridBuildingAssigned(
        community_code=community, building_code=building, grid_id=other, previous_grid_id=grid
    )
    await service.publish(new_event(moved, source="/civicgrid/org-graph"), PLACES)
    assert await wait_for(lambda: in_grid(other), timeout=60)
    grids = await service.client.get(f"/communities/{community}/grids", headers=service.auth())
    assert {g["grid_id"]: g["building_codes"] for g in grids.json()} == {grid: [], other: [building]}


async def test_text_with_control_characters_is_refused_naming_the_field(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    body = {"community_code": community, "kind": "help", "category": "repairs", "summary": "门禁\u0000损坏"}
    r = await service.client.post("/requests", json=body, headers=service.auth())
    assert r.status_code == 422, r.text
    assert "summary" in json.dumps(r.json())
    assert "\\u0000" not in r.text
    assert "\u0000" not in r.text
    r = await service.client.post(
        "/requests",
        json={**body, "summary": "第一行\n第二行", "category": "re\u0007pairs"},
        headers=service.auth(),
    )
    assert r.status_code == 422
    assert "category" in json.dumps(r.json())
    r = await service.client.post(
        "/requests", json={**body, "summary": "第一行\n第二行"}, headers=service.auth()
    )
    assert r.status_code == 201, "line breaks are text"


@pytest.mark.parametrize(
    "path",
    [
        "/requests?community_code={c}&limit=1001",
        "/requests?community_code={c}&limit=0",
        "/requests?community_code={c}&status=lost",
        "/supervision/overdue?region={c}&limit=9223372036854775807",
        "/supervision/rates?region={c}&group_by=planet",
        "/points/ranking?community_code={c}&limit=501",
        "/service-reports?unit_id=unit-a&days=367",
    ],
)
async def test_query_parameters_past_their_limits_are_refused(
    service: Running, community: str, path: str
) -> None:
    r = await service.client.get(path.format(c=community), headers=service.auth())
    assert r.status_code == 422, r.text
