"""Org-graph's appointments to grid posts, read from its memberships topic on real Kafka and stored in
FerretDB: the grid worker is seated in the grid's team (formed for them) and gets the grid's requests;
the end of the term takes them out; a fact delivered twice changes nothing more; an end read before
its start seats nobody; a malformed fact is dead-lettered with its reason and the next one is taken."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import org
from civicgrid_resources.domain.appointments import appointee_resource_id
from civicgrid_runtime.auth import Role
from tests.integration.resources.conftest import Running, event_types, records_where
from tests.support.kafka import send_raw, wait_for

pytestmark = pytest.mark.integration

MEMBERSHIPS = "civicgrid.org.memberships.v1"
DEPLOYMENT = "civicgrid.resources.deployment.v1"
TODAY = datetime.now(UTC).date()


def started(
    community: str, membership: str, person: str, start: date, post: str = "grid_worker"
) -> CloudEvent:
    fact = org.MembershipStarted(
        community_code=community,
        membership_id=membership,
        person_id=person,
        post=post,
        org_id=f"org-rc-{community}",
        grid_id=community + "001",
        place_code=community,
        start_date=start,
        basis="appointment",
        basis_reference="居委会决定2026-1号",
        cross_appointment=False,
    )
    return new_event(fact, source="/civicgrid/org-graph", subject=membership)


def ended(community: str, membership: str, end: date) -> CloudEvent:
    fact = org.MembershipEnded(
        community_code=community, membership_id=membership, end_date=end, reason="resigned"
    )
    return new_event(fact, source="/civicgrid/org-graph", subject=membership)


async def team(service: Running, grid: str) -> dict[str, Any] | None:
    answer = await service.client.get(f"/grids/{grid}/team", headers=service.auth())
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def record(service: Running, community: str, grid: str, summary: str) -> dict[str, Any]:
    answer = await service.client.post(
        "/requests",
        json={
            "community_code": community,
            "grid_id": grid,
            "kind": "help",
            "category": "repairs",
            "urgency": "ordinary",
            "summary": summary,
        },
        headers=service.auth(),
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def handled(service: Running, event: CloudEvent) -> bool:
    return await service.ctx.inbox.seen("grid-appointments", event.id)


async def test_an_appointed_grid_worker_is_seated_in_the_grids_team_and_a_grid_request_is_dispatched_to_them(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    person = f"p-worker-{community}"
    person_fact = org.PersonRegistered(
        community_code=community, person_id=person, display_name="王网格员", party_member=False
    )
    await service.publish(new_event(person_fact, source="/civicgrid/org-graph", subject=person), MEMBERSHIPS)
    appointment = started(community, f"ms-{community}-1", person, TODAY - timedelta(days=3))
    await service.publish(appointment, MEMBERSHIPS)

    async def seated() -> dict[str, Any] | None:
        found = await team(service, grid)
        return found if found and found["members"] else None

    assert await wait_for(seated, timeout=60), "the appointment never reached the grid's team"
    members = (await seated() or {})["members"]
    resource_id = appointee_resource_id(community, person)
    assert [(m["resource_id"], m["person_id"], m["role"]) for m in members] == [
        (resource_id, person, "grid_worker")
    ]
    resource = (await service.client.get(f"/resources/{resource_id}", headers=service.auth())).json()
    assert (resource["kind"], resource["basis"], resource["status"], resource["display_name"]) == (
        "community_worker",
        "appointment",
        "confirmed",
        "王网格员",
    )
    assert [g["grid_id"] for g in resource["grids"]] == [grid]

    request = await record(service, community, grid, "楼道灯坏了")
    assert request["tier"] == "grid"
    assert request["assignee_ids"] == [resource_id]
    worker = service.auth(Role.MEMBER, region=None, person=person)
    accepted = await service.client.post(f"/requests/{request['id']}/accept", json={}, headers=worker)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "in_progress"

    types = await event_types(service, DEPLOYMENT, f"team-{grid}", 2)
    assert types == ["cn.civicgrid.resources.team.formed.v1", "cn.civicgrid.resources.team.member_added.v1"]
    caused = await records_where(
        service, service.topic(DEPLOYMENT), lambda h: h.get("ce_causationid") == appointment.id, 5
    )
    assert sorted(h["ce_type"].split(".")[-2] for h, _ in caused) == [
        "formed",
        "joined_grid",
        "member_added",
        "report_in_confirmed",
        "reported_in",
    ]
    assert {h.get("ce_correlationid") for h, _ in caused} == {appointment.id}


async def test_the_end_of_the_term_takes_the_worker_out_of_the_grids_requests(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    person = f"p-worker-{community}"
    membership = f"ms-{community}-1"
    first = started(community, membership, person, TODAY - timedelta(days=30))
    await service.publish(first, MEMBERSHIPS)
    await service.publish(ended(community, membership, TODAY - timedelta(days=1)), MEMBERSHIPS)

    async def ended_seat() -> bool:
        found = await team(service, grid)
        return bool(found and found["members"] and found["members"][0]["period_end"])

    assert await wait_for(ended_seat, timeout=60), "the end of the term never reached the team"
    [seat] = (await team(service, grid) or {})["members"]
    assert seat["period_end"] == (TODAY - timedelta(days=1)).isoformat()
    request = await record(service, community, grid, "路灯不亮")
    assert request["assignee_ids"] == [f"grid-{grid}"], "nobody serves the grid: its desk has it"
    resource_id = appointee_resource_id(community, person)
    types = await event_types(service, DEPLOYMENT, resource_id, 4)
    assert types[-1] == "cn.civicgrid.resources.resource.left_grid.v1"


async def test_a_fact_delivered_twice_seats_the_worker_once_and_publishes_nothing_more(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    person = f"p-worker-{community}"
    appointment = started(community, f"ms-{community}-1", person, TODAY)
    await service.publish(appointment, MEMBERSHIPS)
    assert await wait_for(lambda: handled(service, appointment), timeout=60)
    await service.publish(appointment, MEMBERSHIPS)  # redelivered: the same event id
    again = started(community, f"ms-{community}-1", person, TODAY)  # the same term re-published
    await service.publish(again, MEMBERSHIPS)
    assert await wait_for(lambda: handled(service, again), timeout=60)
    [seat] = (await team(service, grid) or {})["members"]
    assert seat["person_id"] == person
    resource_id = appointee_resource_id(community, person)
    about_resource = await event_types(service, DEPLOYMENT, resource_id, 4)
    assert about_resource == [
        "cn.civicgrid.resources.resource.reported_in.v1",
        "cn.civicgrid.resources.resource.report_in_confirmed.v1",
        "cn.civicgrid.resources.resource.joined_grid.v1",
    ]
    about_team = await event_types(service, DEPLOYMENT, f"team-{grid}", 3)
    assert about_team == [
        "cn.civicgrid.resources.team.formed.v1",
        "cn.civicgrid.resources.team.member_added.v1",
    ]


async def test_an_end_read_before_its_start_seats_nobody(service: Running, community: str) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    person = f"p-worker-{community}"
    membership = f"ms-{community}-1"
    await service.publish(ended(community, membership, TODAY - timedelta(days=2)), MEMBERSHIPS)
    late_start = started(community, membership, person, TODAY - timedelta(days=60))
    await service.publish(late_start, MEMBERSHIPS)
    assert await wait_for(lambda: handled(service, late_start), timeout=60)
    assert await team(service, grid) is None
    resource = await service.client.get(
        f"/resources/{appointee_resource_id(community, person)}", headers=service.auth()
    )
    assert resource.status_code == 404
    request = await record(service, community, grid, "垃圾未清运")
    assert request["assignee_ids"] == [f"grid-{grid}"]


async def test_a_malformed_membership_fact_is_dead_lettered_with_its_reason_and_the_next_one_is_taken(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    bad_id = f"bad-{community}"
    headers = [
        ("ce_id", bad_id.encode()),
        ("ce_source", b"/civicgrid/org-graph"),
        ("ce_type", org.MembershipStarted.event_type.encode()),
        ("ce_specversion", b"1.0"),
        ("ce_time", b"2026-06-01T08:00:00Z"),
        ("content-type", b"application/json"),
    ]
    body = {"community_code": community, "membership_id": "ms-x", "person_id": "p-x", "grid_id": grid}
    await send_raw(
        service.settings.kafka_bootstrap_servers,
        service.topic(MEMBERSHIPS),
        json.dumps(body).encode(),
        community.encode(),
        headers,
    )
    good = started(community, f"ms-{community}-2", f"p-worker-{community}", TODAY)
    await service.publish(good, MEMBERSHIPS)
    assert await wait_for(lambda: handled(service, good), timeout=60)
    dead = await records_where(
        service, service.topic(MEMBERSHIPS) + ".dlq", lambda h: h.get("ce_id") == bad_id, 1
    )
    reasons = [h["x-dlq-reason"] for h, _ in dead]
    assert len(reasons) == 1
    assert "start_date" in reasons[0]
