"""Guarantees across the API: concurrent redelivery applies once, writes are scoped, inputs are checked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from civicgrid_orggraph.service_layer.population import PopulationReport, apply_population_report
from civicgrid_runtime.auth import Role
from tests.integration.orggraph.builders import form, person
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound

pytestmark = pytest.mark.integration


async def test_the_same_population_event_handled_twice_at_once_is_applied_once(
    api: Api, new_community: NewCommunity, orggraph_app
):
    c = await new_community(residents=100, households=40)
    report = PopulationReport(uuid.uuid4().hex, c.code, date(2025, 6, 30), 12636, 4453)
    results = await asyncio.gather(
        *(apply_population_report(orggraph_app.state.uow, report) for _ in range(4))
    )
    assert sorted(r["applied"] for r in results) == [False, False, False, True]
    place = await api.ok("GET", f"/places/{c.code}")
    assert place["attributes"]["residents"] == 12636


async def test_a_coordinator_cannot_appoint_in_another_streets_organisation(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    someone = await person(api, c, "外人")
    other = "420106001000" if not c.street.startswith("420106001") else "420106002000"
    body = {
        "person_id": someone,
        "org_id": committee,
        "post": "committee_member",
        "start_date": "2024-01-01",
        "basis": "election",
        "basis_reference": "选举",
    }
    outside = await api.post("/memberships", body, token=api.token(Role.COORDINATOR, region=other))
    inside = await api.post("/memberships", body, token=api.token(Role.COORDINATOR, region=c.street))
    assert outside.status_code == 403
    assert inside.status_code == 201, inside.text


async def test_a_member_cannot_write(api: Api, new_community: NewCommunity):
    c = await new_community()
    me = await person(api, c, "居民")
    response = await api.post(
        "/places",
        {"kind": "compound", "code": c.compound(1), "parent_code": c.code, "name": "x"},
        token=api.token(Role.MEMBER, person_id=me),
    )
    assert response.status_code == 403


async def test_a_request_without_a_token_is_refused(api: Api):
    response = await api.client.get("/regions/420106/coverage")
    assert response.status_code == 401


async def test_bad_input_is_a_422_that_names_the_field(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    bad_date = await api.get(f"/buildings/{c.building(1, 1)}/responsibility-chain", on="2025-13-01")
    assert bad_date.status_code == 422
    assert "on" in bad_date.json()["message"]
    bad_kind = await api.post("/organisations", {"kind": "club", "place_code": c.code, "name": "x"})
    assert bad_kind.status_code == 422
    assert "kind" in bad_kind.json()["message"]
    bad_phone = await api.post(
        "/people", {"display_name": "某", "community_code": c.code, "phone": "call me maybe"}
    )
    assert bad_phone.status_code == 422
    assert "phone" in bad_phone.json()["message"]
    assert "call me maybe" not in bad_phone.text


async def test_an_unknown_building_has_no_responsibility_chain(api: Api, new_community: NewCommunity):
    c = await new_community()
    response = await api.get(f"/buildings/{c.code}-C01-B99/responsibility-chain")
    assert response.status_code == 404


async def test_an_import_retried_with_its_idempotency_key_returns_the_first_summary(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    content = (
        "community_code,compound_code,compound_name,building_code,building_name\n"
        f"{c.code},{c.compound(1)},小区,{c.building(1, 1)},1栋\n"
    ).encode()
    headers = api.headers(None, key=f"import-{c.code}")
    first = await api.client.post("/imports/roster", files={"file": ("r.csv", content)}, headers=headers)
    second = await api.client.post("/imports/roster", files={"file": ("r.csv", content)}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.json()["places_created"] == 2, "the stored first summary, not a fresh no-op"
