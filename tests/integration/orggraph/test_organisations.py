"""Shapes of both hierarchies: where an organisation may sit and what it hangs under."""

from __future__ import annotations

import pytest

from tests.integration.orggraph.builders import community_orgs, form
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound

pytestmark = pytest.mark.integration


async def test_the_urban_party_chain_forms_down_to_the_building(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, buildings=2)
    orgs = await community_orgs(api, c)
    hub = await form(api, "party_household_hub", c.building(1, 1), orgs["group"], "党员中心户")
    tree = await api.ok("GET", f"/communities/{c.code}/tree")
    by_id = {o["org_id"]: o for o in tree["organisations"]}
    assert by_id[hub]["parent_org_id"] == orgs["group"]
    assert by_id[orgs["group"]]["parent_org_id"] == orgs["branch"]
    assert by_id[orgs["branch"]]["parent_org_id"] == orgs["party"]


async def test_a_building_party_group_outside_its_compound_is_rejected(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, compound=1, buildings=1)
    await build_compound(api, c, compound=2, buildings=1)
    party = await form(api, "party_committee", c.code)
    branch_two = await form(api, "party_branch", c.compound(2), party)
    response = await api.post(
        "/organisations",
        {
            "kind": "party_group",
            "place_code": c.building(1, 1),
            "parent_org_id": branch_two,
            "name": "1栋党小组",
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["rule"] == "building_party_group_under_compound_branch"
    assert c.compound(1) in body["message"]


async def test_a_villager_group_party_group_in_an_urban_community_is_rejected(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    party = await form(api, "party_committee", c.code)
    response = await api.post(
        "/organisations",
        {"kind": "party_group", "place_code": c.code, "parent_org_id": party, "name": "村民小组党小组"},
    )
    assert response.status_code == 422
    assert response.json()["rule"] == "villager_group_party_group_only_in_village"


async def test_a_villager_group_party_group_forms_in_a_village(api: Api, new_community: NewCommunity):
    c = await new_community()
    for n in range(1, 1000):
        village = c.code[:9] + str((int(c.code[9:]) + n) % 999 + 1).zfill(3)
        response = await api.post("/places", {"kind": "village", "code": village, "name": "测试村"})
        if response.status_code == 201 and response.json()["created"]:
            break
    branch = await form(api, "party_branch", village)
    group = await form(api, "party_group", village, branch, "一组党小组")
    assert group


async def test_a_second_residents_committee_in_one_community_is_rejected(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await form(api, "residents_committee", c.code)
    response = await api.post(
        "/organisations", {"kind": "residents_committee", "place_code": c.code, "name": "二"}
    )
    assert response.status_code == 422
    assert response.json()["rule"] == "one_residents_committee_per_place"


async def test_an_owners_committee_hangs_under_its_compounds_owners_assembly(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await build_compound(api, c, buildings=0)
    response = await api.post(
        "/organisations", {"kind": "owners_committee", "place_code": c.compound(1), "name": "业委会"}
    )
    assert response.status_code == 422
    assert response.json()["rule"] == "owners_committee_elected_by_assembly"


async def test_dissolving_an_organisation_ends_its_open_terms_and_keeps_them(
    api: Api, new_community: NewCommunity
):
    from tests.integration.orggraph.builders import appoint, person

    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    someone = await person(api, c, "张主任")
    started = await appoint(api, someone, committee, "director", start="2021-06-01")
    assert started.status_code == 201, started.text
    done = await api.ok(
        "POST", f"/organisations/{committee}/dissolve", {"on": "2025-01-31", "reason": "换届合并"}
    )
    assert done["ended_memberships"] == [started.json()["membership_id"]]
    history = await api.ok("GET", f"/people/{someone}/posts", history="true")
    assert [(p["post"], p["end_date"], p["end_reason"]) for p in history["posts"]] == [
        ("director", "2025-01-31", "organisation_dissolved")
    ]


async def test_a_client_supplied_organisation_id_makes_forming_idempotent(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    body = {"kind": "residents_committee", "place_code": c.code, "name": "居委会", "org_id": f"rc-{c.code}"}
    first = await api.ok("POST", "/organisations", body)
    second = await api.ok("POST", "/organisations", body)
    assert (first["created"], second["created"]) == (True, False)
    assert first["org_id"] == second["org_id"] == f"rc-{c.code}"


async def test_renaming_an_organisation_keeps_its_id_and_is_published(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    response = await api.patch(f"/organisations/{committee}", {"name": "第二届居委会"})
    assert response.status_code == 200, response.text
    assert (await api.ok("GET", f"/organisations/{committee}"))["name"] == "第二届居委会"
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $id AND o.event CONTAINS 'organisation.updated' "
        "RETURN count(o) AS n",
        id=committee,
    )
    assert records[0]["n"] == 1
