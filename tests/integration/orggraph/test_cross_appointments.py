"""Cross-appointment (双向进入、交叉任职) rules: rejected or flagged, each with the rule's name."""

from __future__ import annotations

import pytest

from tests.integration.orggraph.builders import appoint, community_orgs, person
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound

pytestmark = pytest.mark.integration


async def _community(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    return c, await community_orgs(api, c)


async def test_a_two_committee_member_joins_an_owners_committee_only_by_assembly_vote(
    api: Api, new_community: NewCommunity
):
    c, orgs = await _community(api, new_community)
    member = await person(api, c, "两委委员", party_member=True)
    await appoint(api, member, orgs["residents"], "committee_member")
    refused = await appoint(api, member, orgs["owners"], "owners_committee_member", basis="appointment")
    assert refused.status_code == 422
    assert refused.json()["rule"] == "owners_committee_requires_assembly_vote"
    voted = await appoint(
        api,
        member,
        orgs["owners"],
        "owners_committee_member",
        basis="owners_assembly_vote",
        basis_reference="2024年第一次业主大会第3号决议",
    )
    assert voted.status_code == 201, voted.text
    assert voted.json()["cross_appointment"] is True


async def test_a_part_time_member_from_the_owners_committee_must_be_a_party_member_and_its_chair(
    api: Api, new_community: NewCommunity
):
    c, orgs = await _community(api, new_community)
    ordinary = await person(api, c, "普通业委", party_member=True)
    await appoint(api, ordinary, orgs["owners"], "owners_committee_member", basis="owners_assembly_vote")
    refused = await appoint(
        api, ordinary, orgs["party"], "part_time_committee_member", drawn_from_org_id=orgs["owners"]
    )
    assert refused.status_code == 422
    assert refused.json()["rule"] == "part_time_member_is_party_member_heading_the_body"
    chair = await person(api, c, "业委会主任", party_member=True)
    await appoint(api, chair, orgs["owners"], "owners_committee_chair", basis="owners_assembly_vote")
    accepted = await appoint(
        api, chair, orgs["party"], "part_time_committee_member", drawn_from_org_id=orgs["owners"]
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["cross_appointment"] is True


async def test_a_chair_who_is_not_a_party_member_cannot_be_a_part_time_member(
    api: Api, new_community: NewCommunity
):
    c, orgs = await _community(api, new_community)
    chair = await person(api, c, "非党员主任", party_member=False)
    await appoint(api, chair, orgs["owners"], "owners_committee_chair", basis="owners_assembly_vote")
    refused = await appoint(api, chair, orgs["party"], "part_time_committee_member")
    assert refused.status_code == 422
    assert refused.json()["rule"] == "part_time_member_is_party_member_heading_the_body"


async def test_chairing_the_owners_committee_and_managing_its_property_company_is_flagged(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c, orgs = await _community(api, new_community)
    someone = await person(api, c, "一人两职")
    await appoint(api, someone, orgs["owners"], "owners_committee_chair", basis="owners_assembly_vote")
    flagged = await appoint(api, someone, orgs["property"], "property_manager", basis="appointment")
    assert flagged.status_code == 201, flagged.text
    assert [f["rule"] for f in flagged.json()["flags"]] == ["owners_committee_chair_manages_property_company"]
    listed = await api.ok("GET", f"/regions/{c.code}/cross-appointment-flags")
    assert [f["person_id"] for f in listed["flags"]] == [someone]
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $p AND o.event CONTAINS 'cross_appointment.flagged' "
        "RETURN count(o) AS n",
        p=someone,
    )
    assert records[0]["n"] == 1


async def test_the_policy_lists_every_rule_with_its_mode(api: Api):
    policy = await api.ok("GET", "/policy/cross-appointments")
    assert {r["rule"]: r["mode"] for r in policy["rules"]} == {
        "owners_committee_requires_assembly_vote": "reject",
        "part_time_member_is_party_member_heading_the_body": "reject",
        "owners_committee_chair_manages_property_company": "flag",
    }
