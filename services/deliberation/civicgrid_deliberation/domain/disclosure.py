"""Public disclosure (村务/小区事务公开, 码上公开): decisions, finances, project progress, per
community or compound, readable by anyone. What is public carries no personal data: no names, no
person ids, no phone numbers — only the place, the item and its figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from civicgrid_deliberation.domain import events as ev
from civicgrid_deliberation.domain.forums import compound_of
from civicgrid_runtime.errors import InvalidInput


class DisclosureKind(StrEnum):
    DECISION = "decision"
    FINANCE = "finance"
    PROJECT_PROGRESS = "project_progress"
    MEETING = "meeting"
    APPRAISAL = "appraisal"


@dataclass(frozen=True)
class Figure:
    label: str
    amount: Decimal
    unit: str = ""

    def to_data(self) -> dict[str, Any]:
        return {"label": self.label, "amount": str(self.amount), "unit": self.unit}


@dataclass
class DisclosureItem:
    item_id: str
    place_code: str
    kind: DisclosureKind
    title: str
    body: str
    published_at: datetime
    published_by: str
    figures: list[Figure] = field(default_factory=list)
    source_id: str | None = None
    """The decision, vote, appraisal or project the item discloses (an id, not a person)."""
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list)

    @property
    def community_code(self) -> str:
        return self.place_code[:12]

    @property
    def compound_code(self) -> str | None:
        return compound_of(self.place_code)

    @classmethod
    def publish(
        cls,
        item_id: str,
        place_code: str,
        kind: DisclosureKind,
        title: str,
        body: str,
        published_at: datetime,
        published_by: str,
        figures: list[Figure] | None = None,
        source_id: str | None = None,
    ) -> DisclosureItem:
        if len(place_code) < 12 or not place_code[:12].isdigit():
            raise InvalidInput("disclose at a community or compound", field="place_code")
        if kind is DisclosureKind.FINANCE and not figures:
            raise InvalidInput("a finance item gives its figures", field="figures")
        item = cls(
            item_id, place_code, kind, title, body, published_at, published_by, list(figures or []), source_id
        )
        item.events.append(
            ev.DisclosurePublished(
                community_code=item.community_code,
                item_id=item_id,
                place_code=place_code,
                kind=kind.value,
                title=title,
            )
        )
        return item

    def public_view(self) -> dict[str, Any]:
        """What the public page shows: no ``published_by`` (a person)."""
        return {
            "item_id": self.item_id,
            "place_code": self.place_code,
            "kind": self.kind.value,
            "title": self.title,
            "body": self.body,
            "figures": [f.to_data() for f in self.figures],
            "published_at": self.published_at.isoformat(),
            "source_id": self.source_id,
        }

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken
