"""Owners' assembly decisions against hand-computed cases (Civil Code art. 278, silent majority, bases)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from civicgrid_deliberation.domain.voting import (
    MATTERS,
    AssemblyRules,
    Choice,
    Decision,
    Outcome,
    Threshold,
    Unit,
    VoteBasis,
    Voter,
    matter,
    tally,
    voters_of,
)
from civicgrid_runtime.errors import InvalidInput

YES, NO, ABST = Choice.APPROVE, Choice.OPPOSE, Choice.ABSTAIN
ORDINARY = matter("property_manager")
MAJOR = matter("rebuild")
CIVIL = AssemblyRules()
SILENT = AssemblyRules(silent_majority=True)


def units(*areas_m2: float) -> list[Unit]:
    return [Unit(f"H{i + 1}", round(a * 100), (f"p{i + 1}",)) for i, a in enumerate(areas_m2)]


def roll(*areas_m2: float) -> dict[str, Voter]:
    return voters_of(units(*areas_m2), VoteBasis.PER_HOUSEHOLD)


def ballots(*choices: Choice | None) -> dict[str, Choice]:
    return {f"H{i + 1}": c for i, c in enumerate(choices) if c is not None}


def measures(decision: Decision) -> dict[str, tuple[Any, Any, bool]]:
    return {m.name: (m.numerator, m.denominator, m.met) for m in decision.measures}


def test_an_ordinary_matter_passes_with_exactly_two_thirds_of_owners_taking_part_and_a_majority_approving():
    decision = tally(
        roll(100, 100, 100, 100, 50, 50), ballots(YES, YES, YES, None, NO, None), ORDINARY, CIVIL
    )
    m = measures(decision)
    assert m["participation_owners"] == (4, 6, True)  # 4/6 = 2/3, "以上" includes the bound
    assert m["participation_area"] == (350, 500, True)  # 0.70 >= 2/3
    assert m["approval_owners"] == (3, 4, True)
    assert m["approval_area"] == (300, 350, True)
    assert decision.outcome is Outcome.ADOPTED


def test_participation_of_exactly_two_thirds_of_the_area_and_owners_is_enough():
    decision = tally(roll(100, 100, 100), ballots(YES, YES, None), ORDINARY, CIVIL)
    m = measures(decision)
    assert m["participation_area"] == (200, 300, True)
    assert m["participation_owners"] == (2, 3, True)
    assert decision.adopted


def test_participation_a_hundredth_of_a_square_metre_short_of_two_thirds_decides_nothing():
    decision = tally(roll(100, 100, 100.01), ballots(YES, YES, None), ORDINARY, CIVIL)
    m = measures(decision)
    assert m["participation_owners"] == (2, 3, True)
    assert m["participation_area"] == (200, Fraction(30001, 100), False)
    assert decision.outcome is Outcome.NOT_QUORATE


def test_too_few_owners_by_headcount_decide_nothing_even_with_most_of_the_area():
    decision = tally(roll(1000, 10, 10, 10, 10), ballots(YES, YES, None, None, None), ORDINARY, CIVIL)
    m = measures(decision)
    assert m["participation_area"][2] is True  # 1010/1040
    assert m["participation_owners"] == (2, 5, False)
    assert decision.outcome is Outcome.NOT_QUORATE


def test_a_tie_is_not_more_than_half_so_the_matter_is_rejected():
    decision = tally(roll(100, 100, 100, 100), ballots(YES, YES, NO, NO), ORDINARY, CIVIL)
    m = measures(decision)
    assert m["approval_owners"] == (2, 4, False)
    assert m["approval_area"] == (200, 400, False)
    assert decision.outcome is Outcome.REJECTED


def test_a_majority_of_area_without_a_majority_of_owners_is_rejected():
    decision = tally(roll(300, 50, 50, 50), ballots(YES, NO, NO, NO), ORDINARY, CIVIL)
    m = measures(decision)
    assert m["approval_area"] == (300, 450, True)
    assert m["approval_owners"] == (1, 4, False)
    assert decision.outcome is Outcome.REJECTED


def test_a_majority_of_owners_without_a_majority_of_area_is_rejected():
    decision = tally(roll(300, 50, 50, 50), ballots(NO, YES, YES, YES), ORDINARY, CIVIL)
    m = measures(decision)
    assert m["approval_owners"] == (3, 4, True)
    assert m["approval_area"] == (150, 450, False)
    assert decision.outcome is Outcome.REJECTED


def test_abstentions_take_part_but_do_not_approve():
    rejected = tally(roll(100, 100, 100, 100), ballots(YES, YES, ABST, NO), ORDINARY, CIVIL)
    assert measures(rejected)["approval_owners"] == (2, 4, False)
    assert rejected.abstain.heads == 1
    assert rejected.outcome is Outcome.REJECTED
    adopted = tally(roll(100, 100, 100, 100), ballots(YES, YES, YES, ABST), ORDINARY, CIVIL)
    assert measures(adopted)["approval_owners"] == (3, 4, True)
    assert adopted.adopted


def test_an_abstention_makes_the_quorum_but_not_the_majority():
    decision = tally(roll(100, 100, 100), ballots(YES, ABST, None), ORDINARY, CIVIL)
    m = measures(decision)
    assert m["participation_owners"] == (2, 3, True)
    assert m["approval_owners"] == (1, 2, False)
    assert decision.outcome is Outcome.REJECTED


def test_a_major_matter_passes_with_exactly_three_quarters_of_participating_area_and_owners():
    decision = tally(roll(100, 100, 100, 100), ballots(YES, YES, YES, NO), MAJOR, CIVIL)
    m = measures(decision)
    assert m["approval_owners"] == (3, 4, True)
    assert m["approval_area"] == (300, 400, True)
    assert decision.major
    assert decision.adopted


def test_five_eighths_carries_an_ordinary_matter_but_not_a_major_one():
    votes = ballots(YES, YES, YES, YES, YES, NO, NO, NO)
    eight = roll(*[100] * 8)
    assert tally(eight, votes, ORDINARY, CIVIL).adopted
    major = tally(eight, votes, MAJOR, CIVIL)
    assert measures(major)["approval_owners"] == (5, 8, False)
    assert major.outcome is Outcome.REJECTED


def test_the_major_threshold_is_measured_against_participants_not_all_owners():
    # 7 of 9 take part (7/9 >= 2/3), 6 of them approve: 6/7 >= 3/4 although 6/9 < 3/4
    decision = tally(roll(*[100] * 9), ballots(YES, YES, YES, YES, YES, YES, NO, None, None), MAJOR, CIVIL)
    m = measures(decision)
    assert m["approval_owners"] == (6, 7, True)
    assert m["approval_area"] == (600, 700, True)
    assert decision.adopted


@pytest.mark.parametrize("code", ["raise_maintenance_fund", "rebuild", "common_parts_use"])
def test_items_six_to_eight_of_article_278_are_the_major_matters(code: str):
    assert MATTERS[code].major
    assert sum(m.major for m in MATTERS.values()) == 3


def test_silent_owners_do_not_count_where_the_compound_did_not_adopt_the_rule():
    decision = tally(roll(*[100] * 10), ballots(YES, YES, YES, NO), ORDINARY, CIVIL)
    assert CIVIL.silent_majority is False
    assert decision.silent_counted_as is None
    assert measures(decision)["participation_owners"] == (4, 10, False)
    assert decision.outcome is Outcome.NOT_QUORATE


def test_silent_owners_follow_the_approving_majority_where_the_compound_adopted_the_rule():
    decision = tally(roll(*[100] * 10), ballots(YES, YES, YES, NO), ORDINARY, SILENT)
    m = measures(decision)
    assert decision.silent.heads == 6
    assert decision.silent.area == 600
    assert decision.silent_counted_as is Choice.APPROVE
    assert m["participation_owners"] == (10, 10, True)
    assert m["participation_area"] == (1000, 1000, True)
    assert m["approval_owners"] == (9, 10, True)
    assert m["approval_area"] == (900, 1000, True)
    assert decision.adopted


def test_silent_owners_follow_the_opposing_majority_too():
    decision = tally(roll(*[100] * 10), ballots(NO, NO, NO, YES), ORDINARY, SILENT)
    assert decision.silent_counted_as is Choice.OPPOSE
    assert measures(decision)["approval_owners"] == (1, 10, False)
    assert decision.oppose.heads == 9
    assert decision.outcome is Outcome.REJECTED


def test_silent_owners_follow_nobody_when_the_votes_cast_are_tied():
    decision = tally(roll(*[100] * 10), ballots(YES, YES, NO, NO), ORDINARY, SILENT)
    assert decision.silent_counted_as is None
    assert measures(decision)["participation_owners"] == (4, 10, False)
    assert decision.outcome is Outcome.NOT_QUORATE


def test_silent_owners_follow_nobody_when_area_and_headcount_point_different_ways():
    decision = tally(roll(300, 50, 50, *[100] * 7), ballots(YES, NO, NO), ORDINARY, SILENT)
    assert decision.approve.area > decision.oppose.area
    assert decision.approve.heads < decision.oppose.heads
    assert decision.silent_counted_as is None
    assert decision.outcome is Outcome.NOT_QUORATE


def test_silent_owners_counted_with_the_majority_can_carry_a_major_matter():
    decision = tally(roll(*[100] * 10), ballots(YES, YES, YES, NO), MAJOR, SILENT)
    assert measures(decision)["approval_owners"] == (9, 10, True)
    assert decision.adopted


def test_abstentions_do_not_decide_which_way_the_silent_go():
    decision = tally(roll(*[100] * 10), ballots(YES, ABST, ABST, ABST), ORDINARY, SILENT)
    assert decision.silent_counted_as is Choice.APPROVE
    m = measures(decision)
    assert m["approval_owners"] == (7, 10, True)  # 1 + 6 silent of 10


def test_one_vote_per_household_and_one_vote_per_owner_can_decide_differently():
    # U1 100 m2 co-owned by p1 and p2; p3 owns U2 (100) and U3 (50); p4 owns U4 (100)
    compound = [
        Unit("U1", 10000, ("p1", "p2")),
        Unit("U2", 10000, ("p3",)),
        Unit("U3", 5000, ("p3",)),
        Unit("U4", 10000, ("p4",)),
    ]
    per_household = voters_of(compound, VoteBasis.PER_HOUSEHOLD)
    household_decision = tally(per_household, {"U1": YES, "U2": NO, "U3": NO, "U4": YES}, ORDINARY, CIVIL)
    assert measures(household_decision)["approval_owners"] == (2, 4, False)
    assert household_decision.outcome is Outcome.REJECTED

    per_owner = voters_of(compound, VoteBasis.PER_OWNER)
    assert {v: per_owner[v].area for v in per_owner} == {"p1": 50, "p2": 50, "p3": 150, "p4": 100}
    owner_decision = tally(
        per_owner, {"p1": YES, "p2": YES, "p3": NO, "p4": YES}, ORDINARY, AssemblyRules(VoteBasis.PER_OWNER)
    )
    m = measures(owner_decision)
    assert m["approval_owners"] == (3, 4, True)
    assert m["approval_area"] == (200, 350, True)
    assert owner_decision.adopted


def test_co_owners_share_a_units_area_exactly():
    voters = voters_of([Unit("U1", 10000, ("a", "b", "c"))], VoteBasis.PER_OWNER)
    assert voters["a"].area == Fraction(100, 3)
    assert sum(v.area for v in voters.values()) == 100
    assert voters["a"].casters == ("a",)


def test_a_household_vote_is_cast_by_any_of_its_owners_and_an_unowned_unit_has_no_caster():
    compound = [Unit("U1", 8000, ("a", "b")), Unit("U2", 8000, ())]
    per_household = voters_of(compound, VoteBasis.PER_HOUSEHOLD)
    assert per_household["U1"].casters == ("a", "b")
    assert per_household["U2"].casters == ()
    per_owner = voters_of(compound, VoteBasis.PER_OWNER)
    assert set(per_owner) == {"a", "b", "U2"}  # the unowned unit counts as one owner of record
    assert per_owner["U2"].casters == ()


def test_ballots_of_voters_not_on_the_roll_are_ignored_and_counted_as_such():
    decision = tally(roll(100, 100, 100), {"H1": YES, "H2": YES, "H9": NO}, ORDINARY, CIVIL)
    assert decision.ignored_ballots == 1
    assert decision.oppose.heads == 0
    assert decision.adopted


def test_an_empty_roll_decides_nothing():
    decision = tally({}, {}, ORDINARY, SILENT)
    assert decision.outcome is Outcome.NOT_QUORATE


def test_every_decision_shows_its_arithmetic_and_the_rule():
    data = tally(roll(100, 100, 100), ballots(YES, YES, NO), MAJOR, CIVIL).to_data()
    approval = next(m for m in data["measures"] if m["name"] == "approval_area")
    assert approval == {
        "name": "approval_area",
        "numerator": 200,
        "denominator": 300,
        "ratio": 0.666667,
        "ratio_exact": "2/3",
        "threshold": "≥ 3/4",
        "met": False,
        "rule": "civil_code_art_278: approving area of participating area (major matter)",
    }
    assert data["outcome"] == "rejected"
    assert data["rules"]["silent_majority"] is False


def test_rules_survive_a_round_trip_as_data():
    rules = AssemblyRules(
        VoteBasis.PER_OWNER,
        silent_majority=True,
        ordinary_approval=Threshold(Fraction(3, 5)),
        name="compound_rules",
    )
    assert AssemblyRules.from_data(rules.to_data()) == rules
    assert AssemblyRules.from_data({}) == AssemblyRules()


def test_an_unknown_matter_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as caught:
        matter("sell_the_park")
    assert caught.value.details["field"] == "matter"
