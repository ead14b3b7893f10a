"""HTTP request bodies (validated by FastAPI; a bad field is a 422 naming it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from civicgrid_orggraph.domain.vocabulary import (
    AppointmentBasis,
    EndReason,
    OrganisationKind,
    PlaceKind,
    PostKind,
)
from civicgrid_orggraph.service_layer.grids import GridCovers

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$")]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Note = Annotated[str, StringConstraints(max_length=2000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaceIn(Body):
    kind: PlaceKind
    code: Code
    name: Name
    parent_code: Code | None = Field(
        default=None, description="Derived for divisions, communities, villages."
    )
    attributes: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        description=(
            "Communities: residents, households, service_area_m2. Compounds: owners_committee_eligible."
        ),
    )


class PlacePatch(Body):
    name: Name | None = None
    attributes: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="Changed attributes; null removes one."
    )


class DissolveIn(Body):
    merged_into: Code | None = None
    reason: Note | None = None


class GridIn(Body):
    grid_id: Annotated[str, StringConstraints(pattern=r"^\d{15}$")]
    name: Name
    covers: GridCovers = GridCovers.BUILDINGS
    building_codes: list[Code] = Field(default_factory=list, max_length=500)


class MoveIn(Body):
    grid_id: Annotated[str, StringConstraints(pattern=r"^\d{15}$")]


class OrganisationIn(Body):
    kind: OrganisationKind
    name: Name
    place_code: Code
    parent_org_id: Id | None = None
    org_id: Id | None = Field(
        default=None, description="Client-supplied id (idempotent); generated if absent."
    )
    formed_on: date | None = None


class RenameIn(Body):
    name: Name


class GridDissolveIn(Body):
    on: date
    reason: Note | None = None


class OrganisationDissolveIn(Body):
    on: date
    reason: Note | None = None
    successor_org_id: Id | None = None


class PersonIn(Body):
    display_name: Name
    community_code: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    party_member: bool = False
    phone: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="Stored and published only masked (138****5678)."
    )
    id_number: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="ID-card number: kept only as a salted hash for de-duplication."
    )
    person_id: Id | None = None

    def __repr__(self) -> str:  # never print the ID number or the clear phone
        return f"PersonIn(display_name={self.display_name!r}, community_code={self.community_code!r})"


class AppointIn(Body):
    person_id: Id
    org_id: Id
    post: PostKind
    start_date: date
    basis: AppointmentBasis
    basis_reference: Name = Field(description="The election, decision or owners'-assembly vote.")
    term_end_date: date | None = None
    grid_id: Annotated[str, StringConstraints(pattern=r"^\d{15}$")] | None = None
    building_code: Code | None = None
    drawn_from_org_id: Id | None = Field(
        default=None,
        description="For a part-time committee member: the owners' committee or property company.",
    )
    membership_id: Id | None = None


class EndIn(Body):
    end_date: date
    reason: EndReason
    note: Note | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump()
