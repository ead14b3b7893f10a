"""The closed loop of residents' requests over HTTP, with real Kafka and FerretDB/MongoDB."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.resources.conftest import Running, event_types
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

REQUESTS = "civicgrid.resources.requests.v1"


async def _team(service: Running, community: str, grid: str, person: str) -> str:
    """A confirmed resource in ``grid`` and the grid's team with it; returns the resource id."""
    h = service.auth()
    r = await service.client.post(
        "/resources",
        json={
            "community_code": community,
            "kind": "sunk_down_cadre",
            "display_name": "王建国",
            "person_id": person,
            "unit_id": "unit-wuchang-finance",
            "skills": ["plumbing"],
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    resource_id = r.json()["id"]
    assert (await service.client.post(f"/resources/{resource_id}/confirm", headers=h)).status_code == 200
    r = await service.client.post(
        f"/resources/{resource_id}/grids",
        json={"grid_id": grid, "role": "sunk_down_cadre", "period_start": "2025-01-01"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = await service.client.post("/teams", json={"grid_id": grid, "name": "一网格服务队"}, headers=h)
    assert r.status_code == 201, r.text
    r = await service.client.post(
        f"/teams/{r.json()['id']}/members", json={"resource_id": resource_id}, headers=h
    )
    assert r.status_code == 200, r.text
    return str(resource_id)


async def test_a_request_goes_from_intake_through_the_grid_team_to_the_residents_evaluation(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: [f"B{community}-01"]})
    handler = await _team(service, community, grid, f"p-cadre-{community}")
    resident = f"p-resident-{community}"
    h = service.auth()

    r = await service.client.post(
        "/requests",
        json={
            "community_code": community,
            "kind": "help",
            "category": "water leak",
            "urgency": "utilities",
            "summary": "楼道水管漏水",
            "building_code": f"B{community}-01",
            "resident_person_id": resident,
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    request_id = created["id"]
    assert created["grid_id"] == grid
    assert created["status"] == "dispatched"
    assert created["tier"] == "grid"
    assert created["assignee_ids"] == [handler]

    cadre = service.auth(Role.MEMBER, person=f"p-cadre-{community}")
    steps = [
        (f"/requests/{request_id}/accept", {}, cadre),
        (f"/requests/{request_id}/progress", {"note": "已联系物业关阀"}, cadre),
        (f"/requests/{request_id}/resolve", {"result": "更换了水管接头"}, cadre),
        (
            f"/requests/{request_id}/evaluate",
            {"rating": 5, "comment": "很及时"},
            service.auth(Role.MEMBER, person=resident),
        ),
    ]
    for path, body, headers in steps:
        r = await service.client.post(path, json=body, headers=headers)
        assert r.status_code == 200, (path, r.text)

    final = (await service.client.get(f"/requests/{request_id}", headers=h)).json()
    assert final["status"] == "closed", final
    assert final["evaluation"]["rating"] == 5
    actions = [entry["action"] for entry in final["timeline"]]
    assert actions == ["receive", "dispatch", "accept", "progress", "resolve", "evaluate"]
    assert all(entry["at"] for entry in final["timeline"])
    assert final["timeline"][2]["actor_id"] == f"p-cadre-{community}"

    assert await wait_for(lambda: _outbox_empty(service, request_id), timeout=30)
    types = await event_types(service, REQUESTS, request_id, expected=7)
    assert types == [
        "cn.civicgrid.resources.request.received.v1",
        "cn.civicgrid.resources.request.dispatched.v1",
        "cn.civicgrid.resources.request.accepted.v1",
        "cn.civicgrid.resources.request.progressed.v1",
        "cn.civicgrid.resources.request.resolved.v1",
        "cn.civicgrid.resources.request.evaluated.v1",
        "cn.civicgrid.resources.request.closed.v1",
    ]


async def _outbox_empty(service: Running, request_id: str) -> bool:
    doc = await service.store.requests.collection.find_one({"_id": request_id})
    return doc is not None and not doc.get("outbox")


async def _request(service: Running, community: str, **overrides: object) -> dict[str, Any]:
    body = {
        "community_code": community,
        "kind": "complaint",
        "category": "noise",
        "urgency": "ordinary",
        "summary": "夜间施工噪音",
        "resident_person_id": f"p-res-{community}",
        **overrides,
    }
    r = await service.client.post("/requests", json=body, headers=service.auth())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_an_illegal_transition_is_a_409_naming_the_allowed_actions(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community)
    resident = service.auth(Role.MEMBER, person=f"p-res-{community}")
    r = await service.client.post(f"/requests/{request['id']}/evaluate", json={"rating": 4}, headers=resident)
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "illegal_transition"
    assert body["current"] == "dispatched"
    assert set(body["allowed"]) == {"dispatch", "escalate", "decline", "move", "accept", "close"}


async def test_a_request_without_a_grid_goes_to_the_community_first(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community)
    assert request["tier"] == "community"
    assert request["assignee_ids"] == [f"community-{community}"]


async def test_only_the_resident_who_asked_may_evaluate_or_reopen(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community)
    h = service.auth()
    for step, body in (("accept", {}), ("resolve", {"result": "已协调施工方停工"})):
        assert (
            await service.client.post(f"/requests/{request['id']}/{step}", json=body, headers=h)
        ).status_code == 200
    stranger = service.auth(Role.MEMBER, person="p-someone-else")
    r = await service.client.post(f"/requests/{request['id']}/evaluate", json={"rating": 1}, headers=stranger)
    assert r.status_code == 403
    r = await service.client.post(
        f"/requests/{request['id']}/reopen", json={"reason": "不满意"}, headers=stranger
    )
    assert r.status_code == 403
    assert (await service.client.get(f"/requests/{request['id']}", headers=stranger)).status_code == 403


async def test_the_resident_reopens_a_resolved_request_and_it_goes_back_to_its_handlers(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community)
    h = service.auth()
    for step, body in (("accept", {}), ("resolve", {"result": "已处理"})):
        assert (
            await service.client.post(f"/requests/{request['id']}/{step}", json=body, headers=h)
        ).status_code == 200
    resident = service.auth(Role.MEMBER, person=f"p-res-{community}")
    r = await service.client.post(
        f"/requests/{request['id']}/reopen", json={"reason": "噪音仍在"}, headers=resident
    )
    assert r.status_code == 200, r.text
    reopened = r.json()
    assert reopened["status"] == "dispatched"
    assert reopened["reopen_count"] == 1
    assert reopened["assignee_ids"] == [f"community-{community}"]
    assert [t["action"] for t in reopened["timeline"]][-2:] == ["reopen", "redispatch"]
    r = await service.client.post(f"/requests/{request['id']}/accept", json={}, headers=h)
    assert r.status_code == 200
    types = await event_types(service, REQUESTS, request["id"], expected=7)
    assert types[-3:] == [
        "cn.civicgrid.resources.request.reopened.v1",
        "cn.civicgrid.resources.request.dispatched.v1",
        "cn.civicgrid.resources.request.accepted.v1",
    ]


async def test_declining_and_beyond_authority_send_a_request_up_one_tier_at_a_time(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: [f"B{community}-01"]})
    handler = await _team(service, community, grid, f"p-cadre-{community}")
    request = await _request(service, community, grid_id=grid)
    assert request["assignee_ids"] == [handler]
    cadre = service.auth(Role.MEMBER, person=f"p-cadre-{community}")
    r = await service.client.post(
        f"/requests/{request['id']}/decline", json={"note": "需社区协调"}, headers=cadre
    )
    assert r.status_code == 200, r.text
    assert (r.json()["tier"], r.json()["assignee_ids"]) == ("community", [f"community-{community}"])
    # Once it left the grid, the cadre is no longer an assignee: a member may not act on it.
    r = await service.client.post(f"/requests/{request['id']}/accept", json={}, headers=cadre)
    assert r.status_code == 403
    h = service.auth()
    r = await service.client.post(
        f"/requests/{request['id']}/escalate", json={"reason": "beyond_authority"}, headers=h
    )
    assert (r.json()["tier"], r.json()["assignee_ids"]) == ("street", [f"street-{community[:9]}"])
    r = await service.client.post(
        f"/requests/{request['id']}/escalate",
        json={"reason": "beyond_authority", "assignee_ids": ["dept-wuchang-environment"]},
        headers=h,
    )
    assert (r.json()["tier"], r.json()["assignee_ids"]) == ("department", ["dept-wuchang-environment"])
    r = await service.client.post(
        f"/requests/{request['id']}/escalate", json={"reason": "beyond_authority"}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["rule"] == "highest_tier_reached"
    done = (await service.client.get(f"/requests/{request['id']}", headers=h)).json()
    assert [t["action"] for t in done["timeline"] if t["action"].startswith("escalate")] == [
        "escalate:declined",
        "escalate:beyond_authority",
        "escalate:beyond_authority",
    ]


async def test_two_coordinators_accepting_the_same_request_get_one_success_and_one_conflict(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community)
    a, b = service.auth(region=community), service.auth(region=community[:9])
    url = f"/requests/{request['id']}/accept"
    first, second = await asyncio.gather(
        service.client.post(url, json={}, headers=a), service.client.post(url, json={}, headers=b)
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["message"]
    final = (await service.client.get(f"/requests/{request['id']}", headers=a)).json()
    assert [t["action"] for t in final["timeline"]].count("accept") == 1


async def test_a_change_made_with_a_stale_version_is_a_conflict(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community)
    h = {**service.auth(), "If-Match": str(request["version"])}
    r = await service.client.post(f"/requests/{request['id']}/progress", json={"note": "x"}, headers=h)
    assert r.status_code == 409  # dispatched: progress is not allowed yet
    r = await service.client.post(f"/requests/{request['id']}/accept", json={}, headers=h)
    assert r.status_code == 200
    r = await service.client.post(f"/requests/{request['id']}/progress", json={"note": "到场查看"}, headers=h)
    assert r.status_code == 409
    assert r.json()["current_version"] == request["version"] + 1


async def test_a_coordinator_of_another_street_can_neither_see_nor_change_a_request(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community)
    other = service.auth(region="420106003")
    assert (await service.client.get(f"/requests/{request['id']}", headers=other)).status_code == 403
    r = await service.client.post(f"/requests/{request['id']}/accept", json={}, headers=other)
    assert r.status_code == 403


async def test_bad_request_input_is_a_422_that_says_what_is_wrong(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    h = service.auth()
    r = await service.client.post(
        "/requests",
        json={"community_code": community, "kind": "help", "category": "x", "summary": "请回电 13812345678"},
        headers=h,
    )
    assert r.status_code == 422
    assert "summary" in r.json()["message"]
    assert "13812345678" not in r.text
    r = await service.client.post(
        "/requests",
        json={
            "community_code": community,
            "kind": "help",
            "category": "x",
            "summary": "s",
            "grid_id": community + "999",
        },
        headers=h,
    )
    assert r.status_code == 422
    assert r.json()["rule"] == "grid_known"
    assert community + "999" in r.json()["message"]


async def test_an_overdue_request_is_escalated_by_the_sla_clock(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    request = await _request(service, community, urgency="emergency")  # 1.5 s in this session

    async def escalated() -> bool:
        doc = await service.store.requests.get(request["id"])
        return int(doc["escalations"]) >= 1

    assert await wait_for(escalated, timeout=30)
    doc = (await service.client.get(f"/requests/{request['id']}", headers=service.auth())).json()
    first = next(t for t in doc["timeline"] if t["action"] == "escalate:deadline_passed")
    assert first["tier"] == "street"
    assert first["actor_id"] is None
    types = await event_types(service, REQUESTS, request["id"], expected=4)
    assert types[2] == "cn.civicgrid.resources.request.escalated.v1"
