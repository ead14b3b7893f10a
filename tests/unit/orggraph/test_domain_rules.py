"""Domain rules without servers: codes, shapes, posts, cross-appointments, roster rows, indicators."""

from __future__ import annotations

import pytest

from civicgrid_orggraph.domain.codes import check_place_code, division_parent, region_prefix_of
from civicgrid_orggraph.domain.coverage import CoverageCounts, indicators
from civicgrid_orggraph.domain.cross_appointments import (
    DEFAULT_POLICY,
    Appointment,
    Holding,
    RuleMode,
    evaluate,
    is_cross_appointment,
)
from civicgrid_orggraph.domain.posts import check_post_fits
from civicgrid_orggraph.domain.roster import RosterRejected, parse_roster
from civicgrid_orggraph.domain.shapes import OrgRef, PlaceRef, check_organisation_shape
from civicgrid_orggraph.domain.vocabulary import AppointmentBasis, OrganisationKind, PlaceKind, PostKind
from civicgrid_runtime.errors import InvalidInput, RuleViolation

K, P = OrganisationKind, PlaceKind
COMMUNITY = PlaceRef("420106002003", P.COMMUNITY, "420106002000")
COMPOUND = PlaceRef("420106002003-C01", P.COMPOUND, "420106002003")
BUILDING = PlaceRef("420106002003-C01-B01", P.BUILDING, "420106002003-C01")
VILLAGE = PlaceRef("420106002004", P.VILLAGE, "420106002000")
PARTY = OrgRef("party", K.PARTY_COMMITTEE, COMMUNITY)
RESIDENTS = OrgRef("rc", K.RESIDENTS_COMMITTEE, COMMUNITY)
BRANCH = OrgRef("branch", K.PARTY_BRANCH, COMPOUND)
OWNERS = OrgRef("oc", K.OWNERS_COMMITTEE, COMPOUND)
PROPERTY = OrgRef("pc", K.PROPERTY_COMPANY, COMPOUND)


def test_a_street_code_names_its_district_as_parent():
    assert division_parent("420106002000", P.STREET) == "420106000000"
    assert division_parent("420106002003", P.COMMUNITY) == "420106002000"


def test_a_community_code_ending_in_000_is_rejected():
    with pytest.raises(InvalidInput, match="not 000"):
        check_place_code(P.COMMUNITY, "420106002000", None)


def test_a_compound_code_must_extend_its_community_code():
    check_place_code(P.COMPOUND, "420106002003-C01", "420106002003")
    with pytest.raises(InvalidInput, match="420106002003-C01"):
        check_place_code(P.COMPOUND, "420106002999-C01", "420106002003")


def test_region_prefixes_drop_the_trailing_zeros_of_their_level():
    assert region_prefix_of("420106") == "420106"
    assert region_prefix_of("420106002000") == "420106002"
    with pytest.raises(InvalidInput):
        region_prefix_of("4201061")


def test_a_building_party_group_under_its_compound_branch_is_accepted():
    check_organisation_shape(K.PARTY_GROUP, BUILDING, BRANCH)


def test_a_building_party_group_under_the_community_committee_is_rejected():
    with pytest.raises(RuleViolation) as error:
        check_organisation_shape(K.PARTY_GROUP, BUILDING, PARTY)
    assert error.value.rule == "building_party_group_under_compound_branch"


def test_a_residents_committee_in_a_village_is_rejected():
    with pytest.raises(RuleViolation) as error:
        check_organisation_shape(K.RESIDENTS_COMMITTEE, VILLAGE, None)
    assert error.value.rule == "residents_committee_in_community"


def test_a_villagers_group_in_an_urban_community_is_rejected():
    with pytest.raises(RuleViolation) as error:
        check_organisation_shape(K.VILLAGERS_GROUP, COMMUNITY, RESIDENTS)
    assert error.value.rule == "villagers_group_under_villagers_committee"


def test_a_grid_worker_post_needs_a_grid():
    with pytest.raises(RuleViolation) as error:
        check_post_fits(PostKind.GRID_WORKER, RESIDENTS, None, None)
    assert error.value.rule == "grid_post_needs_grid"
    check_post_fits(PostKind.GRID_WORKER, RESIDENTS, "420106002003001", None)


def _appointment(post: PostKind, org: OrgRef, basis=AppointmentBasis.ELECTION, party=True, drawn=None):
    return Appointment("p1", party, post, org, basis, "ref", drawn)


def test_a_two_committee_member_appointed_to_an_owners_committee_without_a_vote_breaks_the_rule():
    holdings = [Holding("m1", PostKind.COMMITTEE_MEMBER, RESIDENTS)]
    found = evaluate(DEFAULT_POLICY, _appointment(PostKind.OWNERS_COMMITTEE_MEMBER, OWNERS), holdings)
    assert [(f.rule, f.mode) for f in found] == [("owners_committee_requires_assembly_vote", RuleMode.REJECT)]
    voted = _appointment(PostKind.OWNERS_COMMITTEE_MEMBER, OWNERS, AppointmentBasis.OWNERS_ASSEMBLY_VOTE)
    assert evaluate(DEFAULT_POLICY, voted, holdings) == []
    assert is_cross_appointment(voted, holdings)


def test_a_rule_switched_off_in_the_policy_is_not_reported():
    holdings = [Holding("m1", PostKind.OWNERS_COMMITTEE_CHAIR, OWNERS)]
    appointment = _appointment(PostKind.PROPERTY_MANAGER, PROPERTY)
    assert [f.mode for f in evaluate(DEFAULT_POLICY, appointment, holdings)] == [RuleMode.FLAG]
    policy = {**DEFAULT_POLICY, "owners_committee_chair_manages_property_company": RuleMode.OFF}
    assert evaluate(policy, appointment, holdings) == []


def test_a_part_time_member_drawn_from_a_property_company_must_be_its_manager():
    member = [Holding("m1", PostKind.COMMITTEE_MEMBER, OWNERS)]
    manager = [Holding("m2", PostKind.PROPERTY_MANAGER, PROPERTY)]
    appointment = _appointment(PostKind.PART_TIME_COMMITTEE_MEMBER, PARTY, drawn=PROPERTY)
    assert [f.rule for f in evaluate(DEFAULT_POLICY, appointment, member)] == [
        "part_time_member_is_party_member_heading_the_body"
    ]
    assert evaluate(DEFAULT_POLICY, appointment, manager) == []


def test_a_roster_reports_every_bad_row_with_its_number():
    header = ["community_code", "building_code", "building_name", "households"]
    rows = [
        (2, {"community_code": "420106002003", "building_code": "420106002003-B01", "building_name": "1栋"}),
        (
            3,
            {
                "community_code": "420106002003",
                "building_code": "x",
                "building_name": "2栋",
                "households": "-1",
            },
        ),
        (4, {"community_code": "420106002003", "building_code": "420106002003-B01", "building_name": "1栋"}),
    ]
    with pytest.raises(RosterRejected) as error:
        parse_roster(header, rows)
    assert [(p.row, p.column) for p in error.value.problems] == [
        (3, "building_code"),
        (3, "households"),
        (4, "building_code"),
    ]


def test_indicators_compare_ratios_with_the_plans_targets():
    counts = CoverageCounts(
        eligible_compounds=10,
        eligible_compounds_with_owners_committee=9,
        residents=20000,
        community_workers=30,
        households=1000,
        service_area_m2=250.0,
    )
    by_name = {i.name: i for i in indicators(counts)}
    assert (
        by_name["owners_committee_coverage"].value,
        by_name["owners_committee_coverage"].meets_target,
    ) == (0.9, True)
    assert by_name["community_workers_per_10000_residents"].value == 15.0
    assert by_name["community_workers_per_10000_residents"].meets_target is False
    assert by_name["service_area_m2_per_100_households"].value == 25.0
    assert by_name["compound_party_organisation_coverage"].value is None
