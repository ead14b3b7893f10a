"""HTTP request bodies (validated by FastAPI; a bad field is a 422 naming it).

Text fields use the rules of ``domain/text.py``: the contracts' personal-data rules (a name with a clear
phone or ID-card number is refused here, not when its event is written) and no control characters.
Codes are the contracts' ``PlaceCode`` (never a phone or ID-card number) narrowed to org-graph's pattern;
dates are strict ISO dates (``YYYY-MM-DD``), never a number taken as a timestamp."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from civicgrid_contracts.values import IDENTIFIER_PERSONAL_DATA_SCHEMA, PlaceCode
from civicgrid_orggraph.domain.text import AttributeText, Id, Name, Note
from civicgrid_orggraph.domain.vocabulary import (
    AppointmentBasis,
    EndReason,
    OrganisationKind,
    PlaceKind,
    PostKind,
)
from civicgrid_orggraph.service_layer.grids import GridCovers

CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$"
ISO_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(ISO_DATE_PATTERN, value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


Code = Annotated[
    PlaceCode,
    BeforeValidator(_stripped),
    StringConstraints(pattern=CODE_PATTERN),
    WithJsonSchema({"type": "string", "pattern": CODE_PATTERN, **IDENTIFIER_PERSONAL_DATA_SCHEMA}),
]
"""A place code: 12 digits for divisions, communities and villages; ``<parent>-C..``/``-B..`` below. The
contracts' ``PlaceCode``: a segment that is a phone or ID-card number is a 422 naming the field."""
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date written ``YYYY-MM-DD`` (a number is not taken as a timestamp)."""
GridId = Annotated[str, StringConstraints(pattern=r"^\d{15}$")]
Attributes = dict[str, AttributeText | int | float | bool | None]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaceIn(Body):
    kind: PlaceKind
    code: Code
    name: Name
    parent_code: Code | None = Field(
        default=None, description="Derived for divisions, communities, villages."
    )
    attributes: Attributes = Field(
        default_factory=dict,
        description=(
            "Communities: residents, households, service_area_m2. Compounds: owners_committee_eligible."
        ),
    )


class PlacePatch(Body):
    name: Name | None = None
    attributes: Attributes = Field(default_factory=dict, description="Changed attributes; null removes one.")


class DissolveIn(Body):
    merged_into: Code | None = None
    reason: Note | None = None


class GridIn(Body):
    grid_id: GridId
    name: Name
    covers: GridCovers = GridCovers.BUILDINGS
    building_codes: list[Code] = Field(default_factory=list, max_length=500)


class MoveIn(Body):
    grid_id: GridId


class OrganisationIn(Body):
    kind: OrganisationKind
    name: Name
    place_code: Code
    parent_org_id: Id | None = None
    org_id: Id | None = Field(
        default=None, description="Client-supplied id (idempotent); generated if absent."
    )
    formed_on: IsoDate | None = None


class RenameIn(Body):
    name: Name


class GridDissolveIn(Body):
    on: IsoDate
    reason: Note | None = None


class OrganisationDissolveIn(Body):
    on: IsoDate
    reason: Note | None = None
    successor_org_id: Id | None = None


class PersonIn(Body):
    display_name: Name
    community_code: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    party_member: bool = False
    phone: Annotated[str, StringConstraints(max_length=32, pattern=r"^[0-9 ()+*-]*$")] | None = Field(
        default=None, description="Stored and published only masked (138****5678)."
    )
    id_number: Annotated[str, StringConstraints(max_length=32, pattern=r"^[0-9A-Za-z ]*$")] | None = Field(
        default=None, description="ID-card number: kept only as a salted hash for de-duplication."
    )
    person_id: Id | None = None

    def __repr__(self) -> str:  # never print the ID number or the clear phone
        return f"PersonIn(display_name={self.display_name!r}, community_code={self.community_code!r})"


class AppointIn(Body):
    person_id: Id
    org_id: Id
    post: PostKind
    start_date: IsoDate
    basis: AppointmentBasis
    basis_reference: Name = Field(description="The election, decision or owners'-assembly vote.")
    term_end_date: IsoDate | None = None
    grid_id: GridId | None = None
    building_code: Code | None = None
    drawn_from_org_id: Id | None = Field(
        default=None,
        description="For a part-time committee member: the owners' committee or property company.",
    )
    membership_id: Id | None = None


class EndIn(Body):
    end_date: IsoDate
    reason: EndReason
    note: Note | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump()
