"""Kafka: org-graph, resources and deliberation facts -> EventNotifier (routing as data, idempotent by
event id)."""

from __future__ import annotations

from typing import Literal

from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import all_specs, all_topics, topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_notifications.service_layer.notify import EventNotifier
from civicgrid_runtime.idempotency import Inbox, idempotent
from civicgrid_runtime.kafka import EventRoutes, subscribe_events
from civicgrid_runtime.kafka.consumer import topics_of

CONSUMER = "notifications.facts"
PRODUCERS = ("org-graph", "resources", "deliberation")


def consumed_event_types() -> list[str]:
    """Every org-graph, resources and deliberation event: all feed the projections, some also notify."""
    owned = {t.name for t in all_topics() if t.owner in PRODUCERS and t.dead_letter_of is None}
    return [s.type for s in all_specs() if s.topic in owned]


def subscribe(
    broker: KafkaBroker,
    notifier: EventNotifier,
    inbox: Inbox,
    group_id: str,
    offset_reset: Literal["earliest", "latest"] = "earliest",
) -> list[str]:
    """Subscribe the notifier; returns the topics consumed."""

    async def handle(event: CloudEvent) -> None:
        await notifier.handle(event)

    once = idempotent(CONSUMER, inbox, handle)
    types = consumed_event_types()
    subscribe_events(
        broker,
        topics=topics_of(types, topic_for),
        group_id=group_id,
        routes=EventRoutes(dict.fromkeys(types, once)),
        auto_offset_reset=offset_reset,
    )
    return topics_of(types, topic_for)
