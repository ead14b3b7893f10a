"""Recording a request is idempotent by its request_id: a resend returns it, a different body is refused."""

from __future__ import annotations

import asyncio

import pytest

from civicgrid_resources.service_layer.ids import new_id
from tests.integration.resources.conftest import Running, event_types

pytestmark = pytest.mark.integration

REQUESTS = "civicgrid.resources.requests.v1"


def _body(community: str, request_id: str, **extra: str) -> dict[str, str]:
    return {
        "community_code": community,
        "grid_id": community + "001",
        "kind": "help",
        "category": "repairs",
        "summary": "单元门禁损坏",
        "request_id": request_id,
        **extra,
    }


async def test_posting_the_same_request_again_answers_200_with_it_and_records_nothing_more(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {community + "001": []})
    request_id = new_id("req")
    first = await service.client.post("/requests", json=_body(community, request_id), headers=service.auth())
    assert first.status_code == 201, first.text
    again = await service.client.post("/requests", json=_body(community, request_id), headers=service.auth())
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["version"]) == (request_id, 1)
    assert again.json()["timeline"] == first.json()["timeline"]
    types = await event_types(service, REQUESTS, request_id, expected=3)
    assert types == [
        "cn.civicgrid.resources.request.received.v1",
        "cn.civicgrid.resources.request.dispatched.v1",
    ]


async def test_the_same_request_id_with_another_body_is_a_409_naming_the_differing_fields(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {community + "001": []})
    request_id = new_id("req")
    first = await service.client.post("/requests", json=_body(community, request_id), headers=service.auth())
    assert first.status_code == 201, first.text
    other = _body(community, request_id, summary="楼道灯不亮", urgency="utilities")
    r = await service.client.post("/requests", json=other, headers=service.auth())
    assert r.status_code == 409, r.text
    assert r.json()["differing_fields"] == ["urgency", "summary"]
    assert "urgency, summary" in r.json()["detail"]
    stored = await service.store.requests.get(request_id)
    assert (stored["summary"], stored["urgency"]) == ("单元门禁损坏", "ordinary")


async def test_the_same_request_posted_twice_at_once_is_recorded_once(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {community + "001": []})
    request_id = new_id("req")
    results = await asyncio.gather(
        *(
            service.client.post("/requests", json=_body(community, request_id), headers=service.auth())
            for _ in "ab"
        )
    )
    assert sorted(r.status_code for r in results) == [200, 201]
    assert {r.json()["id"] for r in results} == {request_id}
    stored = await service.store.requests.get(request_id)
    assert stored["version"] == 1
