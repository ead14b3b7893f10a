"""Resources sinking down (全要素资源下沉): report-in, joining grids, teams, the three lists, points."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from civicgrid_resources.domain import events as ev
from civicgrid_runtime.errors import Conflict, IllegalTransition, InvalidInput, RuleViolation


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
    COMMUNITY_WORKER = "community_worker"  # holds a grid post in org-graph (网格长, 专职网格员)


UNIT_KINDS = frozenset(
    {
        ResourceKind.PAIRED_UNIT,
        ResourceKind.JOINT_BUILD_UNIT,
        ResourceKind.RESIDENT_UNIT,
        ResourceKind.SOCIAL_ORGANISATION,
        ResourceKind.PROPERTY_COMPANY,
    }
)


class ReportInBasis(StrEnum):
    """双报到: to the community one is paired with, and to the one one lives in."""

    PAIRED = "paired"
    RESIDENCE = "residence"
    OTHER = "other"
    APPOINTMENT = "appointment"  # an org-graph appointment to a grid post: no report-in of their own


class ReportInStatus(StrEnum):
    REPORTED = "reported"
    CONFIRMED = "confirmed"


@dataclass(frozen=True)
class TimeSlot:
    weekday: int  # 1 = Monday … 7 = Sunday
    start: str  # "HH:MM"
    end: str

    def __post_init__(self) -> None:
        if not 1 <= self.weekday <= 7:
            raise InvalidInput("weekday is 1 (Monday) to 7 (Sunday)")
        if not (_is_hhmm(self.start) and _is_hhmm(self.end)) or self.end <= self.start:
            raise InvalidInput("a time slot is start < end, both as HH:MM")


def _is_hhmm(text: str) -> bool:
    return (
        len(text) == 5
        and text[2] == ":"
        and text[:2].isdigit()
        and text[3:].isdigit()
        and (int(text[:2]) < 24 and int(text[3:]) < 60)
    )


@dataclass
class GridPost:
    grid_id: str
    role: str
    period_start: date
    period_end: date | None = None
    left_reason: str | None = None
    membership_id: str | None = None  # the org-graph term this period projects (None: joined here)

    def active_on(self, day: date) -> bool:
        return self.period_start <= day and (self.period_end is None or day <= self.period_end)


@dataclass
class Resource:
    """A person or unit that reported in to a community to serve there."""

    resource_id: str
    community_code: str
    kind: ResourceKind
    display_name: str
    basis: ReportInBasis
    reported_at: datetime
    person_id: str | None = None
    unit_id: str | None = None
    employer: str | None = None
    skills: list[str] = field(default_factory=list)
    availability: list[TimeSlot] = field(default_factory=list)
    contact_preference: str | None = None
    status: ReportInStatus = ReportInStatus.REPORTED
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    grids: list[GridPost] = field(default_factory=list)
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def report_in(cls, **fields: object) -> Resource:
        resource = cls(**fields)  # type: ignore[arg-type]
        if resource.person_id is None and resource.unit_id is None:
            raise InvalidInput("a resource is a person, a unit or both: give person_id or unit_id")
        if resource.kind in UNIT_KINDS and resource.unit_id is None:
            raise InvalidInput(f"a {resource.kind.value} reports in as a unit: give unit_id")
        resource.events.append(
            ev.ResourceReportedIn(
                community_code=resource.community_code,
                resource_id=resource.resource_id,
                kind=resource.kind.value,
                person_id=resource.person_id,
                unit_id=resource.unit_id,
                display_name=resource.display_name,
                skills=list(resource.skills),
            )
        )
        return resource

    def confirm(self, by: str, now: datetime) -> None:
        if self.status is ReportInStatus.CONFIRMED:
            raise IllegalTransition(self.status.value, "confirm", [])
        self.status = ReportInStatus.CONFIRMED
        self.confirmed_by = by
        self.confirmed_at = now
        self.events.append(
            ev.ResourceReportInConfirmed(
                community_code=self.community_code, resource_id=self.resource_id, confirmed_by=by
            )
        )

    def join_grid(self, grid_id: str, role: str, start: date, end: date | None) -> None:
        if self.status is not ReportInStatus.CONFIRMED:
            raise RuleViolation(
                "report_in_confirmed_first", "the community must confirm the report-in before joining a grid"
            )
        if not grid_id.startswith(self.community_code):
            raise RuleViolation(
                "grid_in_reported_community",
                f"grid {grid_id} is not in community {self.community_code}, where the resource reported in",
            )
        if end is not None and end < start:
            raise InvalidInput("period_end must not be before period_start")
        for post in self.grids:
            if post.grid_id == grid_id and post.period_end is None:
                raise Conflict(f"{self.resource_id} is already in grid {grid_id} as {post.role}")
        self.grids.append(GridPost(grid_id, role, start, end))
        self.events.append(
            ev.ResourceJoinedGrid(
                community_code=self.community_code,
                resource_id=self.resource_id,
                person_id=self.person_id,
                unit_id=self.unit_id,
                grid_id=grid_id,
                role=role,
                period_start=start,
                period_end=end,
            )
        )

    def leave_grid(self, grid_id: str, end: date, reason: str | None) -> None:
        for post in self.grids:
            if post.grid_id == grid_id and (post.period_end is None or post.period_end > end):
                if end < post.period_start:
                    raise InvalidInput("period_end must not be before the period's start")
                post.period_end = end
                post.left_reason = reason
                self.events.append(
                    ev.ResourceLeftGrid(
                        community_code=self.community_code,
                        resource_id=self.resource_id,
                        grid_id=grid_id,
                        period_end=end,
                        reason=reason,
                    )
                )
                return
        raise RuleViolation("in_grid", f"{self.resource_id} has no open period in grid {grid_id}")

    @classmethod
    def appointed(
        cls,
        resource_id: str,
        community_code: str,
        person_id: str,
        display_name: str,
        kind: ResourceKind,
        now: datetime,
    ) -> Resource:
        """A person appointed to a grid post in org-graph: the appointment is their report-in, and
        org-graph (where the community appointed them) has confirmed it."""
        resource = cls.report_in(
            resource_id=resource_id,
            community_code=community_code,
            kind=kind,
            display_name=display_name,
            basis=ReportInBasis.APPOINTMENT,
            reported_at=now,
            person_id=person_id,
        )
        resource.confirm(APPOINTING_AUTHORITY, now)
        return resource

    def hold_post(self, term: Term, today: date) -> bool:
        """Make this resource's period in the term's grid what org-graph's term says (start, end).

        Idempotent, and the same whatever order the term's facts came in: a period is added once per
        term (``resource.joined_grid``), and only moved to an end the term now has
        (``resource.left_grid``). A term already over by ``today`` adds nothing. False: no change."""
        post = next((p for p in self.grids if p.membership_id == term.membership_id), None)
        if post is None:
            if term.over_by(today):
                return False
            self.grids.append(
                GridPost(term.grid_id, term.post, term.start, term.end, membership_id=term.membership_id)
            )
            self.events.append(
                ev.ResourceJoinedGrid(
                    community_code=self.community_code,
                    resource_id=self.resource_id,
                    person_id=self.person_id,
                    unit_id=self.unit_id,
                    grid_id=term.grid_id,
                    role=term.post,
                    period_start=term.start,
                    period_end=term.end,
                )
            )
            return True
        if term.end is None or post.period_end == term.end:
            return False
        post.period_end = max(term.end, post.period_start)
        post.left_reason = TERM_ENDED
        self.events.append(
            ev.ResourceLeftGrid(
                community_code=self.community_code,
                resource_id=self.resource_id,
                grid_id=post.grid_id,
                period_end=post.period_end,
                reason=TERM_ENDED,
            )
        )
        return True

    def in_grid(self, grid_id: str, day: date) -> GridPost | None:
        return next((p for p in self.grids if p.grid_id == grid_id and p.active_on(day)), None)

    def current_grid_ids(self) -> list[str]:
        """The grids of its open periods (no end date yet)."""
        return sorted({p.grid_id for p in self.grids if p.period_end is None})

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken


APPOINTING_AUTHORITY = "org-graph"
TERM_ENDED = "term ended in org-graph"


@dataclass(frozen=True)
class Term:
    """An org-graph term (membership) in a grid post, as far as resources knows it: the person, the
    grid, the post, its first day and (once ended) its last day, inclusive — as org-graph counts them."""

    membership_id: str
    person_id: str
    community_code: str
    grid_id: str
    post: str
    start: date
    end: date | None = None

    def serves_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def over_by(self, day: date) -> bool:
        """Ended before ``day`` (or ended before it began): nothing of it is left to serve."""
        return self.end is not None and (self.end < day or self.end < self.start)


def team_id_for(grid_id: str) -> str:
    """One service team per grid (组团式服务)."""
    return f"team-{grid_id}"


def ensure_serves_community(rule: str, holder_id: str, serves: str, community_code: str) -> None:
    """A resource acts only for the community it reported in to (a team: its grid's community).

    One rule on every relation to a community's object: a need's claimant, a request's assignee,
    a grid team's member. ``rule`` names the relation in the 422 answer."""
    if serves != community_code:
        raise RuleViolation(
            rule,
            f"{holder_id} serves community {serves}, not community {community_code}: report in there first",
        )


class OfferKind(StrEnum):
    RESOURCE = "resource"
    PROJECT = "project"


class OfferStatus(StrEnum):
    OFFERED = "offered"
    WITHDRAWN = "withdrawn"


@dataclass
class Offer:
    """An item of a unit's resources list or projects list; matched to needs while offered."""

    offer_id: str
    resource_id: str
    community_code: str
    kind: OfferKind
    title: str
    offered_at: datetime
    unit_id: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    status: OfferStatus = OfferStatus.OFFERED
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def publish(cls, **fields: object) -> Offer:
        offer = cls(**fields)  # type: ignore[arg-type]
        offer.events.append(
            ev.OfferPublished(
                community_code=offer.community_code,
                offer_id=offer.offer_id,
                resource_id=offer.resource_id,
                unit_id=offer.unit_id,
                kind=offer.kind.value,
                title=offer.title,
                description=offer.description,
                tags=list(offer.tags),
            )
        )
        return offer

    def _ensure_offered(self, action: str) -> None:
        if self.status is OfferStatus.WITHDRAWN:
            raise IllegalTransition(self.status.value, action, [])

    def update(self, title: str | None, description: str | None, tags: list[str] | None) -> bool:
        """Change what is given; False (and no event) if nothing changes."""
        self._ensure_offered("update")
        new_title = self.title if title is None else title
        new_description = self.description if description is None else description
        new_tags = self.tags if tags is None else list(tags)
        if (new_title, new_description, new_tags) == (self.title, self.description, self.tags):
            return False
        self.title, self.description, self.tags = new_title, new_description, new_tags
        self.events.append(
            ev.OfferUpdated(
                community_code=self.community_code,
                offer_id=self.offer_id,
                title=self.title,
                description=self.description,
                tags=list(self.tags),
            )
        )
        return True

    def withdraw(self, reason: str | None, now: datetime) -> None:
        self._ensure_offered("withdraw")
        self.status = OfferStatus.WITHDRAWN
        self.withdrawn_at = now
        self.withdrawn_reason = reason
        self.events.append(
            ev.OfferWithdrawn(community_code=self.community_code, offer_id=self.offer_id, reason=reason)
        )

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken


def need_claim_rules(slots: int) -> None:
    if not 1 <= slots <= 10_000:
        raise InvalidInput("slots must be from 1 to 10000")


def points_for(hours: float, points_per_hour: int) -> int:
    """Service hours become points at a fixed rate; at least one point for any completed task."""
    if not 0 < hours <= 24:
        raise InvalidInput("hours must be more than 0 and at most 24 for one task")
    return max(1, round(hours * points_per_hour))


def request_award_id(request_id: str, resource_id: str, resolution: int) -> str:
    """The ledger key of the points a resource earns for one resolution of a request.

    Derived from what earned them, so a repeat (the resolution, then the evaluation that closes it
    as resolved; a retry) never pays twice. Ids are at most 64 characters: a longer key is hashed."""
    key = f"{request_id}.{resource_id}.{resolution}"
    if len(key) <= 64:
        return key
    return "award-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def redemption_rules(balance: int, points: int) -> int:
    """Points are redeemed only from what the balance holds; returns the balance after."""
    if not 1 <= points <= 100_000:
        raise InvalidInput("points to redeem must be from 1 to 100000")
    if points > balance:
        raise Conflict(
            f"the balance is {balance} points: {points} cannot be redeemed",
            balance=balance,
            requested=points,
        )
    return balance - points


def match_score(need_tags: list[str], offer_tags: list[str]) -> int:
    """How well an offer (resources or projects list) fits a need: shared tags."""
    return len({t.lower() for t in need_tags} & {t.lower() for t in offer_tags})
