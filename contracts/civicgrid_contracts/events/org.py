"""org-graph events: places, grids, organisations, people and their posts (memberships)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from civicgrid_contracts.events.base import EventPayload, same_community
from civicgrid_contracts.values import FreeText, GridId, Identifier, MaskedPhone, PlaceCode, ShortText

ATTRIBUTE_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
AttributeKey = Annotated[str, StringConstraints(pattern=ATTRIBUTE_KEY_PATTERN)]
Attributes = dict[AttributeKey, FreeText | int | float | bool | None]
_ATTRIBUTE_NAMES: dict[str, Any] = {"propertyNames": {"pattern": ATTRIBUTE_KEY_PATTERN}}


class PlaceKind(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"  # district or county
    STREET = "street"  # street or township
    COMMUNITY = "community"
    VILLAGE = "village"
    COMPOUND = "compound"
    BUILDING = "building"


DIVISION_KINDS = frozenset(
    {
        PlaceKind.PROVINCE,
        PlaceKind.CITY,
        PlaceKind.DISTRICT,
        PlaceKind.STREET,
        PlaceKind.COMMUNITY,
        PlaceKind.VILLAGE,
    }
)


class OrganisationKind(StrEnum):
    """The level of an organisation comes from its place: a party branch at a compound is a compound
    party branch, a party group at a building is a building party group."""

    PARTY_COMMITTEE = "party_committee"
    PARTY_GENERAL_BRANCH = "party_general_branch"
    PARTY_BRANCH = "party_branch"
    PARTY_GROUP = "party_group"
    PARTY_HOUSEHOLD_HUB = "party_household_hub"
    RESIDENTS_COMMITTEE = "residents_committee"
    VILLAGERS_COMMITTEE = "villagers_committee"
    SUBCOMMITTEE = "subcommittee"
    RESIDENTS_GROUP = "residents_group"
    VILLAGERS_GROUP = "villagers_group"
    OWNERS_ASSEMBLY = "owners_assembly"
    OWNERS_COMMITTEE = "owners_committee"
    PROPERTY_COMPANY = "property_company"
    STREET_OFFICE = "street_office"
    GOVERNMENT_DEPARTMENT = "government_department"
    SOCIAL_ORGANISATION = "social_organisation"


class AppointmentBasis(StrEnum):
    ELECTION = "election"
    APPOINTMENT = "appointment"
    OWNERS_ASSEMBLY_VOTE = "owners_assembly_vote"


class MembershipEndReason(StrEnum):
    TERM_EXPIRED = "term_expired"
    RESIGNED = "resigned"
    DISMISSED = "dismissed"
    RECALLED = "recalled"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"
    ORGANISATION_DISSOLVED = "organisation_dissolved"
    OTHER = "other"


class PlaceRegistered(EventPayload):
    """A place (division, community, village, compound or building) was registered in the graph."""

    event_type = "cn.civicgrid.org.place.registered.v1"

    kind: PlaceKind
    code: PlaceCode = Field(description="12-digit statistical code for divisions, communities and villages.")
    name: ShortText
    parent_code: PlaceCode | None = Field(
        default=None, description="The containing place; none for a province."
    )
    attributes: Attributes = Field(
        default_factory=dict,
        description="e.g. households, area_m2, urban.",
        json_schema_extra=_ATTRIBUTE_NAMES,
    )

    @model_validator(mode="after")
    def _division_codes(self) -> PlaceRegistered:
        if self.kind in DIVISION_KINDS and self.code != self.community_code:
            raise ValueError(
                "a division, community or village is keyed by its own code: code == community_code"
            )
        if self.parent_code is None and self.kind is not PlaceKind.PROVINCE:
            raise ValueError("only a province has no parent_code")
        return self


class PlaceUpdated(EventPayload):
    """A place's name or attributes changed. Only what changed is given; a null attribute is removed."""

    event_type = "cn.civicgrid.org.place.updated.v1"

    code: PlaceCode
    name: ShortText | None = Field(default=None, description="The new name; null if unchanged.")
    attributes: Attributes = Field(
        default_factory=dict,
        description="Changed attributes; null removes one.",
        json_schema_extra=_ATTRIBUTE_NAMES,
    )


class PlaceDissolved(EventPayload):
    """A place was dissolved (demolished, merged into another, or abolished)."""

    event_type = "cn.civicgrid.org.place.dissolved.v1"

    code: PlaceCode
    merged_into: PlaceCode | None = None
    reason: FreeText | None = None


class GridDefined(EventPayload):
    """A grid was defined in a community over a set of buildings."""

    event_type = "cn.civicgrid.org.grid.defined.v1"

    grid_id: GridId
    name: ShortText
    building_codes: list[PlaceCode] = Field(default_factory=list)

    @model_validator(mode="after")
    def _grid_in_community(self) -> GridDefined:
        same_community(self.community_code, self.grid_id, "grid_id")
        return self


class GridUpdated(EventPayload):
    """A grid was renamed. Only what changed is given."""

    event_type = "cn.civicgrid.org.grid.updated.v1"

    grid_id: GridId
    name: ShortText | None = Field(default=None, description="The new name; null if unchanged.")

    @model_validator(mode="after")
    def _grid_in_community(self) -> GridUpdated:
        same_community(self.community_code, self.grid_id, "grid_id")
        return self


class GridDissolved(EventPayload):
    """A grid was dissolved (it had no buildings left)."""

    event_type = "cn.civicgrid.org.grid.dissolved.v1"

    grid_id: GridId
    reason: FreeText | None = None

    @model_validator(mode="after")
    def _grid_in_community(self) -> GridDissolved:
        same_community(self.community_code, self.grid_id, "grid_id")
        return self


class GridBuildingMoved(EventPayload):
    """A building moved from one grid of the community to another."""

    event_type = "cn.civicgrid.org.grid.building_moved.v1"

    building_code: PlaceCode
    from_grid_id: GridId
    to_grid_id: GridId

    @model_validator(mode="after")
    def _grids_in_community(self) -> GridBuildingMoved:
        same_community(self.community_code, self.from_grid_id, "from_grid_id")
        same_community(self.community_code, self.to_grid_id, "to_grid_id")
        if self.from_grid_id == self.to_grid_id:
            raise ValueError("from_grid_id and to_grid_id must differ")
        return self


class GridBuildingAssigned(EventPayload):
    """A building was put in a grid: its first grid, or another one. Published for every change of a
    building's grid, whichever way it happened (a building put in a grid or moved, a grid defined over
    buildings, a roster import), so a projection of "which grid is this building in" needs only this
    type. (``place.updated`` with an attribute ``grid_id``, ``grid.defined`` and ``grid.building_moved``
    are still published as before.) A building leaves its grid only when it is dissolved
    (``place.dissolved``)."""

    event_type = "cn.civicgrid.org.grid.building_assigned.v1"

    building_code: PlaceCode
    grid_id: GridId = Field(description="The grid the building is in from now on.")
    previous_grid_id: GridId | None = Field(
        default=None, description="The grid it was in before; null when this is its first grid."
    )

    @model_validator(mode="after")
    def _grids_in_community(self) -> GridBuildingAssigned:
        same_community(self.community_code, self.grid_id, "grid_id")
        same_community(self.community_code, self.previous_grid_id, "previous_grid_id")
        if not self.building_code.startswith(self.community_code):
            raise ValueError("building_code must start with the community code (a building there)")
        if self.previous_grid_id == self.grid_id:
            raise ValueError("previous_grid_id and grid_id must differ")
        return self


class OrganisationFormed(EventPayload):
    """An organisation (party, self-governance, owners', property, unit) was formed at a place."""

    event_type = "cn.civicgrid.org.organisation.formed.v1"

    org_id: Identifier
    kind: OrganisationKind
    name: ShortText
    place_code: PlaceCode
    parent_org_id: Identifier | None = None


class OrganisationUpdated(EventPayload):
    """An organisation was renamed. Only what changed is given."""

    event_type = "cn.civicgrid.org.organisation.updated.v1"

    org_id: Identifier
    name: ShortText | None = Field(default=None, description="The new name; null if unchanged.")


class OrganisationDissolved(EventPayload):
    """An organisation was dissolved; its open memberships end with it."""

    event_type = "cn.civicgrid.org.organisation.dissolved.v1"

    org_id: Identifier
    successor_org_id: Identifier | None = None
    reason: FreeText | None = None


class PersonRegistered(EventPayload):
    """A person was registered in their home community. No ID-card number is ever part of this."""

    event_type = "cn.civicgrid.org.person.registered.v1"

    person_id: Identifier
    display_name: ShortText
    party_member: bool
    phone: MaskedPhone | None = None


class MembershipStarted(EventPayload):
    """A person took a post in an organisation (a term begins), on a stated basis."""

    event_type = "cn.civicgrid.org.membership.started.v1"

    membership_id: Identifier
    person_id: Identifier
    post: ShortText = Field(description="e.g. secretary, member, grid_leader, building_head.")
    org_id: Identifier
    grid_id: GridId | None = None
    place_code: PlaceCode
    start_date: date
    term_end_date: date | None = Field(default=None, description="The planned end of the term, if any.")
    basis: AppointmentBasis
    basis_reference: ShortText = Field(description="The election, decision or vote the post rests on.")
    cross_appointment: bool = Field(description="True if this post is a cross-appointment (交叉任职).")

    @model_validator(mode="after")
    def _consistent(self) -> MembershipStarted:
        same_community(self.community_code, self.grid_id, "grid_id")
        if self.term_end_date is not None and self.term_end_date < self.start_date:
            raise ValueError("term_end_date must not be before start_date")
        return self


class MembershipEnded(EventPayload):
    """A person's term in a post ended."""

    event_type = "cn.civicgrid.org.membership.ended.v1"

    membership_id: Identifier
    end_date: date
    reason: MembershipEndReason
    note: FreeText | None = None


class CrossAppointmentFlagged(EventPayload):
    """A cross-appointment rule was found broken (or worth review) for a person."""

    event_type = "cn.civicgrid.org.cross_appointment.flagged.v1"

    rule: Identifier = Field(description="The name of the rule, e.g. owners_committee_requires_election.")
    person_id: Identifier
    membership_ids: list[Identifier] = Field(default_factory=list)
    details: FreeText
