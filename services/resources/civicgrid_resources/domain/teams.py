"""The grid's service team (组团式服务): one per grid, from the resources that joined the grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import Resource, ensure_serves_community, team_id_for
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

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
