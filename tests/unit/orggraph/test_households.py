"""Household rules: codes, areas, people, the totals of owners' decisions, and what the facts carry."""

from __future__ import annotations

import pytest

from civicgrid_contracts.events.households import HouseholdRegistered
from civicgrid_orggraph.domain.households import (
    Household,
    check_area,
    check_people,
    compound_of,
    household_code,
    parse_household_code,
    totals,
)
from civicgrid_orggraph.service_layer.households import RegisterHousehold, checked_changes
from civicgrid_orggraph.service_layer.ports import Locks
from civicgrid_runtime.errors import InvalidInput

BUILDING = "420106002003-C01-B07"


def test_a_household_code_is_its_building_entrance_and_unit_and_parses_back() -> None:
    code = household_code(BUILDING, "2", "1203")
    assert code == "420106002003-C01-B07-U2-1203"
    assert parse_household_code(code) == (BUILDING, "2", "1203")
    assert parse_household_code("420106002003-B12-U1-101") == ("420106002003-B12", "1", "101")


@pytest.mark.parametrize(
    "code", ["420106002003-C01-B07-1203", "420106002003-C01-U2-1203", "420106002003-C01-B07-U2-12/3"]
)
def test_a_malformed_household_code_is_refused_naming_the_field(code: str) -> None:
    with pytest.raises(InvalidInput, match="household code") as refused:
        parse_household_code(code)
    assert refused.value.details["field"] == "household_code"


@pytest.mark.parametrize(("entrance", "unit"), [("2号", "1203"), ("2", ""), ("123456789", "1")])
def test_entrance_and_unit_numbers_are_1_to_8_letters_or_digits(entrance: str, unit: str) -> None:
    with pytest.raises(InvalidInput, match="1-8 letters or digits"):
        household_code(BUILDING, entrance, unit)


@pytest.mark.parametrize(
    ("given", "kept"), [(89.555, 89.56), ("120", 120.0), (0, 0.0), (100000, 100000.0), (" 73.4 ", 73.4)]
)
def test_an_area_is_kept_in_square_metres_rounded_half_up_to_two_decimals(given: object, kept: float) -> None:
    assert check_area(given) == kept


@pytest.mark.parametrize("given", [-0.01, 100000.01, "many", float("nan"), float("inf"), True])
def test_an_area_outside_0_to_100000_or_not_a_number_is_refused_naming_the_field(given: object) -> None:
    with pytest.raises(InvalidInput, match="exclusive_area_m2") as refused:
        check_area(given)
    assert refused.value.details["field"] == "exclusive_area_m2"


def test_a_person_named_twice_in_a_list_is_refused_naming_the_list() -> None:
    assert check_people("owner_person_ids", ["p-1", "p-2"]) == ("p-1", "p-2")
    with pytest.raises(InvalidInput, match="owner_person_ids names person p-1 twice"):
        check_people("owner_person_ids", ["p-1", "p-2", "p-1"])
    with pytest.raises(InvalidInput, match="more than 50"):
        check_people("resident_person_ids", [f"p-{n}" for n in range(51)])


def test_a_buildings_compound_is_its_parent_unless_the_parent_is_a_community_or_village() -> None:
    assert compound_of("420106002003-C01") == "420106002003-C01"
    assert compound_of("420106002003") is None
    assert compound_of(None) is None


def test_a_register_command_with_a_code_that_is_not_a_buildings_names_building_code() -> None:
    with pytest.raises(InvalidInput, match="building_code") as refused:
        RegisterHousehold("420106002003-C01", "1", "101", 50).household()
    assert refused.value.details["field"] == "building_code"


def test_the_state_of_a_household_is_a_valid_registered_fact_with_ids_only() -> None:
    h = Household(
        "420106002003-C01-B07-U2-1203",
        BUILDING,
        "420106002003-C01",
        "2",
        "1203",
        89.56,
        owner_ids=("p-1",),
        resident_ids=("p-1", "p-2"),
        representative_id="p-9",
    )
    fact = HouseholdRegistered.model_validate({**h.state(), "community_code": h.community_code})
    assert fact.entrance_code == "420106002003-C01-B07-U2"
    assert [o.person_id for o in fact.owners] == ["p-1"]
    assert fact.version == 1


def test_a_change_makes_the_next_version_and_reordering_people_is_no_change() -> None:
    h = Household("420106002003-C01-B07-U2-1203", BUILDING, None, "2", "1203", 50.0, owner_ids=("a", "b"))
    reordered = h.changed(owner_ids=("b", "a"))
    assert reordered.version == 2
    assert reordered.same_state(h)
    assert not h.changed(exclusive_area_m2=50.01).same_state(h)
    assert not h.changed(representative_id="r").same_state(h)


def test_changes_are_checked_and_an_empty_change_is_refused() -> None:
    assert checked_changes({"exclusive_area_m2": "70.005", "owner_ids": ["a"]}) == {
        "exclusive_area_m2": 70.01,
        "owner_ids": ("a",),
    }
    with pytest.raises(InvalidInput, match="nothing to change"):
        checked_changes({})
    with pytest.raises(InvalidInput, match="resident_person_ids"):
        checked_changes({"resident_ids": ["a", "a"]})


def test_totals_count_area_and_owners_as_the_civil_code_interpretation_does() -> None:
    summed = totals(
        [
            (100.0, ["a"]),
            (80.5, ["a"]),  # a second unit of the same owner: counted once
            (60.0, ["b", "c"]),  # co-owners of one unit: one
            (60.0, ["c"]),  # c alone on another unit: one more
            (59.5, []),  # no owner on record: area counts, headcount does not
        ]
    )
    assert (summed.households, summed.area_m2) == (5, 360.0)
    assert (summed.owned_households, summed.households_without_owners) == (4, 1)
    assert (summed.owner_persons, summed.owner_headcount) == (3, 3)
    figures = summed.as_dict()
    assert figures["motion_5_percent"] == {"area_m2": 18.0, "owners": 1}
    assert figures["participation_two_thirds"] == {"area_m2": 240.0, "owners": 2}


def test_thresholds_round_up_so_a_share_just_below_is_never_enough() -> None:
    figures = totals([(33.33, [f"p{n}"]) for n in range(21)]).as_dict()
    assert figures["area_m2"] == 699.93
    assert figures["motion_5_percent"] == {"area_m2": 35.0, "owners": 2}  # 34.9965 m², 1.05 owners
    assert figures["participation_two_thirds"] == {"area_m2": 466.62, "owners": 14}


def test_totals_of_no_households_are_zero() -> None:
    figures = totals([]).as_dict()
    assert figures["households"] == 0
    assert figures["motion_5_percent"] == {"area_m2": 0.0, "owners": 0}


def test_households_lock_after_places_in_the_canonical_order() -> None:
    locks = Locks.of(places=["b"], households=["h", None])
    assert locks.households == frozenset({"h"})
    merged = Locks.union([locks, Locks.of(households=["g"])])
    assert merged.households == frozenset({"g", "h"})
    assert list(Locks.__dataclass_fields__)[-2:] == ["places", "households"]


def test_the_demo_community_gets_4453_households_the_same_on_every_run_that_the_roster_accepts() -> (
    None
):
    from civicgrid_orggraph.adapters.tabular import read_table
    from civicgrid_orggraph.domain.household_roster import parse_household_roster
    from deploy.stack import demo_orggraph

    first = [demo_orggraph.household_rows(c) for c in range(1, 10)]
    assert first == [demo_orggraph.household_rows(c) for c in range(1, 10)]
    parsed = []
    for lines in first:
        content = "\n".join([demo_orggraph.HOUSEHOLD_HEADER, *lines]).encode()
        parsed += parse_household_roster(*read_table("households.csv", content))
    assert len(parsed) == len({r.household.code for r in parsed}) == 4453
    per_building = [int(line.split(",")[6]) for line in demo_orggraph.roster_csv().decode().splitlines()[1:]]
    assert sum(per_building) == 4453
    summed = totals((r.household.exclusive_area_m2, r.household.owner_ids) for r in parsed)
    assert 0 < summed.households_without_owners < summed.owned_households
    assert summed.owner_headcount < summed.owned_households  # some owners hold two units
