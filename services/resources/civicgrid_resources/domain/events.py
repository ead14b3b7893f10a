"""Domain events: facts the aggregates record. Adapters translate them to contract events by name.

Each class has the name and fields of the contract payload it becomes, so the translation is data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    community_code: str


@dataclass(frozen=True, kw_only=True)
class ResourceReportedIn(DomainEvent):
    resource_id: str
    kind: str
    person_id: str | None
    unit_id: str | None
    display_name: str
    skills: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ResourceReportInConfirmed(DomainEvent):
    resource_id: str
    confirmed_by: str


@dataclass(frozen=True, kw_only=True)
class ResourceJoinedGrid(DomainEvent):
    resource_id: str
    person_id: str | None
    unit_id: str | None
    grid_id: str
    role: str
    period_start: date
    period_end: date | None


@dataclass(frozen=True, kw_only=True)
class ResourceLeftGrid(DomainEvent):
    resource_id: str
    grid_id: str
    period_end: date
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class TeamFormed(DomainEvent):
    team_id: str
    name: str
    grid_id: str | None
    leader_resource_id: str | None
    purpose: str | None


@dataclass(frozen=True, kw_only=True)
class TeamMemberAdded(DomainEvent):
    team_id: str
    resource_id: str
    role: str | None


@dataclass(frozen=True, kw_only=True)
class NeedPublished(DomainEvent):
    need_id: str
    title: str
    description: str | None
    tags: list[str] = field(default_factory=list)
    slots: int = 1


@dataclass(frozen=True, kw_only=True)
class OfferPublished(DomainEvent):
    offer_id: str
    resource_id: str
    unit_id: str | None
    kind: str
    title: str
    description: str | None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class OfferUpdated(DomainEvent):
    offer_id: str
    title: str
    description: str | None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class OfferWithdrawn(DomainEvent):
    offer_id: str
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class NeedClaimed(DomainEvent):
    need_id: str
    title: str
    resource_id: str | None
    team_id: str | None


@dataclass(frozen=True, kw_only=True)
class PointsAwarded(DomainEvent):
    award_id: str
    resource_id: str
    points: int
    reason: str
    reference_id: str | None


@dataclass(frozen=True, kw_only=True)
class PointsRedeemed(DomainEvent):
    redemption_id: str
    resource_id: str
    points: int
    item: str
    balance_after: int


@dataclass(frozen=True, kw_only=True)
class RequestReceived(DomainEvent):
    request_id: str
    channel: str
    kind: str
    category: str
    urgency: str
    building_code: str | None
    grid_id: str | None
    summary: str
    due_at: datetime
    external_ref: str | None
    resident_person_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RequestDispatched(DomainEvent):
    request_id: str
    tier: str
    assignee_ids: list[str]
    actor_id: str | None


@dataclass(frozen=True, kw_only=True)
class RequestMoved(DomainEvent):
    request_id: str
    from_grid_id: str | None
    to_grid_id: str
    note: str | None
    actor_id: str | None


@dataclass(frozen=True, kw_only=True)
class RequestEscalated(DomainEvent):
    request_id: str
    from_tier: str
    to_tier: str
    reason: str
    actor_id: str | None


@dataclass(frozen=True, kw_only=True)
class RequestAccepted(DomainEvent):
    request_id: str
    assignee_id: str


@dataclass(frozen=True, kw_only=True)
class RequestProgressed(DomainEvent):
    request_id: str
    note: str
    actor_id: str | None


@dataclass(frozen=True, kw_only=True)
class RequestResolved(DomainEvent):
    request_id: str
    result: str
    actor_id: str | None


@dataclass(frozen=True, kw_only=True)
class RequestEvaluated(DomainEvent):
    request_id: str
    rating: int
    comment: str | None


@dataclass(frozen=True, kw_only=True)
class RequestReopened(DomainEvent):
    request_id: str
    reason: str
    actor_id: str | None


@dataclass(frozen=True, kw_only=True)
class RequestClosed(DomainEvent):
    request_id: str
    outcome: str
    note: str | None
    actor_id: str | None
