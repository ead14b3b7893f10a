"""Kafka consumers: org-graph's organisations, posts and households into this service's projections.

Routing is data (``projections.ORG_FACTS``, ``HOUSEHOLD_FACTS``: payload class → handler). Every
handler is idempotent: by event id (the inbox) and by what it writes (upserts; households by version).
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import parse_payload
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.base import EventPayload
from civicgrid_deliberation.adapters.events import HOUSEHOLDS, MEMBERSHIPS, ORGANISATIONS
from civicgrid_deliberation.service_layer.ports import ProjectionStore
from civicgrid_deliberation.service_layer.projections import HOUSEHOLD_FACTS, ORG_FACTS, Handler
from civicgrid_runtime.idempotency import Inbox, idempotent
from civicgrid_runtime.kafka import EventHandler, EventRoutes, subscribe_events


def _route(store: ProjectionStore, inbox: Inbox, model: type[EventPayload], handler: Handler) -> EventHandler:
    async def handle(event: CloudEvent) -> None:
        await handler(store, parse_payload(event, model))

    return idempotent("deliberation-projection", inbox, handle)


def org_routes(store: ProjectionStore, inbox: Inbox) -> EventRoutes:
    return EventRoutes({m.event_type: _route(store, inbox, m, h) for m, h in ORG_FACTS.items()})


def household_routes(store: ProjectionStore, inbox: Inbox) -> EventRoutes:
    return EventRoutes({m.event_type: _route(store, inbox, m, h) for m, h in HOUSEHOLD_FACTS.items()})


def subscribe(broker: KafkaBroker, store: ProjectionStore, inbox: Inbox, group_id: str) -> None:
    subscribe_events(
        broker,
        topics=[ORGANISATIONS, MEMBERSHIPS],
        group_id=f"{group_id}.org",
        routes=org_routes(store, inbox),
    )
    subscribe_events(
        broker, topics=[HOUSEHOLDS], group_id=f"{group_id}.households", routes=household_routes(store, inbox)
    )
