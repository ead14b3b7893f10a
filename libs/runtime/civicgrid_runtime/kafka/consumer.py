"""Subscribing to contract topics: CloudEvents parsed at the edge, handlers chosen by event type."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord
from aiokafka.structs import TopicPartition
from faststream.kafka import KafkaBroker
from faststream.kafka.message import FAKE_CONSUMER, KafkaAckableMessage
from faststream.kafka.schemas import Topic
from faststream.message import StreamMessage
from structlog.contextvars import bind_contextvars, reset_contextvars

from civicgrid_contracts.catalogue import redrive_topic
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.errors import UnknownEventType
from civicgrid_runtime import tracing
from civicgrid_runtime.correlation import CORRELATION_KEY
from civicgrid_runtime.kafka.broker import dead_letter_policy, offset_tracker, topic_names
from civicgrid_runtime.kafka.commits import OffsetTracker
from civicgrid_runtime.kafka.correlation import CORRELATION_HEADER
from civicgrid_runtime.kafka.dlq import DeadLetterPolicy
from civicgrid_runtime.logging import get_logger

EventHandler = Callable[[CloudEvent], Awaitable[None]]
Records = tuple[ConsumerRecord[bytes, bytes], ...]
RecordKey = Callable[[ConsumerRecord[bytes, bytes]], Hashable]
"""What a concurrent subscriber orders by: records with equal keys are handled one after the other,
in offset order; records with different keys may be handled at the same time."""

log = get_logger(__name__)

# A batch is what one poll returns, up to this many records (handled one after the other, so a slow
# handler times the poll interval by this much: keep it well under max_poll_interval_ms).
BATCH_MAX_RECORDS = 100
# How long a poll waits for records when there are none (a poll returns as soon as one arrives).
POLL_TIMEOUT_MS = 1000


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


async def _batch_parser(records: tuple[ConsumerRecord[Any, Any], ...], original: Any) -> StreamMessage[Any]:
    """A batch as one message, its records untouched: FastStream's own parser would decode every
    header of every record, which ``CloudEvent.from_kafka`` does anyway (and strictly)."""
    first = records[0]
    return KafkaAckableMessage(
        raw_message=records,
        body=b"",
        message_id=f"{first.topic}-{first.partition}-{first.offset}",
        correlation_id=f"{first.topic}-{first.partition}-{first.offset}",
        consumer=FAKE_CONSUMER,
    )


def _log_context_vars(*keys: str) -> tuple[ContextVar[Any], ...]:
    """structlog's context variables for ``keys`` (what ``bind_contextvars`` sets), to be set and
    reset directly per record: the same effect without formatting and looking up each key's name on
    every record."""
    tokens = bind_contextvars(**dict.fromkeys(keys))
    reset_contextvars(**tokens)
    return tuple(token.var for token in tokens.values())


RECORD_VARS = _log_context_vars(CORRELATION_KEY, "topic", "offset")
EVENT_VARS = _log_context_vars("event_id", "event_type")


def _poll_without_sleeping(subscriber: Any) -> None:
    """FastStream's batch subscriber sleeps ``batch_timeout_ms`` after an empty poll, and a record
    arriving meanwhile waits for the sleep to end: on a loaded machine (a publisher paused for a few
    tens of ms) that is a latency tail. Its poll is replaced by a long poll that returns as soon as a
    record is there and, when idle, simply polls again."""
    max_records = getattr(subscriber, "max_records", None)

    async def get_msg(consumer: AIOKafkaConsumer) -> Records:
        batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=max_records)
        return tuple(record for batch in batches.values() for record in batch)

    if callable(getattr(subscriber, "get_msg", None)):
        subscriber.get_msg = get_msg


def _correlation_of(headers: Sequence[tuple[str, bytes]]) -> str:
    """The record's correlation id (``ce_correlationid``, else ``correlation_id``), or a new one."""
    found: bytes | None = None
    fallback: bytes | None = None
    for name, value in headers:
        if name == CORRELATION_HEADER:
            found = value
        elif name == "correlation_id":
            fallback = value
    raw = found or fallback
    # A new one like new_correlation_id()'s (32 hex digits), without uuid4's cost on every record.
    return raw.decode("utf-8", "replace") if raw else os.urandom(16).hex()


def _rewind(consumer: AIOKafkaConsumer, records: Iterable[ConsumerRecord[Any, Any]]) -> None:
    """Seek every partition with an unfinished record back to its earliest one: those records are
    read again (none is skipped; records already finished are not handled twice)."""
    earliest: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        if tp not in earliest or record.offset < earliest[tp]:
            earliest[tp] = record.offset
    assigned = consumer.assignment()
    for tp, offset in earliest.items():
        if tp in assigned:  # a partition moved away is read from its committed offset by its new owner
            with contextlib.suppress(Exception):
                consumer.seek(tp, offset)


class _CommitBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before this member's partitions move, commit what it finished: their next owner starts right
    after it, not at the last periodic commit. A rebalance also tells the batch loop to drop the rest
    of its batch: aiokafka revokes every partition (eager protocol) and restarts each position from
    the committed offset, so those records are read again, by this member or the next owner."""

    def __init__(self, tracker: OffsetTracker | None, subscriber: list[Any]) -> None:
        self.tracker = tracker
        self.subscriber = subscriber
        self.revocations = 0

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked:
            return
        self.revocations += 1
        consumer = getattr(self.subscriber[0], "consumer", None) if self.subscriber else None
        if self.tracker is not None and isinstance(consumer, AIOKafkaConsumer):
            await self.tracker.commit_now(consumer)
            self.tracker.forget(consumer, revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


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
    key: RecordKey | None = None,
    max_in_flight: int = 1,
) -> None:
    """Register one consumer-group subscriber for ``topics``.

    A record that is not a valid CloudEvent raises ``InvalidEvent`` and goes to the dead-letter
    topic; a handler that keeps failing goes there after the broker's bounded retries. Event types
    the installed contracts do not know (e.g. a ``.v2`` published beside ``.v1``) are skipped, unless
    ``skip_unknown_types`` is False (inbound municipal topics), in which case they are dead-lettered.

    With one consumer (the default) records are fetched in batches (up to ``max_poll_records``,
    default 100) and handled one after the other, each under the broker's dead-letter policy
    with its correlation id bound; each is noted for the next offset commit as soon as its handler
    returned (commits are batched and asynchronous, :mod:`.commits`). A record whose handling
    escapes the policy (the consumer stopping during a stall, a dead letter that cannot be sent)
    rewinds every partition to its first unfinished record, so nothing is skipped.

    **Concurrent handling** is an opt-in: with ``key`` (a function of the Kafka record) and
    ``max_in_flight`` > 1, a batch's records are grouped by key; each group is handled in offset
    order, one record after the other, and up to ``max_in_flight`` records of different groups at
    once. The next poll waits until the whole batch is finished (so a key's records of the next
    batch never overtake this batch's). Every guarantee above holds per record: the batch's records
    are begun with the offset tracker first, so a commit never passes one whose handler has not
    returned, whatever finished after it (:meth:`.OffsetTracker.begin`); a transient fault holds its
    record (and its key's later records) and the partition's commit, while other keys go on; an
    escape stops every group before its next record, waits for those running, and rewinds each
    partition to its first unfinished record. Choose a key under which facts that must stay in
    order (that touch the same documents) are equal: e.g. the record key (the community code) keeps
    a community's facts in order, as a partition does, across the group's topics. A ``key``
    returning None orders by partition. The redrive member stays sequential.

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
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    if max_in_flight > 1 and (key is None or consumers > 1):
        raise ValueError("concurrent handling (max_in_flight > 1) needs a key and one consumer")
    if not group_id:
        raise ValueError("every subscriber needs a group_id")
    topics = topic_names(broker).names(topics)
    try:
        tracker: OffsetTracker | None = offset_tracker(broker)
        policy: DeadLetterPolicy | None = dead_letter_policy(broker)
    except LookupError:  # a broker made elsewhere: FastStream's own acknowledgement, no policy
        tracker = policy = None

    async def consume(record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = CloudEvent.from_kafka(record.key, record.value or b"", record.headers or ())
        except UnknownEventType as unknown:
            if not skip_unknown_types:
                raise
            log.info("skipped an event type this consumer does not know", event_type=unknown.event_type)
            return
        handler = routes.handler_for(event.type)
        if handler is None:
            return
        event_id, event_type = EVENT_VARS
        id_token, type_token = event_id.set(event.id), event_type.set(event.type)
        try:
            if tracing.ENABLED:  # the handler continues the record's trace
                with tracing.processing(record, event, group_id):
                    await handler(event)
            else:
                await handler(event)
        finally:
            event_type.reset(type_token)
            event_id.reset(id_token)

    async def handle(record: ConsumerRecord[bytes, bytes], consumer: Any, sub: Any) -> None:
        """One record under the dead-letter policy, its correlation id and position bound for logs."""
        correlation, topic, offset = RECORD_VARS
        correlation_token = correlation.set(_correlation_of(record.headers or ()))
        topic_token, offset_token = topic.set(record.topic), offset.set(record.offset)
        try:
            if policy is None:
                await consume(record)
            else:
                await policy.handle(
                    lambda: consume(record),
                    record,
                    consumer=consumer,
                    group_id=group_id,
                    subscriber=sub,
                )
        finally:
            offset.reset(offset_token)
            topic.reset(topic_token)
            correlation.reset(correlation_token)

    def batch_consumer(
        subscriber: list[Any], rebalances: _CommitBeforeRevoke
    ) -> Callable[[Records], Awaitable[None]]:
        async def consume_batch(records: Records) -> None:
            sub = subscriber[0]
            consumer = sub.consumer
            revocations = rebalances.revocations
            for index, record in enumerate(records):
                if not sub.running or rebalances.revocations != revocations:
                    # Stopping, or the group rebalanced: the rest is not committed and is read again.
                    if isinstance(consumer, AIOKafkaConsumer):
                        _rewind(consumer, records[index:])
                    return
                try:
                    await handle(record, consumer, sub)
                except BaseException:
                    if isinstance(consumer, AIOKafkaConsumer):
                        _rewind(consumer, records[index:])
                    raise
                if tracker is not None and isinstance(consumer, AIOKafkaConsumer):  # not in-memory
                    tracker.note(consumer, record.topic, record.partition, record.offset)

        return consume_batch

    def concurrent_batch_consumer(
        subscriber: list[Any], rebalances: _CommitBeforeRevoke, key_of: RecordKey
    ) -> Callable[[Records], Awaitable[None]]:
        async def consume_batch(records: Records) -> None:
            sub = subscriber[0]
            consumer = sub.consumer
            revocations = rebalances.revocations
            tracked = tracker is not None and isinstance(consumer, AIOKafkaConsumer)
            if tracked:
                assert tracker is not None
                tracker.begin(consumer, records)
            groups: dict[Hashable, list[ConsumerRecord[bytes, bytes]]] = {}
            for record in records:
                group = key_of(record)
                groups.setdefault(
                    ("partition", record.topic, record.partition) if group is None else group, []
                ).append(record)
            slots = asyncio.Semaphore(max_in_flight)
            unfinished: list[ConsumerRecord[bytes, bytes]] = []
            escaped: list[BaseException] = []

            async def in_order(group: list[ConsumerRecord[bytes, bytes]]) -> None:
                for index, record in enumerate(group):
                    if escaped or not sub.running or rebalances.revocations != revocations:
                        unfinished.extend(group[index:])  # read again (stopping, rebalanced, escaped)
                        return
                    async with slots:
                        try:
                            await handle(record, consumer, sub)
                        except BaseException as error:
                            escaped.append(error)
                            unfinished.extend(group[index:])
                            return
                    # After a rebalance the partition's next owner reads from the committed offset:
                    # a record finished here now is not noted (its holds are forgotten).
                    if tracked and rebalances.revocations == revocations:
                        assert tracker is not None
                        tracker.note(consumer, record.topic, record.partition, record.offset)

            try:
                await asyncio.gather(*(in_order(group) for group in groups.values()))
            finally:
                if unfinished and isinstance(consumer, AIOKafkaConsumer):
                    _rewind(consumer, unfinished)
            if escaped:
                raise escaped[0]

        return consume_batch

    name = group_id.replace("-", "_").replace(".", "_")
    if consumers > 1:
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
    else:
        main: list[Any] = []
        main_rebalances = _CommitBeforeRevoke(tracker, main)
        handle_batch = (
            concurrent_batch_consumer(main, main_rebalances, key)
            if key is not None and max_in_flight > 1
            else batch_consumer(main, main_rebalances)
        )
        handle_batch.__name__ = f"consume_{name}"
        main.append(
            broker.subscriber(
                *topics,
                group_id=group_id,
                auto_offset_reset=auto_offset_reset,
                max_poll_records=max_poll_records,
                max_poll_interval_ms=max_poll_interval_ms,
                batch=True,
                listener=main_rebalances,
                max_records=max_poll_records or BATCH_MAX_RECORDS,
                batch_timeout_ms=POLL_TIMEOUT_MS,
                decoder=_raw_record,
                parser=_batch_parser,
            )
        )
        main[0](handle_batch)
        _poll_without_sleeping(main[0])
    if not redrive:
        return

    # A second member of the same group, subscribed to the redrive topic only (the group's
    # assignor gives each topic's partitions to the members subscribed to it). Always from the
    # earliest offset: a redrive sent before the group's first start is not missed.
    redriven: list[Any] = []
    redrive_rebalances = _CommitBeforeRevoke(tracker, redriven)
    handle_redriven = batch_consumer(redriven, redrive_rebalances)
    handle_redriven.__name__ = f"consume_redriven_{name}"
    redriven.append(
        broker.subscriber(
            Topic(redrive_topic(group_id), num_partitions=1),
            group_id=group_id,
            auto_offset_reset="earliest",
            batch=True,
            listener=redrive_rebalances,
            max_records=BATCH_MAX_RECORDS,
            batch_timeout_ms=POLL_TIMEOUT_MS,
            decoder=_raw_record,
            parser=_batch_parser,
            include_in_schema=False,
        )
    )
    redriven[0](handle_redriven)
    _poll_without_sleeping(redriven[0])


def topics_of(routes: Iterable[str], topic_for: Callable[[str], str]) -> list[str]:
    """The distinct topics carrying the given event types, in a stable order."""
    return sorted({topic_for(event_type) for event_type in routes})
