"""resources events: report-in, joining grids, teams, needs and points; the residents' requests loop."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from civicgrid_contracts.events.base import EventPayload, same_community
from civicgrid_contracts.events.common import RequestChannel, RequestKind, Urgency
from civicgrid_contracts.values import FreeText, GridId, Identifier, PlaceCode, ShortText


class ResourceKind(StrEnum):
    SUNK_DOWN_CADRE = "sunk_down_cadre"
    IN_SERVICE_MEMBER = "in_service_member"
    PAIRED_UNIT = "paired_unit"
    JOINT_BUILD_UNIT = "joint_build_unit"
    RESIDENT_UNIT = "resident_unit"
    SOCIAL_ORGANISATION = "social_organisation"
    VOLUNTEER = "volunteer"
    NEW_EMPLOYMENT_WORKER = "new_employment_worker"
    PROPERTY_COMPANY = "property_company"
    POLICE = "police"
    CITY_MANAGEMENT = "city_management"
    FIRE_SERVICE = "fire_service"
    UTILITY_STAFF = "utility_staff"
    STREET_LEADER = "street_leader"
    COMMUNITY_WORKER = "community_worker"
    """Community staff holding a grid post in org-graph (网格长, 专职网格员): the appointment is their
    report-in."""


class Tier(StrEnum):
    """Response tiers, lowest first (分级响应)."""

    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"
    DEPARTMENT = "department"


TIER_ORDER: tuple[Tier, ...] = (Tier.GRID, Tier.COMMUNITY, Tier.STREET, Tier.DEPARTMENT)


class EscalationReason(StrEnum):
    DECLINED = "declined"
    BEYOND_AUTHORITY = "beyond_authority"
    DEADLINE_PASSED = "deadline_passed"


class RequestOutcome(StrEnum):
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    UNFOUNDED = "unfounded"


def _person_or_unit(person_id: str | None, unit_id: str | None) -> None:
    if person_id is None and unit_id is None:
        raise ValueError("a resource is a person, a unit or both: give person_id or unit_id")


class ResourceReportedIn(EventPayload):
    """A person or unit reported in to a community to serve there (报到)."""

    event_type = "cn.civicgrid.resources.resource.reported_in.v1"

    resource_id: Identifier
    kind: ResourceKind
    person_id: Identifier | None = None
    unit_id: Identifier | None = None
    display_name: ShortText
    skills: list[ShortText] = Field(default_factory=list)

    @model_validator(mode="after")
    def _who(self) -> ResourceReportedIn:
        _person_or_unit(self.person_id, self.unit_id)
        return self


class ResourceReportInConfirmed(EventPayload):
    """The community confirmed a report-in."""

    event_type = "cn.civicgrid.resources.resource.report_in_confirmed.v1"

    resource_id: Identifier
    confirmed_by: Identifier


class ResourceJoinedGrid(EventPayload):
    """A resource joined a grid (进群入格) in a role, for a period."""

    event_type = "cn.civicgrid.resources.resource.joined_grid.v1"

    resource_id: Identifier
    person_id: Identifier | None = None
    unit_id: Identifier | None = None
    grid_id: GridId
    role: ShortText = Field(description="e.g. grid_worker, linked_leader, police, volunteer.")
    period_start: date
    period_end: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ResourceJoinedGrid:
        _person_or_unit(self.person_id, self.unit_id)
        same_community(self.community_code, self.grid_id, "grid_id")
        if self.period_end is not None and self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class ResourceLeftGrid(EventPayload):
    """A resource left a grid."""

    event_type = "cn.civicgrid.resources.resource.left_grid.v1"

    resource_id: Identifier
    grid_id: GridId
    period_end: date
    reason: FreeText | None = None

    @model_validator(mode="after")
    def _grid_in_community(self) -> ResourceLeftGrid:
        same_community(self.community_code, self.grid_id, "grid_id")
        return self


class TeamFormed(EventPayload):
    """A service team was formed (组团式服务)."""

    event_type = "cn.civicgrid.resources.team.formed.v1"

    team_id: Identifier
    name: ShortText
    grid_id: GridId | None = None
    leader_resource_id: Identifier | None = None
    purpose: FreeText | None = None

    @model_validator(mode="after")
    def _grid_in_community(self) -> TeamFormed:
        same_community(self.community_code, self.grid_id, "grid_id")
        return self


class TeamMemberAdded(EventPayload):
    """A resource was added to a team."""

    event_type = "cn.civicgrid.resources.team.member_added.v1"

    team_id: Identifier
    resource_id: Identifier
    role: ShortText | None = None


class OfferKind(StrEnum):
    """Which of a unit's lists an offer is on (三个清单: resources list, projects list)."""

    RESOURCE = "resource"
    PROJECT = "project"


class NeedPublished(EventPayload):
    """A community put an item on its needs list (需求清单)."""

    event_type = "cn.civicgrid.resources.need.published.v1"

    need_id: Identifier
    title: ShortText
    description: FreeText | None = None
    tags: list[ShortText] = Field(default_factory=list)
    slots: int = Field(ge=1, le=10_000, description="How many resources or teams may claim it.")


class OfferPublished(EventPayload):
    """A unit put an item on its resources list or projects list (资源清单 / 项目清单)."""

    event_type = "cn.civicgrid.resources.offer.published.v1"

    offer_id: Identifier
    resource_id: Identifier = Field(description="The unit (a resource) that offers it.")
    unit_id: Identifier | None = None
    kind: OfferKind
    title: ShortText
    description: FreeText | None = None
    tags: list[ShortText] = Field(default_factory=list)


class OfferUpdated(EventPayload):
    """An offer's title, description or tags changed; the fields carry the new values, all of them."""

    event_type = "cn.civicgrid.resources.offer.updated.v1"

    offer_id: Identifier
    title: ShortText
    description: FreeText | None = None
    tags: list[ShortText] = Field(default_factory=list)


class OfferWithdrawn(EventPayload):
    """A unit withdrew an offer: it is no longer matched to needs."""

    event_type = "cn.civicgrid.resources.offer.withdrawn.v1"

    offer_id: Identifier
    reason: FreeText | None = None


class NeedClaimed(EventPayload):
    """An item of the needs list was claimed by a resource or a team."""

    event_type = "cn.civicgrid.resources.need.claimed.v1"

    need_id: Identifier
    title: ShortText
    resource_id: Identifier | None = None
    team_id: Identifier | None = None

    @model_validator(mode="after")
    def _claimant(self) -> NeedClaimed:
        if self.resource_id is None and self.team_id is None:
            raise ValueError("a need is claimed by a resource or a team: give resource_id or team_id")
        return self


class PointsAwarded(EventPayload):
    """Points were awarded to a resource for service (积分制)."""

    event_type = "cn.civicgrid.resources.points.awarded.v1"

    award_id: Identifier
    resource_id: Identifier
    points: int = Field(gt=0, le=10_000)
    reason: ShortText
    reference_id: Identifier | None = Field(default=None, description="The need, request or activity.")


class PointsRedeemed(EventPayload):
    """A resource redeemed points from its balance for an item (积分兑换)."""

    event_type = "cn.civicgrid.resources.points.redeemed.v1"

    redemption_id: Identifier
    resource_id: Identifier
    points: int = Field(gt=0, le=100_000)
    item: ShortText = Field(description="What the points were exchanged for.")
    balance_after: int = Field(ge=0, description="The resource's balance once this redemption is taken.")


class RequestReceived(EventPayload):
    """A resident's request was received and entered the closed loop."""

    event_type = "cn.civicgrid.resources.request.received.v1"

    request_id: Identifier
    channel: RequestChannel
    kind: RequestKind
    category: ShortText
    urgency: Urgency
    building_code: PlaceCode | None = None
    grid_id: GridId | None = None
    summary: FreeText
    due_at: AwareDatetime
    external_ref: Identifier | None = Field(default=None, description="e.g. the 12345 ticket number.")
    resident_person_id: Identifier | None = Field(
        default=None,
        description="The resident who filed it, when known: the person told of its resolution and asked "
        "to evaluate it. Null for anonymous or hotline requests without a registered resident.",
    )

    @model_validator(mode="after")
    def _grid_in_community(self) -> RequestReceived:
        same_community(self.community_code, self.grid_id, "grid_id")
        return self


class RequestDispatched(EventPayload):
    """A request was dispatched to assignees at a tier."""

    event_type = "cn.civicgrid.resources.request.dispatched.v1"

    request_id: Identifier
    tier: Tier
    assignee_ids: list[Identifier] = Field(min_length=1)
    actor_id: Identifier | None = Field(default=None, description="Who dispatched; null for the system.")


class RequestMoved(EventPayload):
    """A request located in the wrong grid was moved to another grid of its community.

    A ``request.dispatched`` (tier grid, the new grid's team) follows it."""

    event_type = "cn.civicgrid.resources.request.moved.v1"

    request_id: Identifier
    from_grid_id: GridId | None = Field(default=None, description="Null if it had no grid before.")
    to_grid_id: GridId
    note: FreeText | None = None
    actor_id: Identifier | None = None

    @model_validator(mode="after")
    def _grids_in_community(self) -> RequestMoved:
        same_community(self.community_code, self.from_grid_id, "from_grid_id")
        same_community(self.community_code, self.to_grid_id, "to_grid_id")
        if self.from_grid_id == self.to_grid_id:
            raise ValueError("to_grid_id must differ from from_grid_id")
        return self


class RequestEscalated(EventPayload):
    """A request went up to a higher tier."""

    event_type = "cn.civicgrid.resources.request.escalated.v1"

    request_id: Identifier
    from_tier: Tier
    to_tier: Tier
    reason: EscalationReason
    actor_id: Identifier | None = None

    @model_validator(mode="after")
    def _upwards(self) -> RequestEscalated:
        if TIER_ORDER.index(self.to_tier) <= TIER_ORDER.index(self.from_tier):
            raise ValueError("to_tier must be above from_tier (grid < community < street < department)")
        return self


class RequestAccepted(EventPayload):
    """An assignee accepted a request."""

    event_type = "cn.civicgrid.resources.request.accepted.v1"

    request_id: Identifier
    assignee_id: Identifier


class RequestProgressed(EventPayload):
    """Progress on a request was recorded."""

    event_type = "cn.civicgrid.resources.request.progressed.v1"

    request_id: Identifier
    note: FreeText
    actor_id: Identifier | None = None


class RequestResolved(EventPayload):
    """A request was resolved; the resident is asked to evaluate."""

    event_type = "cn.civicgrid.resources.request.resolved.v1"

    request_id: Identifier
    result: FreeText
    actor_id: Identifier | None = None


class RequestEvaluated(EventPayload):
    """The resident evaluated the handling of a request."""

    event_type = "cn.civicgrid.resources.request.evaluated.v1"

    request_id: Identifier
    rating: int = Field(ge=1, le=5)
    comment: FreeText | None = None


class RequestReopened(EventPayload):
    """A resolved request was reopened (unsatisfied evaluation or supervision)."""

    event_type = "cn.civicgrid.resources.request.reopened.v1"

    request_id: Identifier
    reason: FreeText
    actor_id: Identifier | None = None


class RequestClosed(EventPayload):
    """A request left the loop for good."""

    event_type = "cn.civicgrid.resources.request.closed.v1"

    request_id: Identifier
    outcome: RequestOutcome
    note: FreeText | None = None
    actor_id: Identifier | None = None
