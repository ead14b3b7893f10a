"""Inbound municipal events: the 12345 hotline and population statistics. Validated at the edge."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from civicgrid_contracts.events.base import EventPayload
from civicgrid_contracts.events.common import RequestKind, Urgency
from civicgrid_contracts.values import FreeText, Identifier, MaskedPhone, PlaceCode, ShortText


class HotlineRequestSubmitted(EventPayload):
    """The 12345 hotline platform handed over a resident's request for a community."""

    event_type = "cn.civicgrid.municipal.hotline12345.request.submitted.v1"

    ticket_no: Identifier
    received_at: AwareDatetime
    kind: RequestKind
    category: ShortText = Field(description="The hotline's category (GB/T 39666 code or name).")
    urgency: Urgency
    address: FreeText
    building_code: PlaceCode | None = None
    description: FreeText
    caller_phone: MaskedPhone | None = Field(default=None, description="Masked; null if anonymous.")


class PopulationReported(EventPayload):
    """Statistics reported a community's population and households as of a date."""

    event_type = "cn.civicgrid.municipal.statistics.population.reported.v1"

    as_of: date
    residents: int = Field(ge=0)
    households: int = Field(ge=0)
