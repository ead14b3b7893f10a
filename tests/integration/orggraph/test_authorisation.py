"""Object-level authorisation on both sides of every relation (issue 9): a coordinator of one street can
neither reach into another street through a relation (a person appointed, a part-time member's body, a
parent, a successor, a merge, a grid) nor act there directly. Each refusal writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.orggraph.builders import appoint, form, person
from tests.integration.orggraph.conftest import Api, Community, NewCommunity, build_compound

pytestmark = pytest.mark.integration


async def _two_streets(api: Api, new_community: NewCommunity) -> tuple[Community, Community]:
    while True:
        ours, theirs = await new_community(), await new_community()
        if ours.street != theirs.street:
            return ours, theirs


def _refused(response: Any) -> None:
    assert response.status_code == 403, response.text


async def test_a_coordinator_cannot_appoint_a_person_of_another_street_even_to_their_own_organisation(
    api: Api, new_community: NewCommunity
):
    ours, theirs = await _two_streets(api, new_community)
    coordinator = api.token(Role.COORDINATOR, region=ours.street)
    committee = await form(api, "residents_committee", ours.code)
    stranger = await person(api, theirs, "外街道居民")
    neighbour = await person(api, ours, "本街道居民")
    refused = await appoint(api, stranger, committee, "committee_member", token=coordinator)
    _refused(refused)
    assert theirs.code not in refused.text, "the refusal does not say where the person lives"
    assert (
        await appoint(api, neighbour, committee, "committee_member", token=coordinator)
    ).status_code == 201
    posts = await api.ok("GET", f"/people/{stranger}/posts", history="true")
    assert posts["posts"] == [], "the refused appointment wrote nothing"


async def test_a_coordinator_cannot_appoint_their_own_person_to_another_streets_organisation(
    api: Api, new_community: NewCommunity
):
    ours, theirs = await _two_streets(api, new_community)
    coordinator = api.token(Role.COORDINATOR, region=ours.street)
    foreign_committee = await form(api, "residents_committee", theirs.code)
    neighbour = await person(api, ours, "本街道居民")
    _refused(await appoint(api, neighbour, foreign_committee, "committee_member", token=coordinator))


async def test_a_part_time_member_cannot_be_drawn_from_a_body_of_another_street(
    api: Api, new_community: NewCommunity
):
    ours, theirs = await _two_streets(api, new_community)
    await build_compound(api, theirs, buildings=1)
    coordinator = api.token(Role.COORDINATOR, region=ours.street)
    party = await form(api, "party_committee", ours.code)
    foreign_owners = await form(api, "property_company", theirs.compound(1))
    member = await person(api, ours, "兼职委员", party_member=True)
    refused = await appoint(
        api, member, party, "part_time_committee_member", drawn_from_org_id=foreign_owners, token=coordinator
    )
    _refused(refused)


async def test_a_grid_post_or_a_grid_move_cannot_reach_a_grid_of_another_street(
    api: Api, new_community: NewCommunity
):
    ours, theirs = await _two_streets(api, new_community)
    for c in (ours, theirs):
        await build_compound(api, c, buildings=1)
        await api.ok("POST", "/grids", {"grid_id": c.grid(1), "name": "一网格"})
    coordinator = api.token(Role.COORDINATOR, region=ours.street)
    committee = await form(api, "residents_committee", ours.code)
    worker = await person(api, ours, "网格员")
    _refused(await appoint(api, worker, committee, "grid_worker", grid_id=theirs.grid(1), token=coordinator))
    _refused(
        await api.post(f"/buildings/{ours.building(1, 1)}/grid", {"grid_id": theirs.grid(1)}, coordinator)
    )
    _refused(
        await api.post(f"/buildings/{theirs.building(1, 1)}/grid", {"grid_id": ours.grid(1)}, coordinator)
    )
    moved = await api.post(f"/buildings/{ours.building(1, 1)}/grid", {"grid_id": ours.grid(1)}, coordinator)
    assert moved.status_code == 200, moved.text


async def test_an_organisation_hangs_under_another_streets_organisation_only_when_that_one_encloses_it(
    api: Api, new_community: NewCommunity
):
    ours, theirs = await _two_streets(api, new_community)
    coordinator = api.token(Role.COORDINATOR, region=ours.street)
    foreign_party = await form(api, "party_committee", theirs.code)
    body = {"kind": "party_committee", "place_code": ours.code, "name": "社区党委"}
    _refused(await api.post("/organisations", {**body, "parent_org_id": foreign_party}, coordinator))
    district = await form(api, "government_department", "420106000000", name="区民政局")
    under_district = await api.post("/organisations", {**body, "parent_org_id": district}, coordinator)
    assert under_district.status_code == 201, under_district.text


async def test_a_successor_or_a_merge_target_in_another_street_is_refused(
    api: Api, new_community: NewCommunity
):
    ours, theirs = await _two_streets(api, new_community)
    for c in (ours, theirs):
        await build_compound(api, c, buildings=0)
    coordinator = api.token(Role.COORDINATOR, region=ours.street)
    ours_company = await form(api, "property_company", ours.compound(1))
    theirs_company = await form(api, "property_company", theirs.compound(1))
    dissolution = {"on": "2025-01-01", "successor_org_id": theirs_company}
    _refused(await api.post(f"/organisations/{ours_company}/dissolve", dissolution, coordinator))
    _refused(
        await api.post(
            f"/places/{ours.compound(1)}/dissolve", {"merged_into": theirs.compound(1)}, coordinator
        )
    )
    still = await api.ok("GET", f"/organisations/{ours_company}")
    assert still["active"] is True


async def test_a_post_roster_row_reaching_into_another_street_rejects_the_file(
    api: Api, new_community: NewCommunity
):
    ours, theirs = await _two_streets(api, new_community)
    await build_compound(api, theirs, buildings=0)
    coordinator = api.token(Role.COORDINATOR, region=ours.street)
    party = await form(api, "party_committee", ours.code)
    foreign = await form(
        api, "owners_committee", theirs.compound(1), await form(api, "owners_assembly", theirs.compound(1))
    )
    content = (
        "person_id,display_name,community_code,party_member,org_id,post,start_date,basis,basis_reference,"
        "drawn_from_org_id\n"
        f"p-{ours.code}-x,兼职委员,{ours.code},true,{party},part_time_committee_member,2024-01-01,"
        f"election,换届,{foreign}\n"
    ).encode()
    headers = api.headers(coordinator)
    response = await api.client.post("/imports/posts", files={"file": ("p.csv", content)}, headers=headers)
    assert response.status_code == 422, response.text
    assert "outside_region" in response.text
    assert (await api.get(f"/people/p-{ours.code}-x")).status_code == 404
