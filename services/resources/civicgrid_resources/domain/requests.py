"""The residents' request: an explicit state machine, tiered response and the SLA clock.

Plain Python. The aggregate records every step on its timeline (who, when, what) and collects
domain events; adapters store it as one document and translate the events to contracts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from civicgrid_resources.domain import events as ev
from civicgrid_runtime.errors import IllegalTransition, InvalidInput, PermissionDenied, RuleViolation


class Status(StrEnum):
    RECEIVED = "received"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(StrEnum):
    DISPATCH = "dispatch"
    ESCALATE = "escalate"
    DECLINE = "decline"
    ACCEPT = "accept"
    PROGRESS = "progress"
    RESOLVE = "resolve"
    EVALUATE = "evaluate"
    REOPEN = "reopen"
    CLOSE = "close"
    MOVE = "move"


# Routing as data: which action is allowed in which status, and where it leads.
TRANSITIONS: dict[Status, dict[Action, Status]] = {
    Status.RECEIVED: {
        Action.DISPATCH: Status.DISPATCHED,
        Action.ESCALATE: Status.DISPATCHED,
        Action.MOVE: Status.DISPATCHED,
        Action.CLOSE: Status.CLOSED,
    },
    Status.DISPATCHED: {
        Action.DISPATCH: Status.DISPATCHED,
        Action.ESCALATE: Status.DISPATCHED,
        Action.DECLINE: Status.DISPATCHED,
        Action.MOVE: Status.DISPATCHED,
        Action.ACCEPT: Status.IN_PROGRESS,
        Action.CLOSE: Status.CLOSED,
    },
    Status.IN_PROGRESS: {
        Action.PROGRESS: Status.IN_PROGRESS,
        Action.ESCALATE: Status.DISPATCHED,
        Action.MOVE: Status.DISPATCHED,
        Action.RESOLVE: Status.RESOLVED,
        Action.CLOSE: Status.CLOSED,
    },
    Status.RESOLVED: {Action.EVALUATE: Status.CLOSED, Action.REOPEN: Status.DISPATCHED},
    Status.CLOSED: {Action.REOPEN: Status.DISPATCHED},
}

OPEN_STATUSES = (Status.RECEIVED, Status.DISPATCHED, Status.IN_PROGRESS)


class Tier(StrEnum):
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"
    DEPARTMENT = "department"


TIER_ORDER: tuple[Tier, ...] = (Tier.GRID, Tier.COMMUNITY, Tier.STREET, Tier.DEPARTMENT)


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    UTILITIES = "utilities"
    ORDINARY = "ordinary"
    COMPLEX = "complex"


class EscalationReason(StrEnum):
    DECLINED = "declined"
    BEYOND_AUTHORITY = "beyond_authority"
    DEADLINE_PASSED = "deadline_passed"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    UNFOUNDED = "unfounded"


@dataclass(frozen=True)
class SlaPolicy:
    """Time limits per urgency (defaults: emergency 2 h, utilities 24 h, ordinary 7 d, complex 15 d)."""

    limits: dict[Urgency, timedelta]

    @classmethod
    def default(cls) -> SlaPolicy:
        return cls(
            {
                Urgency.EMERGENCY: timedelta(hours=2),
                Urgency.UTILITIES: timedelta(hours=24),
                Urgency.ORDINARY: timedelta(days=7),
                Urgency.COMPLEX: timedelta(days=15),
            }
        )

    def due(self, urgency: Urgency, start: datetime) -> datetime:
        return start + self.limits[urgency]


@dataclass(frozen=True)
class Assignee:
    """Who a request is dispatched to: a resource (with its person, if any) or a tier's office."""

    assignee_id: str
    person_id: str | None = None


def tier_office(tier: Tier, community_code: str, category: str) -> Assignee:
    """The default assignee of a tier above the grid: the community, the street or the department."""
    if tier is Tier.COMMUNITY:
        return Assignee(f"community-{community_code}")
    if tier is Tier.STREET:
        return Assignee(f"street-{community_code[:9]}")
    slug = "".join(c if c.isalnum() and c.isascii() else "-" for c in category.lower()).strip("-")
    return Assignee(f"department-{slug or 'general'}"[:64])


@dataclass(frozen=True)
class Actor:
    """Who acts: a person id or a subject (token) id; ``None`` means the system (the SLA sweeper)."""

    actor_id: str | None
    person_id: str | None = None


SYSTEM = Actor(None)


@dataclass
class TimelineEntry:
    at: datetime
    action: str
    status: Status
    tier: Tier | None
    actor_id: str | None
    note: str | None = None
    assignee_ids: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    rating: int
    comment: str | None
    at: datetime


@dataclass
class ServiceRequest:
    """One resident's request (诉求) through the closed loop."""

    request_id: str
    community_code: str
    channel: str
    kind: str
    category: str
    urgency: Urgency
    summary: str
    received_at: datetime
    due_at: datetime
    grid_id: str | None = None
    building_code: str | None = None
    household: str | None = None
    resident_person_id: str | None = None
    external_ref: str | None = None
    status: Status = Status.RECEIVED
    tier: Tier | None = None
    assignees: list[Assignee] = field(default_factory=list)
    accepted_by: str | None = None
    escalations: int = 0
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: Outcome | None = None
    result: str | None = None
    evaluation: Evaluation | None = None
    reopen_count: int = 0
    sla_exhausted: bool = False
    intake_grid_id: str | None = None
    """The grid named when the request was recorded (None: located from its building, or none)."""
    address: str | None = None
    """Where, as the resident or the hotline put it (a 12345 ticket's address)."""
    timeline: list[TimelineEntry] = field(default_factory=list)
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list, repr=False)

    # -- creation -------------------------------------------------------------------------------

    @classmethod
    def receive(
        cls,
        *,
        request_id: str,
        community_code: str,
        channel: str,
        kind: str,
        category: str,
        urgency: Urgency,
        summary: str,
        now: datetime,
        sla: SlaPolicy,
        actor: Actor,
        grid_id: str | None = None,
        building_code: str | None = None,
        household: str | None = None,
        resident_person_id: str | None = None,
        external_ref: str | None = None,
        intake_grid_id: str | None = None,
        address: str | None = None,
        received_at: datetime | None = None,
    ) -> ServiceRequest:
        """A new request, received at ``received_at`` (when its source took it: a 12345 ticket's own
        time; never later than ``now``), which is also when its time limit starts."""
        if grid_id is not None and not grid_id.startswith(community_code):
            raise InvalidInput(f"grid {grid_id} is not in community {community_code}")
        received = min(received_at, now) if received_at is not None else now
        request = cls(
            request_id=request_id,
            community_code=community_code,
            channel=channel,
            kind=kind,
            category=category,
            urgency=urgency,
            summary=summary,
            received_at=received,
            due_at=sla.due(urgency, received),
            grid_id=grid_id,
            building_code=building_code,
            household=household,
            resident_person_id=resident_person_id,
            external_ref=external_ref,
            intake_grid_id=intake_grid_id,
            address=address,
        )
        request._log(received, "receive", actor, note=f"via {channel}")
        request.events.append(
            ev.RequestReceived(
                request_id=request_id,
                community_code=community_code,
                channel=channel,
                kind=kind,
                category=category,
                urgency=urgency.value,
                building_code=building_code,
                grid_id=grid_id,
                summary=summary,
                due_at=request.due_at,
                external_ref=external_ref,
                resident_person_id=resident_person_id,
            )
        )
        return request

    # -- transitions ------------------------------------------------------------------------------

    def allowed_actions(self) -> list[str]:
        return [a.value for a in TRANSITIONS[self.status]]

    def _move(self, action: Action) -> Status:
        target = TRANSITIONS[self.status].get(action)
        if target is None:
            raise IllegalTransition(self.status.value, action.value, self.allowed_actions())
        return target

    def dispatch(self, tier: Tier, assignees: list[Assignee], actor: Actor, now: datetime) -> None:
        """First dispatch, or re-dispatch to other people at the current tier."""
        target = self._move(Action.DISPATCH)
        if not assignees:
            raise InvalidInput("a dispatch needs at least one assignee")
        if self.tier is not None and TIER_ORDER.index(tier) > TIER_ORDER.index(self.tier):
            raise InvalidInput("to send a request to a higher tier, escalate it")
        self.status = target
        self._assign(tier, assignees, actor, now, "dispatch")

    def escalate(
        self,
        reason: EscalationReason,
        assignees: list[Assignee] | None,
        actor: Actor,
        now: datetime,
        sla: SlaPolicy,
        note: str | None = None,
    ) -> None:
        action = Action.DECLINE if reason is EscalationReason.DECLINED else Action.ESCALATE
        target = self._move(action)
        current = self.tier or Tier.GRID
        index = TIER_ORDER.index(current)
        if index + 1 >= len(TIER_ORDER):
            raise RuleViolation(
                "highest_tier_reached",
                "the request is already with the responsible department; there is no higher tier",
            )
        upper = TIER_ORDER[index + 1]
        self.status = target
        self.escalations += 1
        self.accepted_by = None
        # The next tier gets a fresh time limit for the same urgency.
        self.due_at = sla.due(self.urgency, now)
        self.events.append(
            ev.RequestEscalated(
                request_id=self.request_id,
                community_code=self.community_code,
                from_tier=current.value,
                to_tier=upper.value,
                reason=reason.value,
                actor_id=actor.actor_id,
            )
        )
        office = [tier_office(upper, self.community_code, self.category)]
        self._assign(upper, assignees or office, actor, now, f"escalate:{reason.value}", note)

    def move(
        self,
        grid_id: str,
        assignees: list[Assignee],
        actor: Actor,
        now: datetime,
        sla: SlaPolicy,
        note: str | None = None,
    ) -> None:
        """The request was located in the wrong grid: it goes to another grid of its community.

        It starts again at the grid tier with the new grid's team and a fresh time limit; the
        escalations so far stay counted."""
        target = self._move(Action.MOVE)
        if not grid_id.startswith(self.community_code):
            raise RuleViolation(
                "grid_in_community",
                f"grid {grid_id} is not in community {self.community_code}: a request moves only "
                "between the grids of its community",
            )
        if grid_id == self.grid_id:
            raise RuleViolation("grid_differs", f"request {self.request_id} is already in grid {grid_id}")
        if not assignees:
            raise InvalidInput("a moved request needs at least one assignee in the new grid")
        previous = self.grid_id
        self.status = target
        self.grid_id = grid_id
        self.accepted_by = None
        self.sla_exhausted = False
        self.due_at = sla.due(self.urgency, now)
        self.events.append(
            ev.RequestMoved(
                request_id=self.request_id,
                community_code=self.community_code,
                from_grid_id=previous,
                to_grid_id=grid_id,
                note=note,
                actor_id=actor.actor_id,
            )
        )
        moved = f"from grid {previous or '(none)'} to grid {grid_id}" + (f": {note}" if note else "")
        self._assign(Tier.GRID, assignees, actor, now, "move", moved)

    def overdue(self, now: datetime) -> bool:
        return self.status in OPEN_STATUSES and not self.sla_exhausted and self.due_at <= now

    def escalate_overdue(self, now: datetime, sla: SlaPolicy) -> bool:
        """Escalate on the deadline; at the department tier mark the SLA exhausted. True if changed."""
        if not self.overdue(now):
            return False
        if self.tier is Tier.DEPARTMENT:
            self.sla_exhausted = True
            self._log(now, "overdue_at_highest_tier", SYSTEM)
            return True
        self.escalate(EscalationReason.DEADLINE_PASSED, None, SYSTEM, now, sla)
        return True

    def accept(self, assignee_id: str, actor: Actor, now: datetime) -> None:
        target = self._move(Action.ACCEPT)
        if assignee_id not in {a.assignee_id for a in self.assignees}:
            raise InvalidInput(f"{assignee_id} is not among the assignees of {self.request_id}")
        self.status = target
        self.accepted_by = assignee_id
        if self.first_response_at is None:
            self.first_response_at = now
        self._log(now, "accept", actor, assignee_ids=[assignee_id])
        self.events.append(
            ev.RequestAccepted(
                request_id=self.request_id, community_code=self.community_code, assignee_id=assignee_id
            )
        )

    def progress(self, note: str, actor: Actor, now: datetime) -> None:
        self.status = self._move(Action.PROGRESS)
        self._log(now, "progress", actor, note=note)
        self.events.append(
            ev.RequestProgressed(
                request_id=self.request_id,
                community_code=self.community_code,
                note=note,
                actor_id=actor.actor_id,
            )
        )

    def resolve(self, result: str, actor: Actor, now: datetime) -> None:
        self.status = self._move(Action.RESOLVE)
        self.result = result
        self.resolved_at = now
        self._log(now, "resolve", actor, note=result)
        self.events.append(
            ev.RequestResolved(
                request_id=self.request_id,
                community_code=self.community_code,
                result=result,
                actor_id=actor.actor_id,
            )
        )

    def ensure_resident(self, actor: Actor) -> None:
        if self.resident_person_id is None or actor.person_id != self.resident_person_id:
            raise PermissionDenied("only the resident who made the request may evaluate or reopen it")

    def evaluate(self, rating: int, comment: str | None, actor: Actor, now: datetime) -> None:
        self.ensure_resident(actor)
        if not 1 <= rating <= 5:
            raise InvalidInput("rating must be from 1 to 5")
        self.status = self._move(Action.EVALUATE)
        self.evaluation = Evaluation(rating, comment, now)
        self.closed_at = now
        self.outcome = Outcome.RESOLVED
        self._log(now, "evaluate", actor, note=f"rating {rating}" + (f": {comment}" if comment else ""))
        self.events.append(
            ev.RequestEvaluated(
                request_id=self.request_id, community_code=self.community_code, rating=rating, comment=comment
            )
        )
        self.events.append(
            ev.RequestClosed(
                request_id=self.request_id,
                community_code=self.community_code,
                outcome=Outcome.RESOLVED.value,
                note=None,
                actor_id=actor.actor_id,
            )
        )

    def reopen(self, reason: str, actor: Actor, now: datetime, sla: SlaPolicy) -> None:
        target = self._move(Action.REOPEN)
        if self.outcome not in (None, Outcome.RESOLVED):
            raise RuleViolation(
                "only_resolved_requests_reopen", f"a request closed as {self.outcome} stays closed"
            )
        self.status = target
        self.reopen_count += 1
        self.resolved_at = None
        self.closed_at = None
        self.outcome = None
        self.evaluation = None
        self.accepted_by = None
        self.sla_exhausted = False
        self.due_at = sla.due(self.urgency, now)
        self._log(now, "reopen", actor, note=reason)
        self.events.append(
            ev.RequestReopened(
                request_id=self.request_id,
                community_code=self.community_code,
                reason=reason,
                actor_id=actor.actor_id,
            )
        )
        tier = self.tier or Tier.GRID
        assignees = self.assignees or [tier_office(Tier.COMMUNITY, self.community_code, self.category)]
        self._assign(tier, assignees, actor, now, "redispatch")

    def close(self, outcome: Outcome, note: str | None, actor: Actor, now: datetime) -> None:
        if outcome is Outcome.RESOLVED:
            raise InvalidInput("a request is closed as resolved by the resident's evaluation")
        self.status = self._move(Action.CLOSE)
        self.outcome = outcome
        self.closed_at = now
        self._log(now, f"close:{outcome.value}", actor, note=note)
        self.events.append(
            ev.RequestClosed(
                request_id=self.request_id,
                community_code=self.community_code,
                outcome=outcome.value,
                note=note,
                actor_id=actor.actor_id,
            )
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _assign(
        self,
        tier: Tier,
        assignees: list[Assignee],
        actor: Actor,
        now: datetime,
        action: str,
        note: str | None = None,
    ) -> None:
        self.tier = tier
        self.assignees = list(assignees)
        ids = [a.assignee_id for a in assignees]
        self._log(now, action, actor, note=note, assignee_ids=ids)
        self.events.append(
            ev.RequestDispatched(
                request_id=self.request_id,
                community_code=self.community_code,
                tier=tier.value,
                assignee_ids=ids,
                actor_id=actor.actor_id,
            )
        )

    def _log(
        self,
        now: datetime,
        action: str,
        actor: Actor,
        note: str | None = None,
        assignee_ids: list[str] | None = None,
    ) -> None:
        self.timeline.append(
            TimelineEntry(now, action, self.status, self.tier, actor.actor_id, note, list(assignee_ids or []))
        )

    def resolution_round(self) -> int:
        """Which resolution this is: 1 for the first, 2 after one reopening, …"""
        return self.reopen_count + 1

    def point_earners(self) -> list[Assignee]:
        """Who earns points for resolving it: the people who handled it — the assignee who accepted
        it, and assignees who recorded progress or the resolution themselves since — not everyone it
        was dispatched to (a grid's whole team), and never a tier's office.

        Only while resolved, or closed as resolved (the resident's evaluation)."""
        if not (
            self.status is Status.RESOLVED
            or (self.status is Status.CLOSED and self.outcome is Outcome.RESOLVED)
        ):
            return []
        accepts = [i for i, t in enumerate(self.timeline) if t.action == Action.ACCEPT.value]
        handling = self.timeline[accepts[-1] :] if accepts else []
        actors = {t.actor_id for t in handling if t.action in (Action.PROGRESS.value, Action.RESOLVE.value)}
        return [
            a
            for a in self.assignees
            if a.person_id is not None and (a.assignee_id == self.accepted_by or a.person_id in actors)
        ]

    def assignee_held_by(self, person_id: str | None) -> str | None:
        """The assignee id held by this person, if any."""
        for assignee in self.assignees:
            if person_id is not None and assignee.person_id == person_id:
                return assignee.assignee_id
        return None

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
