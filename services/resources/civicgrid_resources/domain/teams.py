"""The grid's service team (组团式服务): one per grid, from the resources that joined the grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import Resource, Term, ensure_serves_community, team_id_for
from civicgrid_runtime.errors import Conflict, RuleViolation


@dataclass(frozen=True)
class TeamMember:
    resource_id: str
    person_id: str | None
    unit_id: str | None
    display_name: str
    kind: str
    role: str
    added_at: datetime
    membership_id: str | None = None  # seated by an org-graph term; None: added here, no period
    period_start: date | None = None
    period_end: date | None = None

    def serves_on(self, day: date) -> bool:
        """Members added here serve until removed; a term's seat from its first to its last day."""
        return (self.period_start is None or self.period_start <= day) and (
            self.period_end is None or day <= self.period_end
        )


@dataclass
class Team:
    team_id: str
    grid_id: str
    community_code: str
    name: str
    formed_at: datetime
    leader_resource_id: str | None = None
    purpose: str | None = None
    members: list[TeamMember] = field(default_factory=list)
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def form(cls, grid_id: str, name: str, leader: str | None, purpose: str | None, now: datetime) -> Team:
        team = cls(team_id_for(grid_id), grid_id, grid_id[:12], name, now, leader, purpose)
        team.events.append(
            ev.TeamFormed(
                community_code=team.community_code,
                team_id=team.team_id,
                name=name,
                grid_id=grid_id,
                leader_resource_id=leader,
                purpose=purpose,
            )
        )
        return team

    def add_member(self, resource: Resource, role: str | None, now: datetime) -> TeamMember:
        """Only a resource of the grid's community that has joined the grid (today) joins its team, once."""
        ensure_serves_community(
            "member_serves_community", resource.resource_id, resource.community_code, self.community_code
        )
        post = resource.in_grid(self.grid_id, now.date())
        if post is None:
            raise RuleViolation(
                "member_in_grid",
                f"{resource.resource_id} has not joined grid {self.grid_id}: join the grid first",
            )
        if any(m.resource_id == resource.resource_id for m in self.members):
            raise Conflict(f"{resource.resource_id} is already in team {self.team_id}")
        member = TeamMember(
            resource.resource_id,
            resource.person_id,
            resource.unit_id,
            resource.display_name,
            resource.kind.value,
            role or post.role,
            now,
        )
        self.members.append(member)
        self.events.append(
            ev.TeamMemberAdded(
                community_code=self.community_code,
                team_id=self.team_id,
                resource_id=resource.resource_id,
                role=member.role,
            )
        )
        return member

    def seat(self, resource: Resource, term: Term, today: date, now: datetime) -> bool:
        """The seat of an appointed grid worker follows their org-graph term: added once (one
        ``team.member_added``), its period moved when the term ends; a term already over by ``today``
        seats nobody, and an older term never replaces the seat of a later one (facts replayed out of
        order). A member added here by hand keeps their seat as it is. False: nothing changed."""
        ensure_serves_community(
            "member_serves_community", resource.resource_id, resource.community_code, self.community_code
        )
        index, current = next(
            ((i, m) for i, m in enumerate(self.members) if m.resource_id == resource.resource_id),
            (None, None),
        )
        if current is not None and current.membership_id is None:
            return False
        same_term = current is not None and current.membership_id == term.membership_id
        if not same_term:
            if term.over_by(today):
                return False
            if current is not None and current.period_start is not None and term.start < current.period_start:
                return False
        seated = TeamMember(
            resource.resource_id,
            resource.person_id,
            resource.unit_id,
            resource.display_name,
            resource.kind.value,
            term.post,
            current.added_at if current is not None and same_term else now,
            term.membership_id,
            term.start,
            term.end,
        )
        if seated == current:
            return False
        if index is None:
            self.members.append(seated)
        else:
            self.members[index] = seated
        if not same_term:
            self.events.append(
                ev.TeamMemberAdded(
                    community_code=self.community_code,
                    team_id=self.team_id,
                    resource_id=resource.resource_id,
                    role=term.post,
                )
            )
        return True

    def serving(self, day: date) -> list[TeamMember]:
        """The members who serve on ``day`` (a request dispatched to the team goes to them)."""
        return [m for m in self.members if m.serves_on(day)]

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
