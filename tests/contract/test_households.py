"""The household facts: codes that agree with each other, areas as agreed, ids only."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from civicgrid_contracts import new_event, parse_payload, topic_for
from civicgrid_contracts.events import HouseholdRegistered, HouseholdRemoved, HouseholdUpdated

BUILDING = "420106002003-C01-B07"


def state(**changes: Any) -> dict[str, Any]:
    return {
        "community_code": "420106002003",
        "household_code": BUILDING + "-U2-1203",
        "compound_code": "420106002003-C01",
        "building_code": BUILDING,
        "entrance_code": BUILDING + "-U2",
        "unit_number": "1203",
        "exclusive_area_m2": 89.56,
        "owners": [{"person_id": "p-1"}],
        "resident_person_ids": ["p-1", "p-2"],
        "representative_person_id": "p-9",
        "version": 1,
    } | changes


def test_household_facts_travel_on_the_households_topic_keyed_by_community() -> None:
    for model in (HouseholdRegistered, HouseholdUpdated, HouseholdRemoved):
        assert topic_for(model.event_type) == "civicgrid.org.households.v1"
    event = new_event(HouseholdRegistered.model_validate(state()), source="/civicgrid/org-graph")
    assert event.partitionkey == "420106002003"
    assert parse_payload(event, HouseholdRegistered).owners[0].person_id == "p-1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"household_code": BUILDING + "-U2-1204"}, "household_code must be entrance_code"),
        (
            {"entrance_code": "420106002003-C01-B08-U2", "household_code": "420106002003-C01-B08-U2-1203"},
            "entrance_code must be building_code",
        ),
        ({"compound_code": "420106002003-C02"}, "building_code must start with compound_code"),
        ({"community_code": "420106002004"}, "building_code must start with the community code"),
        ({"exclusive_area_m2": 89.567}, "at most two decimals"),
        ({"exclusive_area_m2": -1.0}, "greater than or equal to 0"),
        ({"owners": [{"person_id": "p-1"}, {"person_id": "p-1"}]}, "owners must name each person once"),
        ({"resident_person_ids": ["p-2", "p-2"]}, "resident_person_ids must name each person once"),
        ({"version": 0}, "greater than or equal to 1"),
        ({"representative_person_id": "p-13812345678"}, "phone number"),
    ],
)
def test_a_household_state_that_does_not_hold_together_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        HouseholdUpdated.model_validate(state(**changes))


def test_a_household_of_a_building_outside_any_compound_has_no_compound_code() -> None:
    building = "420106002003-B12"
    payload = HouseholdRegistered.model_validate(
        state(
            compound_code=None,
            building_code=building,
            entrance_code=building + "-U1",
            household_code=building + "-U1-101",
            unit_number="101",
        )
    )
    assert payload.compound_code is None


def test_a_removal_names_a_household_of_its_building() -> None:
    with pytest.raises(ValidationError, match="household_code must start with building_code"):
        HouseholdRemoved(
            community_code="420106002003",
            household_code="420106002003-C01-B08-U2-1203",
            building_code=BUILDING,
            version=2,
        )
