"""HTTP answers: one response model per route, so the OpenAPI document says what each answer contains.

Answers carry stored data, so their text fields are plain strings (an old record must never turn a read
into a 500); they allow fields added later (``extra="allow"``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

AttributeValue = str | int | float | bool | None


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- places and grids ------------------------------------------------------------------------------


class PlaceOut(Answer):
    code: str
    kind: str = Field(description="province, city, district, street, community, village, compound, building")
    name: str
    parent_code: str | None = None
    active: bool = True
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class PlaceRegistered(PlaceOut):
    created: bool = Field(description="False when the same place was already registered (nothing written).")


class PlaceChanged(PlaceOut):
    changed: bool = Field(description="False when nothing was different (nothing written or published).")


class PlaceRead(PlaceOut):
    grid_id: str | None = Field(default=None, description="The building's grid, if any.")


class GridDefined(Answer):
    grid_id: str
    name: str
    community_code: str
    covers: str
    building_codes: list[str]
    created: bool


class BuildingMoved(Answer):
    building_code: str
    grid_id: str
    from_grid_id: str | None = Field(description="The grid it was in before; null for its first grid.")
    changed: bool


class GridRenamed(Answer):
    grid_id: str
    name: str
    community_code: str
    changed: bool


class GridDissolved(Answer):
    grid_id: str
    active: bool
    changed: bool
    ended_memberships: list[str] = Field(description="Terms of the grid's posts ended by the dissolution.")


# -- organisations, people, posts --------------------------------------------------------------------


class OrganisationOut(Answer):
    org_id: str
    kind: str
    name: str
    place_code: str
    parent_org_id: str | None = None
    active: bool = True


class OrganisationFormed(OrganisationOut):
    created: bool


class OrganisationChanged(OrganisationOut):
    changed: bool


class OrganisationDissolved(OrganisationChanged):
    ended_memberships: list[str]


class OrganisationRead(OrganisationOut):
    community_code: str | None = None
    formed_on: str | None = None
    dissolved_on: str | None = None


class PersonOut(Answer):
    person_id: str
    display_name: str
    party_member: bool
    phone: str | None = Field(default=None, description="Masked (138****5678).")
    community_code: str


class PersonRegistered(PersonOut):
    created: bool


class Flag(Answer):
    rule: str
    details: str


class Appointed(Answer):
    membership_id: str
    post_id: str
    person_id: str | None = None
    post: str | None = None
    org_id: str | None = None
    scope_code: str | None = None
    start_date: str | None = None
    term_end_date: str | None = None
    basis: str | None = None
    basis_reference: str | None = None
    cross_appointment: bool | None = None
    flags: list[Flag] = Field(default_factory=list, description="Cross-appointment rules flagged.")
    created: bool = Field(description="False when this membership id was already recorded (nothing written).")


class TermEnded(Answer):
    membership_id: str
    end_date: str
    reason: str
    changed: bool


class RosterImported(Answer):
    rows: int
    places_created: int
    places_updated: int
    grids_defined: int
    buildings_moved_or_assigned: int
    changed: bool
    dry_run: bool


class PostsImported(Answer):
    rows: int
    people_registered: int
    terms_started: int
    changed: bool
    dry_run: bool


# -- reads ---------------------------------------------------------------------------------------------


class ChainLink(Answer):
    role: str = Field(description="building_head, grid_worker, grid_leader, compound_branch_secretary, ...")
    post_id: str
    org_id: str | None = None
    membership_id: str
    person_id: str
    display_name: str
    phone: str | None = None
    since: str


class ResponsibilityChain(Answer):
    building_code: str
    building_name: str
    active: bool | None = None
    grid_id: str | None = None
    grid_name: str | None = None
    compound_code: str | None = None
    compound_name: str | None = None
    on: str
    chain: list[ChainLink]
    vacant: list[str] = Field(description="Roles with no current holder.")


class Holder(Answer):
    membership_id: str
    person_id: str
    display_name: str
    party_member: bool | None = None
    start_date: str
    end_date: str | None = None
    basis: str | None = None
    basis_reference: str | None = None
    cross_appointment: bool | None = None


class TreePlace(Answer):
    code: str
    kind: str
    name: str
    parent_code: str | None = None
    grid_id: str | None = None


class TreeGrid(Answer):
    grid_id: str
    name: str
    covers: str | None = None
    building_codes: list[str]


class TreePost(Answer):
    post_id: str
    post: str | None = None
    scope_code: str | None = None
    holders: list[Holder]


class TreeOrganisation(Answer):
    org_id: str
    kind: str
    name: str
    place_code: str
    parent_org_id: str | None = None
    posts: list[TreePost]


class CommunityTree(Answer):
    community: PlaceRead
    places: list[TreePlace]
    grids: list[TreeGrid]
    organisations: list[TreeOrganisation]


class CommitteeMember(Answer):
    post: str
    post_id: str
    person_id: str
    display_name: str
    party_member: bool | None = None
    since: str
    cross_appointment: bool | None = None


class Committee(Answer):
    org_id: str
    kind: str
    name: str
    members: list[CommitteeMember]


class TwoCommittees(Answer):
    community_code: str
    on: str
    committees: list[Committee]


class PersonPost(Answer):
    membership_id: str
    post_id: str
    post: str | None = None
    scope_code: str | None = None
    org_id: str
    org_name: str | None = None
    org_kind: str | None = None
    place_code: str | None = None
    start_date: str
    end_date: str | None = None
    term_end_date: str | None = None
    end_reason: str | None = None
    basis: str | None = None
    basis_reference: str | None = None
    cross_appointment: bool | None = None


class PersonPosts(Answer):
    person: PersonOut
    on: str | None = Field(description="The date asked for; null for the whole history.")
    posts: list[PersonPost]


class PostHolders(Answer):
    post_id: str
    post: str | None = None
    scope_code: str | None = None
    org_id: str
    org_name: str | None = None
    community_code: str | None = None
    on: str | None = None
    holders: list[Holder]


class GridBuilding(Answer):
    code: str
    name: str


class GridStaff(Answer):
    post: str
    post_id: str
    person_id: str
    display_name: str
    phone: str | None = None
    since: str


class GridMembers(Answer):
    grid_id: str
    name: str
    community_code: str
    covers: str | None = None
    active: bool | None = None
    on: str
    buildings: list[GridBuilding]
    staff: list[GridStaff]


class IndicatorOut(Answer):
    name: str
    value: float | None
    target: float | None
    meets_target: bool | None
    numerator: float
    denominator: float
    unit: str
    gaps_metric: str | None = None


class Coverage(Answer):
    region: str
    as_of: str
    counts: dict[str, int | float]
    indicators: list[IndicatorOut]


class Gap(Answer):
    code: str
    name: str
    community_code: str


class Gaps(Answer):
    region: str
    metric: str
    offset: int
    gaps: list[Gap] = Field(description="Places missing from the indicator; some metrics add their figures.")


class FlagOut(Answer):
    rule: str
    person_id: str
    membership_ids: list[str]
    details: str
    flagged_at: str | None = None


class Flags(Answer):
    region: str
    flags: list[FlagOut]


class PolicyRule(Answer):
    rule: str
    mode: str = Field(description="reject, flag or off")
    description: str


class Policy(Answer):
    rules: list[PolicyRule]
