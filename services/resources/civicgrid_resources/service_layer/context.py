"""What every use case needs: the store, the projection, the SLA policy, a clock, the relay's wake-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from civicgrid_resources.adapters.events import OutboxWriter
from civicgrid_resources.adapters.mongo import MongoStore
from civicgrid_resources.adapters.places import PlaceDirectory
from civicgrid_resources.domain.requests import SlaPolicy


def utc_now() -> datetime:
    return datetime.now(UTC)


def _nothing() -> None:
    return None


@dataclass
class Context:
    store: MongoStore
    places: PlaceDirectory
    outbox: OutboxWriter
    sla: SlaPolicy
    points_per_hour: int = 10
    points_per_request: int = 2
    clock: Callable[[], datetime] = utc_now
    notify_relay: Callable[[], None] = field(default=_nothing)

    def now(self) -> datetime:
        # MongoDB stores milliseconds: truncate so what is read back equals what was computed.
        now = self.clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)
