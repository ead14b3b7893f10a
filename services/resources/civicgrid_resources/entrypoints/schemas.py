"""What the HTTP API takes and answers: input text types that refuse control characters, and one
response model per answer (so the OpenAPI document says what each answer contains)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_Answer = BaseModel


# -- requests -----------------------------------------------------------------------------------------


class AssigneeOut(_Answer):
    assignee_id: str
    person_id: str | None = None


class EvaluationOut(_Answer):
    rating: int
    comment: str | None = None
    at: datetime


class TimelineEntryOut(_Answer):
    at: datetime
    action: str
    status: str
    tier: str | None = None
    actor_id: str | None = None
    note: str | None = None
    assignee_ids: list[str] = Field(default_factory=list)


class RequestSummary(_Answer):
    """A request as lists show it (no timeline)."""

    id: str
    community_code: str
    street_code: str
    district_code: str
    city_code: str
    channel: str
    kind: str
    category: str
    urgency: str
    summary: str
    received_at: datetime = Field(description="When its source took it (a 12345 ticket's own time).")
    due_at: datetime = Field(description="The deadline of the tier it is at.")
    grid_id: str | None = None
    building_code: str | None = None
    household: str | None = None
    address: str | None = None
    resident_person_id: str | None = None
    external_ref: str | None = Field(default=None, description="The 12345 ticket number, if any.")
    status: str
    open: int = Field(description="1 while received, dispatched or in progress.")
    tier: str | None = None
    assignees: list[AssigneeOut] = Field(default_factory=list)
    assignee_ids: list[str] = Field(default_factory=list)
    accepted_by: str | None = None
    escalations: int = 0
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    result: str | None = None
    evaluation: EvaluationOut | None = None
    reopen_count: int = 0
    sla_exhausted: bool = False
    intake_grid_id: str | None = Field(default=None, description="The grid named when it was recorded.")
    version: int


class RequestOut(RequestSummary):
    timeline: list[TimelineEntryOut] = Field(default_factory=list)
    allowed_actions: list[str] = Field(default_factory=list, description="What may be done with it now.")


class RateGroup(_Answer):
    """One group's figures; the group itself is under the key named by ``group_by`` (``grid``,
    ``community``, ``street`` or ``district``; null: requests in no grid)."""

    model_config = ConfigDict(extra="allow")

    total: int
    open: int
    overdue: int
    escalated: int
    response_rate: float | None = None
    resolution_rate: float | None = None
    satisfaction_rate: float | None = None
    average_rating: float | None = None


class RatesOut(_Answer):
    region: str
    group_by: str
    groups: list[RateGroup]


class RebuildOut(_Answer):
    requests_read: int


# -- resources, grids, teams --------------------------------------------------------------------------


class SlotOut(_Answer):
    weekday: int
    start: str
    end: str


class GridPeriodOut(_Answer):
    grid_id: str
    role: str
    period_start: date
    period_end: date | None = None
    left_reason: str | None = None
    membership_id: str | None = Field(
        default=None, description="The org-graph term this period follows; null: joined here."
    )


class ResourceOut(_Answer):
    id: str
    community_code: str
    street_code: str
    kind: str
    display_name: str
    basis: str
    reported_at: datetime
    person_id: str | None = None
    unit_id: str | None = None
    employer: str | None = None
    skills: list[str] = Field(default_factory=list)
    availability: list[SlotOut] = Field(default_factory=list)
    contact_preference: str | None = None
    status: str
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    grids: list[GridPeriodOut] = Field(default_factory=list)
    grid_ids: list[str] = Field(default_factory=list, description="The grids it is in now.")
    version: int


class PersonGridOut(_Answer):
    resource_id: str
    community_code: str
    grid_id: str
    role: str
    period_start: date
    period_end: date | None = None
    active: bool


class GridOut(_Answer):
    grid_id: str
    name: str | None = None
    building_codes: list[str] = Field(default_factory=list)


class TeamMemberOut(_Answer):
    resource_id: str
    person_id: str | None = None
    unit_id: str | None = None
    display_name: str | None = None
    kind: str | None = None
    role: str | None = None
    added_at: datetime | None = None
    membership_id: str | None = Field(
        default=None, description="Seated by this org-graph term (a grid post); null: added here."
    )
    period_start: date | None = Field(default=None, description="First day the seat serves (a term's).")
    period_end: date | None = Field(default=None, description="Last day it serves, inclusive; null: open.")


class TeamOut(_Answer):
    id: str
    grid_id: str
    community_code: str
    name: str
    leader_resource_id: str | None = None
    purpose: str | None = None
    formed_at: datetime
    members: list[TeamMemberOut] = Field(default_factory=list)
    member_ids: list[str] = Field(default_factory=list)
    version: int


# -- the three lists ----------------------------------------------------------------------------------


class ClaimOut(_Answer):
    claim_id: str
    resource_id: str | None = None
    team_id: str | None = None
    claimed_at: datetime
    completed_at: datetime | None = None
    hours: float | None = None


class NeedOut(_Answer):
    id: str
    community_code: str
    title: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    slots: int
    remaining: int
    claimants: list[str] = Field(default_factory=list)
    claims: list[ClaimOut] = Field(default_factory=list)
    published_at: datetime
    on_list: Literal["needs", "projects"] = "needs"
    resolution_id: str | None = Field(
        default=None, description="the deliberation resolution that agreed this project (projects list)"
    )
    version: int


class NeedClaimOut(_Answer):
    """The claim just made (not the whole need: a claimant may not read the needs list)."""

    need_id: str
    claim_id: str
    title: str
    community_code: str
    resource_id: str | None = None
    team_id: str | None = None
    claimed_at: datetime
    slots: int
    remaining: int


class OfferOut(_Answer):
    id: str
    resource_id: str
    unit_id: str | None = None
    community_code: str
    kind: str
    title: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    offered_at: datetime
    status: str = "offered"
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None
    version: int = 0


class OfferMatchOut(OfferOut):
    score: int = Field(description="Tags shared with the need.")


# -- points -------------------------------------------------------------------------------------------


class PointsEntryOut(_Answer):
    id: str
    kind: str = Field(description="award or redemption")
    resource_id: str
    person_id: str | None = None
    unit_id: str | None = None
    community_code: str
    grid_ids: list[str] = Field(default_factory=list)
    points: int = Field(description="Negative for a redemption.")
    hours: float = 0.0
    reason: str | None = None
    reference_id: str | None = None
    at: datetime
    item: str | None = None
    balance_after: int | None = None
    by: str | None = None
    version: int


class BalanceOut(_Answer):
    resource_id: str
    points: int = Field(description="earned − redeemed")
    earned: int
    redeemed: int
    hours: float
    entries: list[PointsEntryOut]


class RankRowOut(_Answer):
    rank: int
    resource_id: str
    points: int
    hours: float


class RankingOut(_Answer):
    scope: str
    ranking: list[RankRowOut]


class ServiceRowOut(_Answer):
    resource_id: str
    display_name: str
    community_code: str
    status: str
    grids: list[str]
    tasks: int
    hours: float
    points: int


class ServiceReportOut(_Answer):
    resource_id: str | None = None
    unit_id: str | None = None
    since: datetime
    until: datetime
    total_hours: float
    total_points: int
    resources: list[ServiceRowOut]
