"""Moving a request to another grid, points for resolved requests and redeeming points (real servers)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.resources.conftest import Running, event_types, records_where

pytestmark = pytest.mark.integration

REQUESTS = "civicgrid.resources.requests.v1"
DEPLOYMENT = "civicgrid.resources.deployment.v1"


async def _person_in_team(service: Running, community: str, grid: str, person: str) -> str:
    """A confirmed resource with a person, in ``grid`` and in the grid's team; returns its id."""
    h = service.auth()
    r = await service.client.post(
        "/resources",
        json={
            "community_code": community,
            "kind": "sunk_down_cadre",
            "display_name": "张伟",
            "person_id": person,
            "unit_id": "unit-wuchang-housing",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    resource_id = str(r.json()["id"])
    assert (await service.client.post(f"/resources/{resource_id}/confirm", headers=h)).status_code == 200
    r = await service.client.post(
        f"/resources/{resource_id}/grids",
        json={"grid_id": grid, "role": "sunk_down_cadre", "period_start": "2025-01-01"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    team = await service.client.get(f"/grids/{grid}/team", headers=h)
    if team.status_code == 404:
        team = await service.client.post("/teams", json={"grid_id": grid, "name": "网格服务队"}, headers=h)
        assert team.status_code == 201, team.text
    r = await service.client.post(
        f"/teams/{team.json()['id']}/members", json={"resource_id": resource_id}, headers=h
    )
    assert r.status_code == 200, r.text
    return resource_id


async def _request(
    service: Running, community: str, grid: str, resident: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "community_code": community,
        "kind": "help",
        "category": "street light",
        "summary": "路灯不亮",
        "grid_id": grid,
    }
    if resident:
        body["resident_person_id"] = resident
    r = await service.client.post("/requests", json=body, headers=service.auth())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_a_coordinator_moves_a_wrongly_located_request_to_the_other_grids_team(
    service: Running, community: str
) -> None:
    wrong, right = community + "001", community + "002"
    await service.seed_places(community, {wrong: [], right: []})
    first = await _person_in_team(service, community, wrong, f"p-first-{community}")
    second = await _person_in_team(service, community, right, f"p-second-{community}")
    request = await _request(service, community, wrong)
    assert request["assignee_ids"] == [first]
    escalated = await service.client.post(
        f"/requests/{request['id']}/escalate", json={"reason": "beyond_authority"}, headers=service.auth()
    )
    assert escalated.json()["tier"] == "community"

    r = await service.client.post(
        f"/requests/{request['id']}/move",
        json={"grid_id": right, "note": "路灯属于二网格"},
        headers={**service.auth(), "If-Match": str(escalated.json()["version"])},
    )

    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["grid_id"], moved["status"], moved["tier"]) == (right, "dispatched", "grid")
    assert moved["assignee_ids"] == [second]
    assert moved["due_at"] > escalated.json()["due_at"], "the new grid gets a fresh deadline"
    entry = moved["timeline"][-1]
    assert (entry["action"], entry["assignee_ids"], entry["tier"]) == ("move", [second], "grid")
    assert "路灯属于二网格" in entry["note"]
    rates = await service.client.get(
        f"/supervision/rates?region={community}&group_by=grid", headers=service.auth()
    )
    by_grid = {g["grid"]: g["total"] for g in rates.json()["groups"]}
    assert (by_grid.get(wrong, 0), by_grid[right]) == (0, 1), "the grid's figures follow the request"
    second_person = service.auth(Role.MEMBER, person=f"p-second-{community}")
    assert (await service.client.get(f"/requests/{request['id']}", headers=second_person)).status_code == 200
    types = await event_types(service, REQUESTS, request["id"], expected=6)
    assert [t.rsplit(".", 2)[-2] for t in types] == [
        "received",
        "dispatched",
        "escalated",
        "dispatched",
        "moved",
        "dispatched",
    ]


async def test_a_request_moves_only_to_a_known_grid_of_its_community_while_open(
    service: Running, community: str
) -> None:
    grid = community + "001"
    neighbour = f"{community[:9]}{(int(community[-3:]) + 500) % 1000:03d}"
    await service.seed_places(community, {grid: []})
    await service.seed_places(neighbour, {neighbour + "001": []})
    request = await _request(service, community, grid)
    url = f"/requests/{request['id']}/move"
    h = service.auth()

    unknown = await service.client.post(url, json={"grid_id": community + "009"}, headers=h)
    assert (unknown.status_code, unknown.json()["rule"]) == (422, "grid_known")
    elsewhere = await service.client.post(url, json={"grid_id": neighbour + "001"}, headers=h)
    assert (elsewhere.status_code, elsewhere.json()["rule"]) == (422, "grid_in_community")
    stale = await service.client.post(
        url, json={"grid_id": grid}, headers={**h, "If-Match": str(request["version"] + 5)}
    )
    assert stale.status_code == 409
    closed = await service.client.post(
        f"/requests/{request['id']}/close", json={"outcome": "duplicate"}, headers=h
    )
    assert closed.status_code == 200
    late = await service.client.post(url, json={"grid_id": grid}, headers=h)
    assert late.status_code == 409
    assert late.json()["error"] == "illegal_transition"
    assert "move" not in late.json()["allowed"]
    final = (await service.client.get(f"/requests/{request['id']}", headers=h)).json()
    assert final["grid_id"] == grid


async def test_the_people_who_resolve_a_request_earn_points_once_and_rank_in_their_grid(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    handler = await _person_in_team(service, community, grid, f"p-handler-{community}")
    resident = f"p-resident-{community}"
    request = await _request(service, community, grid, resident)
    cadre = service.auth(Role.MEMBER, person=f"p-handler-{community}")
    for path, body in (("accept", {}), ("resolve", {"result": "换了灯泡"})):
        r = await service.client.post(f"/requests/{request['id']}/{path}", json=body, headers=cadre)
        assert r.status_code == 200, r.text
    h = service.auth()
    balance = (await service.client.get(f"/points/{handler}", headers=h)).json()
    assert balance["points"] == 2, balance
    assert balance["entries"][0]["reference_id"] == request["id"]

    r = await service.client.post(
        f"/requests/{request['id']}/evaluate",
        json={"rating": 5},
        headers=service.auth(Role.MEMBER, person=resident),
    )
    assert r.status_code == 200, r.text
    balance = (await service.client.get(f"/points/{handler}", headers=h)).json()
    assert (balance["points"], len(balance["entries"])) == (2, 1), "closing as resolved pays nothing twice"
    ranking = (await service.client.get(f"/points/ranking?grid_id={grid}", headers=h)).json()["ranking"]
    assert [(row["resource_id"], row["points"]) for row in ranking] == [(handler, 2)]
    found = await records_where(
        service,
        service.topic(DEPLOYMENT),
        lambda e: e.get("ce_subject") == handler and e["ce_type"].endswith("points.awarded.v1"),
        expected=1,
    )
    assert len(found) == 1


async def _points_from_a_need(service: Running, community: str, resource_id: str, hours: float) -> None:
    h = service.auth()
    need = await service.client.post(
        "/needs", json={"community_code": community, "title": "陪老人就医", "slots": 1}, headers=h
    )
    assert need.status_code == 201, need.text
    claim = await service.client.post(
        f"/needs/{need.json()['id']}/claims", json={"resource_id": resource_id}, headers=h
    )
    assert claim.status_code == 201, claim.text
    done = await service.client.post(
        f"/needs/{need.json()['id']}/claims/{claim.json()['claim_id']}/complete",
        json={"hours": hours},
        headers=h,
    )
    assert done.status_code == 200, done.text


async def test_redeeming_points_lowers_the_balance_but_not_the_ranking_and_never_overdraws(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    resource_id = await _person_in_team(service, community, grid, f"p-redeemer-{community}")
    await _points_from_a_need(service, community, resource_id, 1.0)  # 10 points
    h = service.auth()
    url = f"/points/{resource_id}/redeem"

    r = await service.client.post(url, json={"points": 4, "item": "社区超市购物券"}, headers=h)
    assert r.status_code == 201, r.text
    assert (r.json()["points"], r.json()["balance_after"]) == (-4, 6)
    too_much = await service.client.post(url, json={"points": 7, "item": "电影票"}, headers=h)
    assert too_much.status_code == 409
    assert (too_much.json()["balance"], too_much.json()["requested"]) == (6, 7)
    member = service.auth(Role.MEMBER, person=f"p-redeemer-{community}")
    assert (
        await service.client.post(url, json={"points": 1, "item": "x"}, headers=member)
    ).status_code == 403

    balance = (await service.client.get(f"/points/{resource_id}", headers=h)).json()
    assert (balance["points"], balance["earned"], balance["redeemed"]) == (6, 10, 4)
    ranking = (await service.client.get(f"/points/ranking?grid_id={grid}", headers=h)).json()["ranking"]
    assert [(row["resource_id"], row["points"]) for row in ranking] == [(resource_id, 10)]
    found = await records_where(
        service,
        service.topic(DEPLOYMENT),
        lambda e: e.get("ce_subject") == resource_id and e["ce_type"].endswith("points.redeemed.v1"),
        expected=1,
    )
    assert len(found) == 1


async def test_concurrent_redemptions_of_one_balance_never_overdraw_it(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    resource_id = await _person_in_team(service, community, grid, f"p-racer-{community}")
    await _points_from_a_need(service, community, resource_id, 1.0)  # 10 points
    h = service.auth()

    results = await asyncio.gather(
        *(
            service.client.post(
                f"/points/{resource_id}/redeem", json={"points": 3, "item": f"礼品{i}"}, headers=h
            )
            for i in range(6)
        )
    )

    assert sorted(r.status_code for r in results) == [201, 201, 201, 409, 409, 409]
    balance = (await service.client.get(f"/points/{resource_id}", headers=h)).json()
    assert (balance["points"], balance["redeemed"]) == (1, 9)


async def test_redeeming_again_with_the_same_redemption_id_takes_nothing_more(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    resource_id = await _person_in_team(service, community, grid, f"p-repeat-{community}")
    await _points_from_a_need(service, community, resource_id, 1.0)
    h = service.auth()
    body = {"points": 5, "item": "理发券", "redemption_id": f"redeem-once-{community}"}
    first = await service.client.post(f"/points/{resource_id}/redeem", json=body, headers=h)
    again = await service.client.post(f"/points/{resource_id}/redeem", json=body, headers=h)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    balance = (await service.client.get(f"/points/{resource_id}", headers=h)).json()
    assert balance["points"] == 5
