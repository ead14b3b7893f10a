"""Kafka consumers: org-graph's places (the local projection), org-graph's appointments to grid
posts (into the grid's team), the 12345 hotline intake and the resolutions adopted in deliberation
(onto the needs list).

Routing is data: event type → handler. Every handler is idempotent: the projection by event id
(the inbox) and by only setting values, the hotline intake by ticket number. Bad hotline records go
to the dead-letter topic.
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import all_specs, parse_payload, topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import deliberation, municipal, org
from civicgrid_contracts.events.base import EventPayload
from civicgrid_resources.adapters.topics import DELIBERATION, HOTLINE, MEMBERSHIPS, PLACES, Topics
from civicgrid_resources.service_layer.appointments import (
    TermStarted,
    take_person_registered,
    take_term_ended,
    take_term_started,
)
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.intake import take_hotline_request
from civicgrid_resources.service_layer.needs import take_resolution
from civicgrid_resources.service_layer.ports import Cause
from civicgrid_runtime.errors import PermanentFailure
from civicgrid_runtime.idempotency import idempotent
from civicgrid_runtime.kafka import EventHandler, EventRoutes, subscribe_events

PLACE_FACTS: tuple[type[EventPayload], ...] = (
    org.PlaceRegistered,
    org.PlaceUpdated,
    org.PlaceDissolved,
    org.GridDefined,
    org.GridUpdated,
    org.GridDissolved,
    org.GridBuildingMoved,
    org.GridBuildingAssigned,
)


def _projection(ctx: Context, model: type[EventPayload]) -> EventHandler:
    async def handle(event: CloudEvent) -> None:
        await ctx.places.apply(parse_payload(event, model))

    return idempotent("places-projection", ctx.inbox, handle)


def places_routes(ctx: Context) -> EventRoutes:
    return EventRoutes({model.event_type: _projection(ctx, model) for model in PLACE_FACTS})


def _cause(event: CloudEvent) -> Cause:
    return Cause(causation_id=event.id, correlation_id=event.correlationid or event.id)


def membership_routes(ctx: Context) -> EventRoutes:
    """``membership.started`` / ``.ended`` of grid posts → the grid's team; ``person.registered`` →
    the names those members are shown under (cross-appointment flags are skipped). Idempotent by
    event id (the inbox), and each step only converges, so a fact handled again after a crash
    finishes what it began."""

    async def started(event: CloudEvent) -> None:
        fact = parse_payload(event, org.MembershipStarted)
        term = TermStarted(
            fact.membership_id, fact.person_id, fact.community_code, fact.grid_id, fact.post, fact.start_date
        )
        await take_term_started(ctx, term, _cause(event))

    async def ended(event: CloudEvent) -> None:
        fact = parse_payload(event, org.MembershipEnded)
        await take_term_ended(ctx, fact.membership_id, fact.end_date, _cause(event))

    async def registered(event: CloudEvent) -> None:
        fact = parse_payload(event, org.PersonRegistered)
        await take_person_registered(ctx, fact.person_id, fact.display_name)

    return EventRoutes(
        {
            org.PersonRegistered.event_type: registered,  # only sets a value: idempotent as it is
            org.MembershipStarted.event_type: idempotent("grid-appointments", ctx.inbox, started),
            org.MembershipEnded.event_type: idempotent("grid-appointments", ctx.inbox, ended),
        }
    )


async def misrouted(event: CloudEvent) -> None:
    """A valid event of a type that belongs on another topic (a population report sent to the 12345
    topic): nothing here can take it, and committing it silently would lose it."""
    raise PermanentFailure(
        f"{event.type} belongs on {topic_for(event.type)}, not on {HOTLINE}: "
        f"this topic carries only {municipal.HotlineRequestSubmitted.event_type}"
    )


def hotline_routes(ctx: Context) -> EventRoutes:
    async def handle(event: CloudEvent) -> None:
        await take_hotline_request(ctx, event)

    # Idempotent by ticket number: the request id is derived from it, and inserting it twice fails;
    # so a redelivered event (same id) and a ticket re-sent by 12345 (new id) both change nothing.
    taken = municipal.HotlineRequestSubmitted.event_type
    return EventRoutes({taken: handle} | {spec.type: misrouted for spec in all_specs() if spec.type != taken})


def resolution_routes(ctx: Context) -> EventRoutes:
    adopted = deliberation.ResolutionAdopted

    async def handle(event: CloudEvent) -> None:
        await take_resolution(ctx, parse_payload(event, adopted), _cause(event))

    return EventRoutes({adopted.event_type: handle})  # idempotent by the need id it derives


def subscribe(
    broker: KafkaBroker, ctx: Context, topics: Topics, group_id: str, hotline_consumers: int = 1
) -> None:
    subscribe_events(
        broker, topics=[topics.name(PLACES)], group_id=f"{group_id}.places", routes=places_routes(ctx)
    )
    subscribe_events(
        broker,
        topics=[topics.name(MEMBERSHIPS)],
        group_id=f"{group_id}.memberships",
        routes=membership_routes(ctx),
    )
    subscribe_events(
        broker,
        topics=[topics.name(HOTLINE)],
        group_id=f"{group_id}.hotline",
        routes=hotline_routes(ctx),
        skip_unknown_types=False,
        consumers=hotline_consumers,  # partitions shared among them: intake runs that many at once
    )
    subscribe_events(
        broker,
        topics=[topics.name(DELIBERATION)],
        group_id=f"{group_id}.deliberation",
        routes=resolution_routes(ctx),
    )
