"""Subscribing to contract topics: CloudEvents parsed at the edge, handlers chosen by event type."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.schemas import Topic
from faststream.message import StreamMessage

from civicgrid_contracts.catalogue import redrive_topic
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.errors import UnknownEventType
from civicgrid_runtime.kafka.broker import topic_names
from civicgrid_runtime.logging import get_logger

EventHandler = Callable[[CloudEvent], Awaitable[None]]

log = get_logger(__name__)


class EventRoutes:
    """Routing as data: which handler takes which event type. Other types on a topic are skipped."""

    def __init__(self, routes: Mapping[str, EventHandler] | None = None) -> None:
        self._routes: dict[str, EventHandler] = dict(routes or {})

    def add(self, event_type: str, handler: EventHandler) -> None:
        if event_type in self._routes:
            raise ValueError(f"{event_type} already has a handler")
        self._routes[event_type] = handler

    def handler_for(self, event_type: str) -> EventHandler | None:
        return self._routes.get(event_type)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._routes)


async def _raw_record(msg: StreamMessage[Any]) -> Any:
    """Hand the handler the Kafka record itself: FastStream never decodes (a decoding error there
    would bypass the dead-letter middleware) and needs no dependency injection per message."""
    return msg.raw_message


async def _tolerant_parser(
    record: ConsumerRecord[Any, Any], original: Callable[..., Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    try:
        return await original(record)
    except UnicodeDecodeError:
        headers = [(k, v.decode("utf-8", "replace").encode()) for k, v in (record.headers or ())]
        return await original(dataclasses.replace(record, headers=headers))


def subscribe_events(
    broker: KafkaBroker,
    *,
    topics: Sequence[str],
    group_id: str,
    routes: EventRoutes,
    auto_offset_reset: Literal["latest", "earliest", "none"] = "earliest",
    max_poll_records: int | None = None,
    skip_unknown_types: bool = True,
    consumers: int = 1,
    redrive: bool = True,
    max_poll_interval_ms: int = 300_000,
) -> None:
    """Register one consumer-group subscriber for ``topics``.

    A record that is not a valid CloudEvent raises ``InvalidEvent`` and goes to the dead-letter
    topic; a handler that keeps failing goes there after the broker's bounded retries. Event types
    the installed contracts do not know (e.g. a ``.v2`` published beside ``.v1``) are skipped, unless
    ``skip_unknown_types`` is False (inbound municipal topics), in which case they are dead-lettered.

    ``consumers`` > 1 (one topic only) runs that many consumers of the group in this process: the
    topic's partitions are shared among them, each consumes its partitions one record at a time (so
    offsets are still committed only after processing, per partition), and up to ``consumers``
    records are handled at once.

    With ``redrive`` (the default) the group also listens on its own redrive topic,
    ``civicgrid.redrive.<group_id>`` (one partition), through the same routes: ``./civicgrid dlq
    redrive`` copies the group's dead letters there, so only the group that rejected a record sees
    it again. Handlers are idempotent by event id, so a record redriven twice changes nothing.

    ``topics`` are catalogue names; the subscriber listens on the service's names for them (its
    ``topic_suffix``, recorded on the broker by ``create_broker``). Names already mapped are kept.
    """
    if consumers > 1 and len(topics) != 1:
        raise ValueError("several consumers in one process need exactly one topic")
    if not group_id:
        raise ValueError("every subscriber needs a group_id")
    topics = topic_names(broker).names(topics)

    async def consume(record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = CloudEvent.from_kafka(record.key, record.value or b"", list(record.headers or ()))
        except UnknownEventType as unknown:
            if not skip_unknown_types:
                raise
            log.info("skipped an event type this consumer does not know", event_type=unknown.event_type)
            return
        handler = routes.handler_for(event.type)
        if handler is None:
            return
        with structlog.contextvars.bound_contextvars(event_id=event.id, event_type=event.type):
            await handler(event)

    name = group_id.replace("-", "_").replace(".", "_")
    consume.__name__ = f"consume_{name}"
    broker.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset=auto_offset_reset,
        max_poll_records=max_poll_records,
        max_poll_interval_ms=max_poll_interval_ms,
        decoder=_raw_record,
        parser=_tolerant_parser,
        max_workers=consumers,
    )(consume)
    if not redrive:
        return

    async def consume_redriven(record: ConsumerRecord[bytes, bytes]) -> None:
        await consume(record)

    consume_redriven.__name__ = f"consume_redriven_{name}"
    # A second member of the same group, subscribed to the redrive topic only (the group's
    # assignor gives each topic's partitions to the members subscribed to it). Always from the
    # earliest offset: a redrive sent before the group's first start is not missed.
    broker.subscriber(
        Topic(redrive_topic(group_id), num_partitions=1),
        group_id=group_id,
        auto_offset_reset="earliest",
        decoder=_raw_record,
        parser=_tolerant_parser,
        include_in_schema=False,
    )(consume_redriven)


def topics_of(routes: Iterable[str], topic_for: Callable[[str], str]) -> list[str]:
    """The distinct topics carrying the given event types, in a stable order."""
    return sorted({topic_for(event_type) for event_type in routes})
