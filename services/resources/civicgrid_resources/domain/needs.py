"""The needs list (需求清单) of a community: slots claimed by resources or teams, completed with hours."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import need_claim_rules
from civicgrid_runtime.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True)
class NeedClaim:
    claim_id: str
    resource_id: str | None
    team_id: str | None
    claimed_at: datetime
    completed_at: datetime | None = None
    hours: float | None = None

    @property
    def claimant(self) -> str:
        claimant = self.resource_id or self.team_id
        assert claimant is not None
        return claimant


@dataclass
class Need:
    need_id: str
    community_code: str
    title: str
    published_at: datetime
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    slots: int = 1
    claims: list[NeedClaim] = field(default_factory=list)
    resolution_id: str | None = None
    """Set on a project agreed in deliberation (领办议定的民生实事): it is on the projects list, not
    the needs list, and a team or resource claims it to lead it."""
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def publish(
        cls,
        need_id: str,
        community_code: str,
        title: str,
        description: str | None,
        tags: list[str],
        slots: int,
        now: datetime,
        resolution_id: str | None = None,
    ) -> Need:
        need_claim_rules(slots)
        need = cls(need_id, community_code, title, now, description, list(tags), slots, [], resolution_id)
        need.events.append(
            ev.NeedPublished(
                community_code=community_code,
                need_id=need_id,
                title=title,
                description=description,
                tags=list(tags),
                slots=slots,
            )
        )
        return need

    @property
    def agreed_project(self) -> bool:
        """On the projects list (from an adopted resolution) rather than the needs list."""
        return self.resolution_id is not None

    @property
    def remaining(self) -> int:
        return self.slots - len(self.claims)

    @property
    def claimants(self) -> list[str]:
        return [c.claimant for c in self.claims]

    def claim(self, claim_id: str, resource_id: str | None, team_id: str | None, now: datetime) -> NeedClaim:
        """Take a slot: only while one is left, and once per claimant."""
        if (resource_id is None) == (team_id is None):
            raise InvalidInput("a need is claimed by a resource or by a team: give exactly one of them")
        entry = NeedClaim(claim_id, resource_id, team_id, now)
        if entry.claimant in self.claimants:
            raise Conflict(f"{entry.claimant} has already claimed need {self.need_id}")
        if self.remaining <= 0:
            raise Conflict(f"need {self.need_id} has no slot left: all {self.slots} are claimed", remaining=0)
        self.claims.append(entry)
        self.events.append(
            ev.NeedClaimed(
                community_code=self.community_code,
                need_id=self.need_id,
                title=self.title,
                resource_id=resource_id,
                team_id=team_id,
            )
        )
        return entry

    def find_claim(self, claim_id: str) -> NeedClaim:
        found = next((c for c in self.claims if c.claim_id == claim_id), None)
        if found is None:
            raise NotFound(f"need {self.need_id} has no claim {claim_id}")
        return found

    def complete(self, claim_id: str, hours: float, now: datetime) -> NeedClaim:
        """The community confirms a resource's task done (again: the same completion)."""
        found = self.find_claim(claim_id)
        if found.resource_id is None:
            raise InvalidInput("a team's claim is completed by awarding its members; name a resource's claim")
        done = replace(found, completed_at=found.completed_at or now, hours=hours)
        self.claims = [done if c.claim_id == claim_id else c for c in self.claims]
        return done

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
