"""12345 hotline intake: a validated inbound event becomes a request, once per ticket number."""

from __future__ import annotations

from civicgrid_contracts.catalogue import parse_payload
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.common import RequestChannel
from civicgrid_contracts.events.municipal import HotlineRequestSubmitted
from civicgrid_resources.domain.requests import Actor, Urgency
from civicgrid_resources.service_layer import requests
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ports import Cause
from civicgrid_runtime.errors import Conflict, PermanentFailure, RuleViolation

HOTLINE_ACTOR = Actor("hotline12345")


def hotline_request_id(ticket_no: str) -> str:
    """Deterministic: the same ticket delivered twice (or re-sent by 12345) is one request."""
    return f"h12345-{ticket_no}"[:64]


def cause_of(event: CloudEvent) -> Cause:
    """Events derived from an inbound event name it as their cause, and share its conversation."""
    return Cause(causation_id=event.id, correlation_id=event.correlationid or event.id)


async def take_hotline_request(ctx: Context, event: CloudEvent) -> None:
    payload = parse_payload(event, HotlineRequestSubmitted)
    request_id = hotline_request_id(payload.ticket_no)
    new = requests.NewRequest(
        request_id=request_id,
        community_code=payload.community_code,
        channel=RequestChannel.HOTLINE12345.value,
        kind=payload.kind.value,
        category=payload.category,
        urgency=Urgency(payload.urgency.value),
        summary=payload.description,
        building_code=payload.building_code,
        external_ref=payload.ticket_no,
        address=payload.address,
        received_at=payload.received_at,  # the ticket's own time: its time limit starts there
    )
    if await ctx.uow.requests.find(request_id) is not None:
        return  # a redelivery, or 12345 sent the ticket again: taken already
    try:
        await requests.receive(ctx, new, HOTLINE_ACTOR, strict=False, cause=cause_of(event))
    except RuleViolation as violation:
        # e.g. a community this city's projection does not know: retrying cannot help.
        raise PermanentFailure(f"ticket {payload.ticket_no}: {violation.message}") from None
    except Conflict:
        return  # the same ticket raced in from a redelivery with other values: the first one stays
