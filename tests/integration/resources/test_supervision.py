"""Supervisors: overdue requests, and response/resolution/satisfaction rates per grid, community, street."""

from __future__ import annotations

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.resources.conftest import Running
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


async def _new(
    service: Running, community: str, grid: str | None, resident: str, urgency: str = "ordinary"
) -> str:
    body = {
        "urgency": urgency,
        "community_code": community,
        "kind": "help",
        "category": "repairs",
        "summary": "门禁损坏",
        "resident_person_id": resident,
        **({"grid_id": grid} if grid else {}),
    }
    r = await service.client.post("/requests", json=body, headers=service.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_supervisors_see_rates_per_grid_and_community_and_the_overdue_list(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    h = service.auth()
    done = await _new(service, community, grid, "p-r1")
    accepted = await _new(service, community, grid, "p-r2")
    late = await _new(service, community, None, "p-r3", urgency="emergency")  # 1.5 s in this session
    for step, body in (("accept", {}), ("resolve", {"result": "已修复"})):
        assert (
            await service.client.post(f"/requests/{done}/{step}", json=body, headers=h)
        ).status_code == 200
    resident = service.auth(Role.MEMBER, person="p-r1")
    r = await service.client.post(f"/requests/{done}/evaluate", json={"rating": 4}, headers=resident)
    assert r.status_code == 200
    assert (await service.client.post(f"/requests/{accepted}/accept", json={}, headers=h)).status_code == 200

    async def beyond_the_last_tier() -> bool:
        doc = await service.store.requests.get(late)
        return bool(doc["sla_exhausted"])

    # The SLA clock takes it up to the department, where it stays overdue.
    assert await wait_for(beyond_the_last_tier, timeout=60)

    r = await service.client.get(f"/supervision/rates?region={community}&group_by=grid", headers=h)
    assert r.status_code == 200, r.text
    by_grid = {g["grid"]: g for g in r.json()["groups"]}
    assert by_grid[grid]["total"] == 2
    assert by_grid[grid]["response_rate"] == 1.0
    assert by_grid[grid]["resolution_rate"] == 0.5
    assert by_grid[grid]["satisfaction_rate"] == 1.0
    assert by_grid[grid]["average_rating"] == 4.0
    assert by_grid[None]["overdue"] == 1

    r = await service.client.get(f"/supervision/rates?region={community[:9]}&group_by=community", headers=h)
    mine = next(g for g in r.json()["groups"] if g["community"] == community)
    assert (mine["total"], mine["open"], mine["overdue"]) == (3, 2, 1)
    assert mine["response_rate"] == round(2 / 3, 4)

    overdue = (await service.client.get(f"/supervision/overdue?region={community}", headers=h)).json()
    assert [o["id"] for o in overdue] == [late]


async def test_a_street_coordinator_may_not_read_the_whole_citys_dashboard(service: Running) -> None:
    r = await service.client.get("/supervision/rates?region=4201&group_by=street", headers=service.auth())
    assert r.status_code == 403
    admin = service.auth(Role.ADMIN, region=None, person=None)
    r = await service.client.get("/supervision/rates?region=4201&group_by=street", headers=admin)
    assert r.status_code == 200
    assert all(g["street"].startswith("4201") for g in r.json()["groups"])
    r = await service.client.get("/supervision/rates?region=42010&group_by=street", headers=admin)
    assert r.status_code == 422
    assert "42010" in r.json()["message"]


async def test_an_admin_rebuilds_the_dashboards_statistics_from_the_requests_after_they_were_lost(
    service: Running, community: str
) -> None:
    grid = community + "001"
    await service.seed_places(community, {grid: []})
    h = service.auth()
    first = await _new(service, community, grid, "p-s1")
    await _new(service, community, grid, "p-s2")
    assert (await service.client.post(f"/requests/{first}/accept", json={}, headers=h)).status_code == 200

    async def community_row() -> dict[str, object] | None:
        r = await service.client.get(f"/supervision/rates?region={community}&group_by=community", headers=h)
        assert r.status_code == 200, r.text
        return next((g for g in r.json()["groups"] if g["community"] == community), None)

    before = await community_row()
    assert before is not None
    assert (before["total"], before["open"], before["response_rate"]) == (2, 2, 0.5)

    statistics = service.store.statistics
    await statistics.collection.delete_many({"community_code": community})
    await statistics.journal.delete_many({"parts.place.community_code": community})
    assert await community_row() is None

    admin = service.auth(Role.ADMIN, region=None, person=None)
    assert (await service.client.post("/supervision/statistics/rebuild", headers=h)).status_code == 403
    r = await service.client.post("/supervision/statistics/rebuild", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["requests_read"] >= 2
    assert await community_row() == before
