"""The 5 % motion and show-of-hands meetings against hand-computed cases."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from civicgrid_deliberation.domain.voting import (
    AssemblyRules,
    Measure,
    MeetingRules,
    MotionBasis,
    Outcome,
    Unit,
    VoteBasis,
    Voter,
    decide_meeting,
    motion_status,
    voters_of,
)
from civicgrid_runtime.errors import InvalidInput


def fractions_of(m: Measure) -> tuple[Any, Any]:
    return m.numerator, m.denominator


BY_HEAD = AssemblyRules(motion_basis=MotionBasis.HEADCOUNT)
BY_AREA = AssemblyRules(motion_basis=MotionBasis.AREA)


def forty_households() -> dict[str, Voter]:
    return voters_of([Unit(f"H{i}", 9000, (f"p{i}",)) for i in range(40)], VoteBasis.PER_HOUSEHOLD)


def one_big_and_twenty_small() -> dict[str, Voter]:
    big = [Unit("BIG", 100000, ("pb",))]
    small = [Unit(f"S{i}", 5000, (f"ps{i}",)) for i in range(20)]
    return voters_of(big + small, VoteBasis.PER_HOUSEHOLD)  # 21 households, 2000 m2


def test_one_household_in_forty_is_short_of_five_percent():
    status = motion_status(forty_households(), ["H1"], BY_HEAD)
    assert fractions_of(status.measure) == (1, 40)
    assert not status.reached


def test_two_households_in_forty_are_exactly_five_percent_and_reach_the_motion():
    status = motion_status(forty_households(), ["H1", "H2"], BY_HEAD)
    assert status.measure.numerator / status.measure.denominator == Fraction(5, 100)
    assert status.reached


def test_supporting_twice_counts_once():
    status = motion_status(forty_households(), ["H1", "H1", "H1"], BY_HEAD)
    assert status.supporters.heads == 1
    assert not status.reached


def test_supporters_not_on_the_roll_are_not_counted():
    status = motion_status(forty_households(), ["H1", "ELSEWHERE"], BY_HEAD)
    assert status.supporters.heads == 1
    assert status.unknown_supporters == 1
    assert not status.reached


def test_by_area_one_large_owner_reaches_the_motion_that_headcount_would_not():
    voters = one_big_and_twenty_small()
    by_area = motion_status(voters, ["BIG"], BY_AREA)
    assert (by_area.measure.name, *fractions_of(by_area.measure)) == ("motion_area", 1000, 2000)
    assert by_area.reached
    by_head = motion_status(voters, ["BIG"], BY_HEAD)
    assert fractions_of(by_head.measure) == (1, 21)
    assert not by_head.reached


def test_by_area_two_small_owners_hold_exactly_five_percent():
    status = motion_status(one_big_and_twenty_small(), ["S1", "S2"], BY_AREA)
    assert fractions_of(status.measure) == (100, 2000)
    assert status.reached
    assert not motion_status(one_big_and_twenty_small(), ["S1"], BY_AREA).reached


def test_the_motion_arithmetic_is_part_of_its_status():
    data = motion_status(forty_households(), ["H1", "H2"], BY_HEAD).to_data()
    assert data["measure"]["threshold"] == "≥ 1/20"
    assert data["measure"]["rule"] == "5% motion by headcount"
    assert data["supporters"] == {"heads": 2, "area_m2": 180}


RULES = MeetingRules()


def test_a_representatives_meeting_with_two_thirds_attending_passes_by_majority_of_those_attending():
    decision = decide_meeting(members=9, attending=6, approve=4, oppose=2, abstain=0, rules=RULES)
    assert decision.outcome is Outcome.ADOPTED
    assert [(m.name, *fractions_of(m), m.met) for m in decision.measures] == [
        ("attendance", 6, 9, True),
        ("approval", 4, 6, True),
    ]


def test_half_of_those_attending_is_not_a_majority():
    assert decide_meeting(9, 6, 3, 3, 0, RULES).outcome is Outcome.REJECTED


def test_hands_not_raised_count_as_not_approving():
    assert decide_meeting(9, 8, 4, 1, 0, RULES).outcome is Outcome.REJECTED  # 4/8


def test_a_meeting_short_of_two_thirds_decides_nothing():
    assert decide_meeting(9, 5, 5, 0, 0, RULES).outcome is Outcome.NOT_QUORATE


@pytest.mark.parametrize(
    ("counts", "field"),
    [((9, 6, 4, 2, 1), "votes"), ((5, 6, 1, 0, 0), "attending"), ((5, 3, -1, 0, 0), "votes")],
)
def test_impossible_counts_are_refused_naming_the_field(counts: tuple[int, ...], field: str) -> None:
    members, attending, approve, oppose, abstain = counts
    with pytest.raises(InvalidInput) as caught:
        decide_meeting(members, attending, approve, oppose, abstain, RULES)
    assert caught.value.details["field"] == field
