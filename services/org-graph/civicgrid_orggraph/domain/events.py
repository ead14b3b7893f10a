"""Domain events: facts the service layer records; adapters translate them to contract events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    """``name`` is the fact (e.g. ``place.registered``); ``data`` its fields; ``subject`` what it is about."""

    name: str
    community_code: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)


def building_assigned(building_code: str, grid_id: str, previous_grid_id: str | None) -> DomainEvent:
    """The one fact for every change of a building's grid (its first grid or another), however it
    happened: a building put in a grid or moved, a grid defined over buildings, a roster import."""
    return DomainEvent(
        "grid.building_assigned",
        grid_id[:12],
        f"place/{building_code}",
        {"building_code": building_code, "grid_id": grid_id, "previous_grid_id": previous_grid_id},
    )
