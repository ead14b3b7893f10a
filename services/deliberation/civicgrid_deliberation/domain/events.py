"""Domain events of deliberation. Each becomes the contract payload of the same class name
(``civicgrid_contracts.events.deliberation``); ids only, never names or phone numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    community_code: str


@dataclass(frozen=True)
class MeetingConvened(DomainEvent):
    meeting_id: str
    meeting_type: str
    forum_level: str
    place_code: str
    title: str
    scheduled_for: datetime
    participant_person_ids: list[str]
    participant_org_ids: list[str]


@dataclass(frozen=True)
class MeetingHeld(DomainEvent):
    meeting_id: str
    meeting_type: str
    place_code: str
    invited: int
    attended: int
    parties_present: list[str]


@dataclass(frozen=True)
class TopicRaised(DomainEvent):
    topic_id: str
    place_code: str
    compound_code: str | None
    title: str
    raised_as: str
    request_id: str | None = None
    need_id: str | None = None


@dataclass(frozen=True)
class TopicMotionReached(DomainEvent):
    topic_id: str
    compound_code: str
    basis: str
    supporters: int
    eligible: int
    supporter_area_m2: float
    eligible_area_m2: float
    threshold: str


@dataclass(frozen=True)
class VoteOpened(DomainEvent):
    vote_id: str
    compound_code: str
    topic_id: str | None
    title: str
    matter: str
    major: bool
    vote_basis: str
    eligible_voters: int
    closes_at: datetime
    owner_person_ids: list[str] | None = None


@dataclass(frozen=True)
class VoteClosed(DomainEvent):
    vote_id: str
    compound_code: str
    outcome: str
    silent_counted_as: str | None
    measures: list[dict[str, Any]] = field(default_factory=list)
    owner_person_ids: list[str] | None = None


@dataclass(frozen=True)
class ResolutionAdopted(DomainEvent):
    resolution_id: str
    place_code: str
    compound_code: str | None
    title: str
    summary: str
    meeting_id: str | None = None
    vote_id: str | None = None
    topic_id: str | None = None
    request_id: str | None = None
    need_id: str | None = None


@dataclass(frozen=True)
class ResolutionRejected(DomainEvent):
    resolution_id: str
    place_code: str
    title: str
    outcome: str
    meeting_id: str | None = None
    vote_id: str | None = None
    topic_id: str | None = None


@dataclass(frozen=True)
class AppraisalPublished(DomainEvent):
    appraisal_id: str
    title: str
    appraisers: int
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class DisclosurePublished(DomainEvent):
    item_id: str
    place_code: str
    kind: str
    title: str
