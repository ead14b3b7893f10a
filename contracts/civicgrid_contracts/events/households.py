"""org-graph events about households: entrances and units under buildings, owners, residents and the
representative who keeps in touch with each household (代表联系户).

Full-state facts: ``household.registered`` and ``household.updated`` carry the household's whole current
state, so a projection upserts by ``household_code`` and ignores a ``version`` older than the one it holds.
Persons appear by org-graph person id only (never names, phones or ID-card numbers).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from civicgrid_contracts.events.base import EventPayload
from civicgrid_contracts.values import Identifier, PlaceCode

UNIT_NUMBER_PATTERN = r"^[0-9A-Za-z]{1,8}$"
ENTRANCE_SUFFIX = re.compile(r"-U[0-9A-Za-z]{1,8}$")

UnitNumber = Annotated[str, StringConstraints(pattern=UNIT_NUMBER_PATTERN)]


class HouseholdOwner(BaseModel):
    """An owner of the household's unit, by org-graph person id."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    person_id: Identifier


class _HouseholdCodes(BaseModel):
    """The codes every household fact carries (checked against each other)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    household_code: PlaceCode = Field(
        description="The entrance code, '-' and the unit number, e.g. 420106002003-C01-B07-U2-1203."
    )
    building_code: PlaceCode = Field(description="The building, e.g. 420106002003-C01-B07.")


class _HouseholdState(_HouseholdCodes):
    """The whole current state of a household (registered and updated)."""

    compound_code: PlaceCode | None = Field(
        default=None,
        description="The compound, e.g. 420106002003-C01; null for a building not in a compound.",
    )
    entrance_code: PlaceCode = Field(
        description="The building code, '-U' and the entrance (单元) number, e.g. 420106002003-C01-B07-U2."
    )
    unit_number: UnitNumber = Field(description="The unit (room) number in the entrance, e.g. 1203.")
    exclusive_area_m2: float = Field(
        ge=0, description="专有部分面积: the unit's exclusive floor area in square metres, two decimals."
    )
    owners: list[HouseholdOwner] = Field(
        default_factory=list, description="The owners of the unit (ids only), each once."
    )
    resident_person_ids: list[Identifier] = Field(
        default_factory=list, description="The persons living in the household, each once."
    )
    representative_person_id: Identifier | None = Field(
        default=None,
        description="The residents' representative who keeps in touch with the household (代表联系户).",
    )
    version: int = Field(ge=1, description="Increases with every change; projections ignore older ones.")

    @field_validator("exclusive_area_m2")
    @classmethod
    def _two_decimals(cls, value: float) -> float:
        if round(value, 2) != value:
            raise ValueError("exclusive_area_m2 has at most two decimals")
        return value

    @model_validator(mode="after")
    def _consistent_codes(self) -> _HouseholdState:
        if self.household_code != f"{self.entrance_code}-{self.unit_number}":
            raise ValueError("household_code must be entrance_code, '-' and unit_number")
        entrance = ENTRANCE_SUFFIX.search(self.entrance_code)
        if entrance is None or self.entrance_code[: entrance.start()] != self.building_code:
            raise ValueError("entrance_code must be building_code, '-U' and the entrance number")
        if self.compound_code is not None and not self.building_code.startswith(self.compound_code + "-"):
            raise ValueError("building_code must start with compound_code (a building of that compound)")
        owners = [owner.person_id for owner in self.owners]
        if len(set(owners)) != len(owners):
            raise ValueError("owners must name each person once")
        if len(set(self.resident_person_ids)) != len(self.resident_person_ids):
            raise ValueError("resident_person_ids must name each person once")
        return self


def _in_community(community_code: str, building_code: str, household_code: str) -> None:
    if not building_code.startswith(community_code + "-"):
        raise ValueError("building_code must start with the community code (a building there)")
    if not household_code.startswith(building_code + "-U"):
        raise ValueError("household_code must start with building_code and '-U' (a unit of that building)")


class HouseholdRegistered(_HouseholdState, EventPayload):
    """A household (a unit of a building, with its owners, residents and representative) was registered."""

    event_type = "cn.civicgrid.org.household.registered.v1"

    @model_validator(mode="after")
    def _household_in_community(self) -> HouseholdRegistered:
        _in_community(self.community_code, self.building_code, self.household_code)
        return self


class HouseholdUpdated(_HouseholdState, EventPayload):
    """A household changed (owners, residents, area or representative): its whole state as it is now."""

    event_type = "cn.civicgrid.org.household.updated.v1"

    @model_validator(mode="after")
    def _household_in_community(self) -> HouseholdUpdated:
        _in_community(self.community_code, self.building_code, self.household_code)
        return self


class HouseholdRemoved(_HouseholdCodes, EventPayload):
    """A household was removed from the graph (the unit merged, split or was registered by mistake)."""

    event_type = "cn.civicgrid.org.household.removed.v1"

    version: int = Field(ge=1, description="The version of the removal: one more than the last state.")

    @model_validator(mode="after")
    def _household_in_community(self) -> HouseholdRemoved:
        _in_community(self.community_code, self.building_code, self.household_code)
        return self
