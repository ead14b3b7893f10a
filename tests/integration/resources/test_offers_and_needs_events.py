"""The three lists on Kafka: a need is published, offers are published, updated and withdrawn."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.resources.conftest import Running, event_types

pytestmark = pytest.mark.integration

DEPLOYMENT = "civicgrid.resources.deployment.v1"


async def _unit(service: Running, community: str) -> str:
    h = service.auth()
    r = await service.client.post(
        "/resources",
        json={
            "community_code": community,
            "kind": "joint_build_unit",
            "display_name": "武汉某律师事务所",
            "unit_id": f"unit-law-{community}",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_need_is_published_on_kafka_before_anyone_claims_it(service: Running, community: str) -> None:
    await service.seed_places(community, {})
    r = await service.client.post(
        "/needs",
        json={"community_code": community, "title": "楼道照明维修", "tags": ["electric"], "slots": 2},
        headers=service.auth(),
    )
    assert r.status_code == 201, r.text
    need_id = r.json()["id"]

    types = await event_types(service, DEPLOYMENT, need_id, expected=1)

    assert types == ["cn.civicgrid.resources.need.published.v1"]


async def test_an_offer_is_published_updated_and_withdrawn_and_then_no_longer_matched(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    h = service.auth()
    unit = await _unit(service, community)
    legal = f"inheritance-law-{community}"  # a tag of this test's own: the street's offers are matched too
    r = await service.client.post(
        "/offers",
        json={"resource_id": unit, "kind": "resource", "title": "法律咨询", "tags": [legal]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    offer = r.json()
    assert (offer["status"], offer["version"]) == ("offered", 1)
    need = await service.client.post(
        "/needs", json={"community_code": community, "title": "遗产纠纷咨询", "tags": [legal]}, headers=h
    )
    url = f"/offers/{offer['id']}"

    r = await service.client.patch(
        url, json={"tags": [legal, "elderly"]}, headers={**h, "If-Match": str(offer["version"])}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["tags"], r.json()["title"], r.json()["version"]) == ([legal, "elderly"], "法律咨询", 2)
    stale = await service.client.patch(url, json={"title": "x"}, headers={**h, "If-Match": "1"})
    assert stale.status_code == 409
    unchanged = await service.client.patch(url, json={"title": "法律咨询"}, headers=h)
    assert unchanged.json()["version"] == 2, "a change to the same values writes nothing"
    matches = (await service.client.get(f"/needs/{need.json()['id']}/matches", headers=h)).json()
    assert [m["id"] for m in matches] == [offer["id"]]

    r = await service.client.post(f"{url}/withdraw", json={"reason": "律师调往他处"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    late = await service.client.patch(url, json={"title": "再开放"}, headers=h)
    assert (late.status_code, late.json()["error"]) == (409, "illegal_transition")
    assert (await service.client.get(f"/needs/{need.json()['id']}/matches", headers=h)).json() == []

    types = await event_types(service, DEPLOYMENT, offer["id"], expected=3)
    assert [t.rsplit(".", 2)[-2] for t in types] == ["published", "updated", "withdrawn"]


async def test_a_coordinator_of_another_street_may_not_change_an_offer(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    unit = await _unit(service, community)
    offer = await service.client.post(
        "/offers",
        json={"resource_id": unit, "kind": "project", "title": "普法讲座"},
        headers=service.auth(),
    )
    other = service.auth(region="420106003")
    url = f"/offers/{offer.json()['id']}"
    results = await asyncio.gather(
        service.client.patch(url, json={"title": "x"}, headers=other),
        service.client.post(f"{url}/withdraw", json={}, headers=other),
    )
    assert [r.status_code for r in results] == [403, 403]
    assert (await service.client.get(url, headers=service.auth())).json()["status"] == "offered"
