"""Both sides of a request's and a team's relations (issue 9): a resource named as a request's assignee,
or added to a grid's team, must serve that community — else 422 naming the rule, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.resources.conftest import Running

pytestmark = pytest.mark.integration


def _other_street(community: str) -> str:
    return "420106087" + community[-3:]


async def _resource(service: Running, community: str, person: str, grid: str | None = None) -> str:
    h = service.auth(region=community[:9])
    r = await service.client.post(
        "/resources",
        json={"community_code": community, "kind": "volunteer", "display_name": "李强", "person_id": person},
        headers=h,
    )
    assert r.status_code == 201, r.text
    resource_id = str(r.json()["id"])
    assert (await service.client.post(f"/resources/{resource_id}/confirm", headers=h)).status_code == 200
    if grid is not None:
        r = await service.client.post(
            f"/resources/{resource_id}/grids",
            json={"grid_id": grid, "role": "volunteer", "period_start": "2025-01-01"},
            headers=h,
        )
        assert r.status_code == 200, r.text
    return resource_id


async def _request(service: Running, community: str, grid: str) -> dict[str, Any]:
    r = await service.client.post(
        "/requests",
        json={
            "community_code": community,
            "grid_id": grid,
            "kind": "help",
            "category": "water",
            "summary": "楼道漏水",
        },
        headers=service.auth(),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_a_request_dispatched_to_a_resource_of_another_street_is_refused_and_stays_unreadable_there(
    service: Running, community: str
) -> None:
    grid, elsewhere = community + "001", _other_street(community)
    await service.seed_places(community, {grid: []})
    await service.seed_places(elsewhere, {})
    person = f"p-outsider-{community}"
    outsider = await _resource(service, elsewhere, person)
    request = await _request(service, community, grid)
    before = await service.store.requests.get(request["id"])

    r = await service.client.post(
        f"/requests/{request['id']}/dispatch", json={"assignee_ids": [outsider]}, headers=service.auth()
    )

    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "assignee_serves_community"
    after = await service.store.requests.get(request["id"])
    assert (after["version"], after["assignee_ids"], len(after["timeline"])) == (
        before["version"],
        before["assignee_ids"],
        len(before["timeline"]),
    ), "nothing changed, so no event was written either"
    read = await service.client.get(
        f"/requests/{request['id']}", headers=service.auth(Role.MEMBER, person=person)
    )
    assert read.status_code in (403, 404), read.text


async def test_a_request_dispatched_to_a_resource_of_its_own_community_is_readable_by_that_member(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    person = f"p-insider-{community}"
    insider = await _resource(service, community, person)
    request = await _request(service, community, grid)

    r = await service.client.post(
        f"/requests/{request['id']}/dispatch", json={"assignee_ids": [insider]}, headers=service.auth()
    )

    assert r.status_code == 200, r.text
    assert r.json()["assignee_ids"] == [insider]
    read = await service.client.get(
        f"/requests/{request['id']}", headers=service.auth(Role.MEMBER, person=person)
    )
    assert read.status_code == 200, read.text


async def test_an_escalation_naming_a_resource_of_another_street_is_refused_and_changes_nothing(
    service: Running, community: str
) -> None:
    grid, elsewhere = community + "001", _other_street(community)
    await service.seed_places(community, {grid: []})
    await service.seed_places(elsewhere, {})
    outsider = await _resource(service, elsewhere, f"p-far-{community}")
    request = await _request(service, community, grid)

    r = await service.client.post(
        f"/requests/{request['id']}/escalate",
        json={"reason": "beyond_authority", "assignee_ids": [outsider]},
        headers=service.auth(),
    )

    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "assignee_serves_community"
    after = await service.store.requests.get(request["id"])
    assert (after["version"], after["tier"]) == (request["version"], "grid")


async def test_a_grid_team_refuses_a_resource_reported_in_to_another_community(
    service: Running, community: str
) -> None:
    grid, elsewhere = community + "001", _other_street(community)
    await service.seed_places(community, {grid: []})
    await service.seed_places(elsewhere, {})
    outsider = await _resource(service, elsewhere, f"p-stranger-{community}")
    team = await service.client.post(
        "/teams", json={"grid_id": grid, "name": "网格服务队"}, headers=service.auth()
    )
    assert team.status_code == 201, team.text

    r = await service.client.post(
        f"/teams/{team.json()['id']}/members", json={"resource_id": outsider}, headers=service.auth()
    )

    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "member_serves_community"
    stored = await service.client.get(f"/grids/{grid}/team", headers=service.auth())
    assert stored.json().get("members", []) == []
