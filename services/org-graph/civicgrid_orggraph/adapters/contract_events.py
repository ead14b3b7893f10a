"""Domain events -> contract CloudEvents (``civicgrid_contracts.events.org``), keyed by community code."""

from __future__ import annotations

from pydantic import ValidationError

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import households, org
from civicgrid_contracts.events.base import EventPayload
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_runtime.correlation import current_correlation_id
from civicgrid_runtime.errors import InvalidInput

SOURCE = "/civicgrid/org-graph"

PAYLOADS: dict[str, type[EventPayload]] = {
    "place.registered": org.PlaceRegistered,
    "place.updated": org.PlaceUpdated,
    "place.dissolved": org.PlaceDissolved,
    "grid.defined": org.GridDefined,
    "grid.building_moved": org.GridBuildingMoved,
    "grid.building_assigned": org.GridBuildingAssigned,
    "grid.updated": org.GridUpdated,
    "grid.dissolved": org.GridDissolved,
    "organisation.updated": org.OrganisationUpdated,
    "organisation.formed": org.OrganisationFormed,
    "organisation.dissolved": org.OrganisationDissolved,
    "person.registered": org.PersonRegistered,
    "membership.started": org.MembershipStarted,
    "membership.ended": org.MembershipEnded,
    "cross_appointment.flagged": org.CrossAppointmentFlagged,
    "household.registered": households.HouseholdRegistered,
    "household.updated": households.HouseholdUpdated,
    "household.removed": households.HouseholdRemoved,
}


def to_cloud_event(
    event: DomainEvent, causation_id: str | None = None, correlation_id: str | None = None
) -> CloudEvent:
    """Validate against the contract model; what it refuses rolls the write back as a 422 naming the fields.

    Inputs are checked at the edge with the same rules, so this is a second line: whatever slips through
    (a rule added to the contracts later, a field a use case derives) is refused, never a 500, and the
    refused value is neither repeated nor chained into the traceback (it may be a phone number)."""
    model = PAYLOADS[event.name]
    try:
        payload = model.model_validate({**event.data, "community_code": event.community_code})
    except ValidationError as error:
        problems = [
            ".".join(str(p) for p in e["loc"]) + ": " + str(e["msg"]).removeprefix("Value error, ")
            for e in error.errors()
        ]
        raise InvalidInput("; ".join(problems), event_type=model.event_type) from None
    return new_event(
        payload,
        source=SOURCE,
        subject=event.subject,
        correlation_id=correlation_id or current_correlation_id(),
        causation_id=causation_id,
    )
