"""Posts, terms and history: who held a post on a date; one holder for single-holder posts."""

from __future__ import annotations

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.orggraph.builders import appoint, community_orgs, form, person
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound

pytestmark = pytest.mark.integration


async def test_who_held_a_post_on_a_date_follows_the_terms(api: Api, new_community: NewCommunity):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    first, second = await person(api, c, "王一"), await person(api, c, "李二")
    old = (await appoint(api, first, committee, "director", start="2018-05-01")).json()
    await api.ok(
        "POST",
        f"/memberships/{old['membership_id']}/end",
        {"end_date": "2021-04-30", "reason": "term_expired"},
    )
    new = await appoint(api, second, committee, "director", start="2021-05-01")
    assert new.status_code == 201, new.text
    post = old["post_id"]
    on_2019 = await api.ok("GET", f"/posts/{post}/holders", on="2019-03-01")
    on_2022 = await api.ok("GET", f"/posts/{post}/holders", on="2022-03-01")
    before = await api.ok("GET", f"/posts/{post}/holders", on="2017-03-01")
    assert [h["display_name"] for h in on_2019["holders"]] == ["王一"]
    assert [h["display_name"] for h in on_2022["holders"]] == ["李二"]
    assert before["holders"] == []
    everyone = await api.ok("GET", f"/posts/{post}/holders", history="true")
    assert [h["display_name"] for h in everyone["holders"]] == ["王一", "李二"]


async def test_a_single_holder_post_cannot_have_two_holders_at_once(api: Api, new_community: NewCommunity):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    a, b = await person(api, c, "甲"), await person(api, c, "乙")
    assert (await appoint(api, a, committee, "director")).status_code == 201
    response = await appoint(api, b, committee, "director", start="2024-06-01")
    assert response.status_code == 422
    assert response.json()["rule"] == "single_holder_post"


async def test_a_single_holder_post_refuses_a_term_from_before_the_current_holders_start(
    api: Api, new_community: NewCommunity
):
    """The new term has no end, so it would overlap the holder's term from its start on (before, only the
    new term's start date was checked, and both terms stayed open)."""
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    a, b = await person(api, c, "甲"), await person(api, c, "乙")
    held = await appoint(api, a, committee, "director", start="2024-01-01")
    assert held.status_code == 201
    earlier = await appoint(api, b, committee, "director", start="2023-06-01")
    assert earlier.status_code == 422, earlier.text
    assert earlier.json()["rule"] == "single_holder_post"
    assert earlier.json()["holder_membership_id"] == held.json()["membership_id"]
    post = held.json()["post_id"]
    everyone = await api.ok("GET", f"/posts/{post}/holders", history="true")
    assert [h["display_name"] for h in everyone["holders"]] == ["甲"]
    # Once the holder's term has ended, the next term starts after it.
    await api.ok(
        "POST",
        f"/memberships/{held.json()['membership_id']}/end",
        {"end_date": "2024-12-31", "reason": "resigned"},
    )
    assert (await appoint(api, b, committee, "director", start="2024-12-31")).status_code == 422
    assert (await appoint(api, b, committee, "director", start="2025-01-01")).status_code == 201


async def test_a_post_that_does_not_exist_in_the_organisation_is_rejected(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    someone = await person(api, c, "丙")
    response = await appoint(api, someone, committee, "property_manager")
    assert response.status_code == 422
    assert response.json()["rule"] == "post_fits_organisation"


async def test_a_persons_posts_on_a_date_and_the_history(api: Api, new_community: NewCommunity):
    c = await new_community()
    party = await form(api, "party_committee", c.code)
    residents = await form(api, "residents_committee", c.code)
    someone = await person(api, c, "赵书记", party_member=True)
    sec = (await appoint(api, someone, party, "secretary", start="2019-01-01")).json()
    await appoint(api, someone, residents, "director", start="2021-05-01")
    await api.ok(
        "POST", f"/memberships/{sec['membership_id']}/end", {"end_date": "2023-12-31", "reason": "resigned"}
    )
    in_2022 = await api.ok("GET", f"/people/{someone}/posts", on="2022-01-01")
    in_2024 = await api.ok("GET", f"/people/{someone}/posts", on="2024-01-01")
    history = await api.ok("GET", f"/people/{someone}/posts", history="true")
    assert sorted(p["post"] for p in in_2022["posts"]) == ["director", "secretary"]
    assert [p["post"] for p in in_2024["posts"]] == ["director"]
    assert len(history["posts"]) == 2


async def test_a_member_reads_their_own_posts_but_not_someone_elses(api: Api, new_community: NewCommunity):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    me, other = await person(api, c, "我"), await person(api, c, "他")
    await appoint(api, me, committee, "committee_member")
    token = api.token(Role.MEMBER, person_id=me)
    mine = await api.get(f"/people/{me}/posts", token=token)
    theirs = await api.get(f"/people/{other}/posts", token=token)
    assert mine.status_code == 200
    assert [p["post"] for p in mine.json()["posts"]] == ["committee_member"]
    assert theirs.status_code == 403


async def test_an_id_number_is_kept_only_as_a_hash_and_deduplicates(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    id_number = "42010619800101" + c.code[-4:]
    body = {"display_name": "钱", "community_code": c.code, "phone": "13812345678", "id_number": id_number}
    first = await api.ok("POST", "/people", body)
    again = await api.ok("POST", "/people", body)
    assert again["person_id"] == first["person_id"]
    assert first["phone"] == "138****5678"
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (p:Person {id: $id}) RETURN properties(p) AS p", id=first["person_id"]
    )
    stored = str(records[0]["p"])
    assert id_number not in stored
    assert "13812345678" not in stored
    outbox, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $id RETURN o.event AS e", id=first["person_id"]
    )
    assert outbox
    assert all(id_number not in r["e"] and "13812345678" not in r["e"] for r in outbox)


async def test_the_responsibility_chain_of_a_building_names_everyone_on_a_date(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await build_compound(api, c, buildings=2)
    await api.ok(
        "POST", "/grids", {"grid_id": c.grid(1), "name": "一网格", "building_codes": [c.building(1, 1)]}
    )
    orgs = await community_orgs(api, c)
    office = await form(api, "street_office", c.street, name="街道办事处")
    people = {name: await person(api, c, name, party_member=True) for name in "ABCDEFG"}
    for name, org, post, extra in (
        ("A", orgs["residents"], "building_head", {"building_code": c.building(1, 1)}),
        ("B", orgs["residents"], "grid_worker", {"grid_id": c.grid(1), "basis": "appointment"}),
        ("C", orgs["residents"], "grid_leader", {"grid_id": c.grid(1)}),
        ("D", orgs["branch"], "secretary", {}),
        ("E", orgs["party"], "secretary", {}),
        ("F", orgs["residents"], "director", {}),
        ("G", office, "grid_contact_leader", {"grid_id": c.grid(1), "basis": "appointment"}),
    ):
        response = await appoint(api, people[name], org, post, **extra)
        assert response.status_code == 201, response.text
    chain = await api.ok("GET", f"/buildings/{c.building(1, 1)}/responsibility-chain", on="2025-01-01")
    roles = {link["role"]: link["person_id"] for link in chain["chain"]}
    assert roles == {
        "building_head": people["A"],
        "grid_worker": people["B"],
        "grid_leader": people["C"],
        "compound_branch_secretary": people["D"],
        "community_secretary": people["E"],
        "residents_committee_director": people["F"],
        "township_leader": people["G"],
    }
    assert chain["vacant"] == []
    before = await api.ok("GET", f"/buildings/{c.building(1, 1)}/responsibility-chain", on="2023-01-01")
    assert before["chain"] == []
    other = await api.ok("GET", f"/buildings/{c.building(1, 2)}/responsibility-chain", on="2025-01-01")
    assert {link["role"] for link in other["chain"]} == {
        "compound_branch_secretary",
        "community_secretary",
        "residents_committee_director",
    }
    assert "grid_worker" in other["vacant"]


async def test_the_two_committees_list_their_current_members(api: Api, new_community: NewCommunity):
    c = await new_community()
    party = await form(api, "party_committee", c.code)
    residents = await form(api, "residents_committee", c.code)
    a, b = await person(api, c, "党委书记", party_member=True), await person(api, c, "委员")
    await appoint(api, a, party, "secretary")
    await appoint(api, b, residents, "committee_member")
    two = await api.ok("GET", f"/communities/{c.code}/two-committees", on="2024-06-01")
    members = {o["kind"]: [m["display_name"] for m in o["members"]] for o in two["committees"]}
    assert members == {"party_committee": ["党委书记"], "residents_committee": ["委员"]}


async def test_an_id_number_registered_in_another_community_is_a_conflict_that_reveals_no_id(
    api: Api, new_community: NewCommunity
):
    first, second = await new_community(), await new_community()
    id_number = "42010619900101" + first.code[-4:]
    registered = await api.ok(
        "POST", "/people", {"display_name": "孙", "community_code": first.code, "id_number": id_number}
    )
    response = await api.post(
        "/people", {"display_name": "孙", "community_code": second.code, "id_number": id_number}
    )
    assert response.status_code == 409
    assert registered["person_id"] not in response.text
