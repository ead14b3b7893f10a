"""Making contract events inside a service: correlation and causation filled from the context."""

from __future__ import annotations

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.base import EventPayload
from civicgrid_runtime.correlation import current_correlation_id


def make_event(
    payload: EventPayload,
    *,
    source: str,
    subject: str | None = None,
    caused_by: CloudEvent | None = None,
) -> CloudEvent:
    """A CloudEvent carrying the current correlation id (or the causing event's) and its causation."""
    correlation = (caused_by.correlationid if caused_by else None) or current_correlation_id()
    return new_event(
        payload,
        source=source,
        subject=subject,
        correlation_id=correlation,
        causation_id=caused_by.id if caused_by else None,
    )
