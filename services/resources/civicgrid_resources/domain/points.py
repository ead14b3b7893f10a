"""The points ledger (积分制): append-only entries, one per award and one per redemption.

An entry's id is derived from what earned it (``<need>.<claim>``, ``<request>.<resource>.<n>``), so
the same task never pays twice; a redemption is a negative entry, never beyond the balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import Resource, redemption_rules


class EntryKind(StrEnum):
    AWARD = "award"
    REDEMPTION = "redemption"


@dataclass
class PointsEntry:
    entry_id: str
    kind: EntryKind
    resource_id: str
    community_code: str
    points: int
    hours: float
    reason: str
    at: datetime
    person_id: str | None = None
    unit_id: str | None = None
    grid_ids: list[str] = field(default_factory=list)
    reference_id: str | None = None
    item: str | None = None
    balance_after: int | None = None
    by: str | None = None
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def award(
        cls,
        award_id: str,
        resource: Resource,
        points: int,
        hours: float,
        reason: str,
        reference_id: str | None,
        now: datetime,
    ) -> PointsEntry:
        entry = cls(
            award_id,
            EntryKind.AWARD,
            resource.resource_id,
            resource.community_code,
            points,
            hours,
            reason[:200],
            now,
            resource.person_id,
            resource.unit_id,
            resource.current_grid_ids(),
            reference_id,
        )
        entry.events.append(
            ev.PointsAwarded(
                community_code=resource.community_code,
                award_id=award_id,
                resource_id=resource.resource_id,
                points=points,
                reason=entry.reason,
                reference_id=reference_id,
            )
        )
        return entry

    @classmethod
    def redemption(
        cls,
        redemption_id: str,
        resource: Resource,
        balance: int,
        points: int,
        item: str,
        by: str,
        now: datetime,
    ) -> PointsEntry:
        """A negative entry of ``points`` (never beyond ``balance``: 409 with both)."""
        after = redemption_rules(balance, points)
        entry = cls(
            redemption_id,
            EntryKind.REDEMPTION,
            resource.resource_id,
            resource.community_code,
            -points,
            0.0,
            f"redeemed: {item}"[:200],
            now,
            resource.person_id,
            resource.unit_id,
            [],
            None,
            item,
            after,
            by,
        )
        entry.events.append(
            ev.PointsRedeemed(
                community_code=resource.community_code,
                redemption_id=redemption_id,
                resource_id=resource.resource_id,
                points=points,
                item=item,
                balance_after=after,
            )
        )
        return entry

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
