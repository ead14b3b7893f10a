"""Places down to buildings, grids, and what each change writes to the outbox."""

from __future__ import annotations

import json

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound

pytestmark = pytest.mark.integration


async def outbox_types(neo4j_driver, code: str) -> list[str]:
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $code RETURN o.event AS "
        "event ORDER BY o.created_at, o.seq",
        code=code,
    )
    return [json.loads(r["event"])["type"].split(".org.")[1] for r in records]


async def test_a_compound_and_its_buildings_are_registered_with_one_outbox_event_each(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=2)
    place = await api.ok("GET", f"/places/{c.building(1, 2)}")
    assert place["kind"] == "building"
    assert place["parent_code"] == c.compound(1)
    types = await outbox_types(neo4j_driver, c.compound(1))
    assert types.count("place.registered.v1") == 3


async def test_registering_the_same_place_again_changes_nothing(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    before = await outbox_types(neo4j_driver, c.compound(1))
    response = await api.post(
        "/places",
        {
            "kind": "compound",
            "code": c.compound(1),
            "parent_code": c.code,
            "name": "小区1",
            "attributes": {"owners_committee_eligible": True},
        },
    )
    assert response.status_code == 200, "found, not created"
    assert response.json()["created"] is False
    assert await outbox_types(neo4j_driver, c.compound(1)) == before


async def test_registering_a_code_again_with_other_data_is_a_conflict(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, buildings=0)
    response = await api.post(
        "/places", {"kind": "compound", "code": c.compound(1), "parent_code": c.code, "name": "另一个名字"}
    )
    assert response.status_code == 409
    assert "PATCH" in response.json()["message"]


async def test_a_building_code_outside_its_compound_is_rejected_with_the_reason(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await build_compound(api, c, buildings=0)
    response = await api.post(
        "/places",
        {"kind": "building", "code": "420106999999-C01-B01", "parent_code": c.compound(1), "name": "1栋"},
    )
    assert response.status_code == 422
    assert c.compound(1) in response.json()["message"]


async def test_a_building_directly_under_a_community_breaks_the_place_hierarchy(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    response = await api.post(
        "/places", {"kind": "building", "code": f"{c.code}-B01", "parent_code": c.code, "name": "1栋"}
    )
    assert response.status_code == 422
    assert response.json()["rule"] == "place_hierarchy"


async def test_a_coordinator_cannot_register_a_place_outside_their_street(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    other_street = "420106001000" if not c.street.startswith("420106001") else "420106002000"
    token = api.token(Role.COORDINATOR, region=other_street)
    response = await api.post(
        "/places",
        {"kind": "compound", "code": c.compound(5), "parent_code": c.code, "name": "x"},
        token=token,
    )
    assert response.status_code == 403


async def test_a_grid_puts_each_building_in_exactly_one_grid(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, buildings=3)
    await api.ok(
        "POST",
        "/grids",
        {"grid_id": c.grid(1), "name": "第一网格", "building_codes": [c.building(1, 1), c.building(1, 2)]},
    )
    response = await api.post(
        "/grids", {"grid_id": c.grid(2), "name": "第二网格", "building_codes": [c.building(1, 2)]}
    )
    assert response.status_code == 422
    assert response.json()["rule"] == "building_in_one_grid"
    members = await api.ok("GET", f"/grids/{c.grid(1)}/members")
    assert sorted(b["code"] for b in members["buildings"]) == [c.building(1, 1), c.building(1, 2)]


async def test_moving_a_building_between_grids_publishes_building_moved(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=2)
    await api.ok("POST", "/grids", {"grid_id": c.grid(1), "name": "一", "building_codes": [c.building(1, 1)]})
    await api.ok("POST", "/grids", {"grid_id": c.grid(2), "name": "二", "building_codes": [c.building(1, 2)]})
    moved = await api.ok("POST", f"/buildings/{c.building(1, 1)}/grid", {"grid_id": c.grid(2)})
    assert moved["from_grid_id"] == c.grid(1)
    assert (await api.ok("GET", f"/places/{c.building(1, 1)}"))["grid_id"] == c.grid(2)
    assert "grid.building_moved.v1" in await outbox_types(neo4j_driver, c.building(1, 1))


async def test_dissolving_a_compound_with_buildings_is_refused_until_they_are_gone(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    refused = await api.post(f"/places/{c.compound(1)}/dissolve", {"reason": "拆迁"})
    assert refused.status_code == 422
    assert refused.json()["rule"] == "place_has_active_dependants"
    await api.ok("POST", f"/places/{c.building(1, 1)}/dissolve", {"reason": "拆迁"})
    done = await api.ok("POST", f"/places/{c.compound(1)}/dissolve", {"reason": "拆迁"})
    assert done["active"] is False


async def test_a_retried_write_with_the_same_idempotency_key_returns_the_first_result(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=0)
    body = {"name": "新名字小区"}
    key = f"rename-{c.code}"
    first = await api.client.patch(f"/places/{c.compound(1)}", json=body, headers=api.headers(None, key))
    second = await api.client.patch(f"/places/{c.compound(1)}", json=body, headers=api.headers(None, key))
    assert first.status_code == 200, first.text
    assert first.json() == second.json()
    assert (await outbox_types(neo4j_driver, c.compound(1))).count("place.updated.v1") == 1
    other = await api.client.patch(
        f"/places/{c.compound(1)}", json={"name": "又一个"}, headers=api.headers(None, key)
    )
    assert other.status_code == 409


async def test_renaming_a_grid_publishes_grid_updated_once(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await api.ok("POST", "/grids", {"grid_id": c.grid(1), "name": "一"})
    for _ in range(2):
        response = await api.client.patch(
            f"/grids/{c.grid(1)}", json={"name": "东区网格"}, headers=api.headers(None)
        )
        assert response.status_code == 200, response.text
    assert (await api.ok("GET", f"/grids/{c.grid(1)}/members"))["name"] == "东区网格"
    assert (await outbox_types(neo4j_driver, c.grid(1))).count("grid.updated.v1") == 1


async def test_a_grid_with_buildings_cannot_be_dissolved_and_an_empty_one_ends_its_posts(
    api: Api, new_community: NewCommunity
):
    from tests.integration.orggraph.builders import appoint, form, person

    c = await new_community()
    await build_compound(api, c, buildings=1)
    await api.ok("POST", "/grids", {"grid_id": c.grid(1), "name": "一", "building_codes": [c.building(1, 1)]})
    await api.ok("POST", "/grids", {"grid_id": c.grid(2), "name": "二"})
    committee = await form(api, "residents_committee", c.code)
    worker = await person(api, c, "网格员")
    started = (
        await appoint(api, worker, committee, "grid_worker", grid_id=c.grid(2), basis="appointment")
    ).json()
    refused = await api.post(f"/grids/{c.grid(1)}/dissolve", {"on": "2025-01-01"})
    assert refused.status_code == 422
    assert refused.json()["rule"] == "grid_has_buildings"
    done = await api.ok("POST", f"/grids/{c.grid(2)}/dissolve", {"on": "2025-01-01", "reason": "合并"})
    assert done["ended_memberships"] == [started["membership_id"]]
    now = await api.ok("GET", f"/people/{worker}/posts")
    assert now["posts"] == []
