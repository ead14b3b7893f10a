"""Kafka: org-graph, resources and deliberation facts -> EventNotifier (routing as data, idempotent by
event id)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import all_specs, all_topics, topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_notifications.service_layer.notify import EventNotifier
from civicgrid_runtime.idempotency import Inbox, idempotent
from civicgrid_runtime.kafka import EventRoutes, subscribe_events
from civicgrid_runtime.kafka.consumer import topics_of

CONSUMER = "notifications.facts"
PRODUCERS = ("org-graph", "resources", "deliberation")


def community_of(record: ConsumerRecord[bytes, bytes]) -> Hashable:
    """The order key of concurrent handling: the record key, the fact's community code (every
    CivicGrid event's ``partitionkey``; a record without one orders by its partition).

    Why it is safe: facts about one membership, organisation, household, request or grid are all
    keyed by their community, so they stay on one partition and are applied in offset order, never
    two at once, across this consumer's topics too (an organisation's and its memberships' facts
    share the key). Facts of different communities touch different projection documents
    (memberships, organisations, places, grids, teams, requests and households belong to one
    community; entries and inbox marks are new documents). What two communities can share: the
    feed's sequence counter (reserved one at a time in this process, ``MongoFeedStore.next_seq``), a
    person appointed in two communities (``$setOnInsert`` upserts that tolerate the insert race)
    and that person's ``audience_changes`` mark (either write tells their streams to recompute).
    Facts of one person in two communities were on two partitions before too: never ordered."""
    key: bytes | None = record.key
    return key


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
    max_in_flight: int = 1,
) -> list[str]:
    """Subscribe the notifier; returns the topics consumed.

    With ``max_in_flight`` > 1, facts of different communities are handled at once, each
    community's in order (:func:`community_of`)."""

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
        key=community_of,
        max_in_flight=max_in_flight,
    )
    return topics_of(types, topic_for)
