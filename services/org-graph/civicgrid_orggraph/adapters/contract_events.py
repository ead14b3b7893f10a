"""Domain events -> contract CloudEvents (``civicgrid_contracts.events.org``), keyed by community code."""

from __future__ import annotations

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import org
from civicgrid_contracts.events.base import EventPayload
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_runtime.correlation import current_correlation_id

SOURCE = "/civicgrid/org-graph"

PAYLOADS: dict[str, type[EventPayload]] = {
    "place.registered": org.PlaceRegistered,
    "place.updated": org.PlaceUpdated,
    "place.dissolved": org.PlaceDissolved,
    "grid.defined": org.GridDefined,
    "grid.building_moved": org.GridBuildingMoved,
    "grid.updated": org.GridUpdated,
    "grid.dissolved": org.GridDissolved,
    "organisation.updated": org.OrganisationUpdated,
    "organisation.formed": org.OrganisationFormed,
    "organisation.dissolved": org.OrganisationDissolved,
    "person.registered": org.PersonRegistered,
    "membership.started": org.MembershipStarted,
    "membership.ended": org.MembershipEnded,
    "cross_appointment.flagged": org.CrossAppointmentFlagged,
}


def to_cloud_event(event: DomainEvent, causation_id: str | None = None) -> CloudEvent:
    """Validate against the contract model (a mismatch is a bug: it raises and rolls back the write)."""
    model = PAYLOADS[event.name]
    payload = model.model_validate({**event.data, "community_code": event.community_code})
    return new_event(
        payload,
        source=SOURCE,
        subject=event.subject,
        correlation_id=current_correlation_id(),
        causation_id=causation_id,
    )
