"""What every use case is given: the ports (``ports.py``), the SLA policy, the points rates, a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from civicgrid_resources.domain.requests import SlaPolicy
from civicgrid_resources.service_layer.ports import (
    Appointments,
    Clock,
    Dashboards,
    Deadlines,
    Directory,
    Inbox,
    Maintenance,
    UnitOfWork,
    Views,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_millis(value: datetime) -> datetime:
    """MongoDB stores milliseconds: truncate so what is read back equals what was computed."""
    value = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@dataclass
class Context:
    uow: UnitOfWork
    places: Directory
    views: Views
    dashboards: Dashboards
    deadlines: Deadlines
    maintenance: Maintenance
    inbox: Inbox
    sla: SlaPolicy
    appointments: Appointments
    points_per_hour: int = 10
    points_per_request: int = 2
    clock: Clock = utc_now

    def now(self) -> datetime:
        return to_millis(self.clock())
