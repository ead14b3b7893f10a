"""Resources sinking down: report-in, joining grids, teams, the three lists and points."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.events import org
from civicgrid_runtime.auth import Role
from tests.integration.resources.conftest import Running, event_types, records_where
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

DEPLOYMENT = "civicgrid.resources.deployment.v1"


async def _report_in(service: Running, community: str, name: str, **extra: object) -> dict[str, Any]:
    body = {"community_code": community, "kind": "in_service_member", "display_name": name, **extra}
    r = await service.client.post("/resources", json=body, headers=service.auth())
    assert r.status_code == 201, r.text
    resource = dict(r.json())
    assert (
        await service.client.post(f"/resources/{resource['id']}/confirm", headers=service.auth())
    ).status_code == 200
    return resource


async def test_an_in_service_member_reports_in_to_two_communities_and_sees_their_grids(
    service: Running, community: str
) -> None:
    home = f"{community[:9]}{(int(community[-3:]) + 450) % 1000:03d}"
    await service.seed_places(community, {community + "001": []})
    await service.seed_places(home, {home + "004": []})
    person = f"p-member-{community}"
    me = service.auth(Role.MEMBER, person=person)
    ids = []
    for code, basis, grid in ((community, "paired", community + "001"), (home, "residence", home + "004")):
        r = await service.client.post(
            "/resources",
            json={
                "community_code": code,
                "kind": "in_service_member",
                "display_name": "李红",
                "basis": basis,
                "person_id": person,
                "unit_id": "unit-hubei-tax",
                "employer": "湖北省税务局",
                "skills": ["legal advice"],
                "availability": [{"weekday": 6, "start": "09:00", "end": "12:00"}],
                "contact_preference": "app",
            },
            headers=me,
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "reported"
        rid = r.json()["id"]
        ids.append(rid)
        r = await service.client.post(
            f"/resources/{rid}/grids",
            json={"grid_id": grid, "role": "volunteer", "period_start": "2025-03-01"},
            headers=service.auth(),
        )
        assert r.status_code == 422, "joining before the community confirmed must be refused"
        assert r.json()["rule"] == "report_in_confirmed_first"
        assert (
            await service.client.post(f"/resources/{rid}/confirm", headers=service.auth())
        ).status_code == 200
        r = await service.client.post(
            f"/resources/{rid}/grids",
            json={"grid_id": grid, "role": "volunteer", "period_start": "2025-03-01"},
            headers=service.auth(),
        )
        assert r.status_code == 200, r.text
    r = await service.client.get(f"/people/{person}/grids", headers=me)
    assert r.status_code == 200
    assert sorted(g["grid_id"] for g in r.json()) == sorted([community + "001", home + "004"])
    assert all(g["active"] for g in r.json())
    other = service.auth(Role.MEMBER, person="p-nosy")
    assert (await service.client.get(f"/people/{person}/grids", headers=other)).status_code == 403
    types = await event_types(service, DEPLOYMENT, ids[0], expected=3)
    assert types == [
        "cn.civicgrid.resources.resource.reported_in.v1",
        "cn.civicgrid.resources.resource.report_in_confirmed.v1",
        "cn.civicgrid.resources.resource.joined_grid.v1",
    ]


async def test_a_member_may_not_report_someone_else_in(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    r = await service.client.post(
        "/resources",
        json={
            "community_code": community,
            "kind": "volunteer",
            "display_name": "张三",
            "person_id": "p-other",
        },
        headers=service.auth(Role.MEMBER, person="p-me"),
    )
    assert r.status_code == 403


async def test_joining_an_unknown_grid_is_refused_until_org_graph_publishes_it(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    resource = await _report_in(
        service, community, "赵警官", kind="police", person_id=f"p-police-{community}"
    )
    grid = community + "007"
    join = {"grid_id": grid, "role": "police", "period_start": "2025-01-01"}
    r = await service.client.post(f"/resources/{resource['id']}/grids", json=join, headers=service.auth())
    assert r.status_code == 422
    assert r.json()["rule"] == "grid_known"
    assert grid in r.json()["message"]
    await service.seed_places(community, {grid: []})
    r = await service.client.post(f"/resources/{resource['id']}/grids", json=join, headers=service.auth())
    assert r.status_code == 200, r.text
    assert r.json()["grid_ids"] == [grid]


async def test_a_grids_team_is_formed_from_resources_that_joined_the_grid(
    service: Running, community: str
) -> None:
    grid, elsewhere = community + "001", community + "002"
    await service.seed_places(community, {grid: [], elsewhere: []})
    h = service.auth()
    members = []
    for name, kind, role in (
        ("网格员小周", "volunteer", "grid_worker"),
        ("下沉干部老刘", "sunk_down_cadre", "cadre"),
        ("城管队员", "city_management", "liaison"),
    ):
        res = await _report_in(service, community, name, kind=kind, person_id=f"p-{role}-{community}")
        r = await service.client.post(
            f"/resources/{res['id']}/grids",
            json={"grid_id": grid, "role": role, "period_start": "2025-01-01"},
            headers=h,
        )
        assert r.status_code == 200
        members.append(res["id"])
    outsider = await _report_in(
        service, community, "外网格志愿者", kind="volunteer", person_id=f"p-out-{community}"
    )
    await service.client.post(
        f"/resources/{outsider['id']}/grids",
        json={"grid_id": elsewhere, "role": "volunteer", "period_start": "2025-01-01"},
        headers=h,
    )
    r = await service.client.post("/teams", json={"grid_id": grid, "name": "中华路一网格服务团"}, headers=h)
    assert r.status_code == 201
    team_id = r.json()["id"]
    assert (
        await service.client.post("/teams", json={"grid_id": grid, "name": "again"}, headers=h)
    ).status_code == 409
    for rid in members:
        r = await service.client.post(f"/teams/{team_id}/members", json={"resource_id": rid}, headers=h)
        assert r.status_code == 200, r.text
    r = await service.client.post(f"/teams/{team_id}/members", json={"resource_id": members[0]}, headers=h)
    assert r.status_code == 409
    r = await service.client.post(
        f"/teams/{team_id}/members", json={"resource_id": outsider["id"]}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["rule"] == "member_in_grid"
    team = (await service.client.get(f"/grids/{grid}/team", headers=h)).json()
    assert [m["resource_id"] for m in team["members"]] == members
    assert [m["role"] for m in team["members"]] == ["grid_worker", "cadre", "liaison"]
    other_street = service.auth(region="420106003")
    assert (await service.client.get(f"/grids/{grid}/team", headers=other_street)).status_code == 403


async def test_two_units_racing_for_the_last_slot_of_a_need_get_one_success_and_one_conflict(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    h = service.auth()
    units = [
        await _report_in(
            service, community, f"共建单位{i}", kind="joint_build_unit", unit_id=f"unit-{community}-{i}"
        )
        for i in range(2)
    ]
    r = await service.client.post(
        "/needs",
        json={"community_code": community, "title": "独居老人助餐", "tags": ["elderly", "meals"], "slots": 2},
        headers=h,
    )
    assert r.status_code == 201
    need_id = r.json()["id"]
    first = await _claim_by(service, need_id, units[0]["id"])
    assert first.status_code == 201
    assert (await _claim_by(service, need_id, units[0]["id"])).status_code == 409  # once per claimant
    third = await _report_in(
        service, community, "共建单位2", kind="joint_build_unit", unit_id=f"unit-{community}-2"
    )
    a, b = await asyncio.gather(
        _claim_by(service, need_id, units[1]["id"]), _claim_by(service, need_id, third["id"])
    )
    assert sorted([a.status_code, b.status_code]) == [201, 409]
    loser = a if a.status_code == 409 else b
    assert "no slot left" in loser.json()["message"]
    need = next(
        n
        for n in (await service.client.get(f"/needs?community_code={community}", headers=h)).json()
        if n["id"] == need_id
    )
    assert need["remaining"] == 0
    assert len(need["claims"]) == 2


async def _claim_by(service: Running, need_id: str, resource_id: str):
    return await service.client.post(
        f"/needs/{need_id}/claims", json={"resource_id": resource_id}, headers=service.auth()
    )


async def test_completed_tasks_earn_points_once_and_rank_people_in_their_grid(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    h = service.auth()
    people = []
    for i in range(2):
        res = await _report_in(
            service,
            community,
            f"志愿者{i}",
            kind="volunteer",
            person_id=f"p-vol{i}-{community}",
            unit_id="unit-wuchang-edu",
        )
        await service.client.post(
            f"/resources/{res['id']}/grids",
            json={"grid_id": grid, "role": "volunteer", "period_start": "2025-01-01"},
            headers=h,
        )
        people.append(res["id"])
    r = await service.client.post(
        "/needs", json={"community_code": community, "title": "清理楼道杂物", "slots": 5}, headers=h
    )
    need_id = r.json()["id"]
    claims = [(await _claim_by(service, need_id, rid)).json()["claim_id"] for rid in people]
    for claim_id, hours in zip(claims, (3.0, 1.5), strict=True):
        url = f"/needs/{need_id}/claims/{claim_id}/complete"
        assert (await service.client.post(url, json={"hours": hours}, headers=h)).status_code == 200
    again = await service.client.post(
        f"/needs/{need_id}/claims/{claims[0]}/complete", json={"hours": 3.0}, headers=h
    )
    assert again.status_code == 200
    balance = (await service.client.get(f"/points/{people[0]}", headers=h)).json()
    assert (balance["points"], balance["hours"], len(balance["entries"])) == (30, 3.0, 1)
    me = service.auth(Role.MEMBER, person=f"p-vol1-{community}")
    assert (await service.client.get(f"/points/{people[1]}", headers=me)).json()["points"] == 15
    assert (await service.client.get(f"/points/{people[0]}", headers=me)).status_code == 403
    ranking = (await service.client.get(f"/points/ranking?grid_id={grid}", headers=h)).json()["ranking"]
    assert [(row["rank"], row["resource_id"], row["points"]) for row in ranking] == [
        (1, people[0], 30),
        (2, people[1], 15),
    ]
    report = (await service.client.get("/service-reports?unit_id=unit-wuchang-edu", headers=h)).json()
    mine = {p["resource_id"]: p for p in report["resources"] if p["community_code"] == community}
    assert (mine[people[0]]["tasks"], mine[people[0]]["hours"]) == (1, 3.0)
    # A later event of the same community (same partition): once it is there, a second award would be too.
    marker = (
        await service.client.post("/needs", json={"community_code": community, "title": "m"}, headers=h)
    ).json()
    assert (await _claim_by(service, marker["id"], people[1])).status_code == 201
    found = await records_where(
        service,
        service.topic(DEPLOYMENT),
        lambda e: e.get("ce_subject") in (people[0], marker["id"]),
        expected=6,
    )
    assert [e["ce_type"].rsplit(".", 2)[-2] for e, _ in found] == [
        "reported_in",
        "report_in_confirmed",
        "joined_grid",
        "awarded",
        "published",
        "claimed",
    ]


async def test_a_need_is_matched_to_offers_of_units_by_shared_tags(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    h = service.auth()
    unit = await _report_in(
        service, community, "武汉某医院", kind="paired_unit", unit_id=f"unit-hosp-{community}"
    )
    for title, tags in (("义诊", ["health", "elderly"]), ("法律讲座", ["legal"])):
        r = await service.client.post(
            "/offers",
            json={"resource_id": unit["id"], "kind": "project", "title": title, "tags": tags},
            headers=h,
        )
        assert r.status_code == 201
    need = (
        await service.client.post(
            "/needs",
            json={"community_code": community, "title": "老人健康检查", "tags": ["Elderly", "health"]},
            headers=h,
        )
    ).json()
    matches = (await service.client.get(f"/needs/{need['id']}/matches", headers=h)).json()
    assert [(m["title"], m["score"]) for m in matches] == [("义诊", 2)]


async def test_a_building_moved_to_another_grid_routes_new_requests_there(
    service: Running, community: str
) -> None:
    a, b = community + "001", community + "002"
    building = f"B{community}-09"
    await service.seed_places(community, {a: [building], b: []})
    moved = new_event(
        org.GridBuildingMoved(community_code=community, building_code=building, from_grid_id=a, to_grid_id=b),
        source="/civicgrid/org-graph",
    )
    await service.publish(moved, "civicgrid.org.places.v1")
    await service.publish(moved, "civicgrid.org.places.v1")  # a redelivery changes nothing

    async def moved_in() -> bool:
        found = await service.ctx.places.building(building)
        return found is not None and found.grid_id == b

    assert await wait_for(moved_in, timeout=30)
    grid_a, grid_b = await service.ctx.places.grid(a), await service.ctx.places.grid(b)
    assert grid_a is not None
    assert grid_b is not None
    assert (grid_a.building_codes, grid_b.building_codes) == ((), (building,))
    r = await service.client.post(
        "/requests",
        json={
            "community_code": community,
            "kind": "report",
            "category": "safety",
            "summary": "消防通道堵塞",
            "building_code": building,
        },
        headers=service.auth(),
    )
    assert r.json()["grid_id"] == b
