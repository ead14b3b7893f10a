"""The one way services build a FastStream Kafka broker."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

from civicgrid_runtime.kafka.commits import OffsetTracker
from civicgrid_runtime.kafka.correlation import CorrelationMiddleware
from civicgrid_runtime.kafka.dlq import DeadLetterPolicy, TransientBackoff
from civicgrid_runtime.kafka.stalls import ConsumerStalls
from civicgrid_runtime.logging import FASTSTREAM_LOGGER
from civicgrid_runtime.settings import ServiceSettings
from civicgrid_runtime.topic_names import TopicNames

# FastStream's own acknowledgement is off (MANUAL): OffsetTracker commits the exact offsets of
# records whose handling finished, in batches; an error that escapes the dead-letter middleware
# seeks back so the record is consumed again. At-least-once, never ACK_FIRST's at-most-once.
CONSUMER_ACK_POLICY = AckPolicy.MANUAL
OFFSET_TRACKER = "civicgrid_offset_tracker"
CONSUMER_STALLS = "civicgrid_consumer_stalls"
DEAD_LETTER_POLICY = "civicgrid_dead_letter_policy"
TOPIC_NAMES = "civicgrid_topic_names"


def create_broker(
    settings: ServiceSettings,
    dead_letter: DeadLetterPolicy | None = None,
    offsets: OffsetTracker | None = None,
) -> KafkaBroker:
    """A broker with an idempotent ``acks=all`` producer, correlation ids and dead letters.

    Consumers hold their partition and retry for ever on transient errors (a store or the broker
    unavailable), dead-letter permanent ones at once and other errors after bounded retries (see
    :mod:`civicgrid_runtime.kafka.dlq`); :func:`consumer_stalls` tells readiness who is stalled.

    The broker carries the service's topic names (``settings.topic_suffix``, see
    :mod:`civicgrid_runtime.topic_names`): ``subscribe_events`` and ``KafkaEventPublisher`` map every
    catalogue topic through them.

    Nothing connects here; the caller starts and stops the broker in its lifespan.
    """
    policy = dead_letter or DeadLetterPolicy(
        max_attempts=settings.consumer_max_attempts,
        backoff_seconds=settings.consumer_retry_backoff_seconds,
        transient_backoff=TransientBackoff(
            settings.consumer_transient_backoff_seconds, settings.consumer_transient_backoff_cap_seconds
        ),
    )
    tracker = offsets or OffsetTracker(
        max_pending=settings.consumer_commit_every, interval=settings.consumer_commit_interval_seconds
    )
    broker = KafkaBroker(
        # A list: FastStream hands a string to aiokafka as one host, "a:9092,b:9094" included.
        [server.strip() for server in settings.kafka_bootstrap_servers.split(",") if server.strip()],
        client_id=settings.kafka_client_id or settings.service_name,
        acks="all",
        enable_idempotence=True,
        ack_policy=CONSUMER_ACK_POLICY,
        middlewares=[tracker, CorrelationMiddleware, policy],
        graceful_timeout=10.0,
        # FastStream's lines go through the root handler (JSON, personal data redacted, Kafka outages
        # rate-limited) instead of its own unredacted stdout handler.
        logger=logging.getLogger(FASTSTREAM_LOGGER),
        log_level=logging.DEBUG,  # one line per message at INFO costs more than the handling
        apply_types=False,  # handlers take the raw record (see consumer.py); no per-message DI/thread hop
    )
    policy.bind(broker)
    broker.context.set_global(OFFSET_TRACKER, tracker)
    broker.context.set_global(CONSUMER_STALLS, policy.stalls)
    broker.context.set_global(DEAD_LETTER_POLICY, policy)
    broker.context.set_global(TOPIC_NAMES, settings.topic_names())
    return broker


def topic_names(broker: KafkaBroker) -> TopicNames:
    """The topic names of the service owning ``broker`` (no suffix for a broker made elsewhere)."""
    names = broker.context.get(TOPIC_NAMES)
    return names if isinstance(names, TopicNames) else TopicNames()


def offset_tracker(broker: KafkaBroker) -> OffsetTracker:
    """The tracker of a broker made by :func:`create_broker` (flush it before stopping the broker)."""
    tracker = broker.context.get(OFFSET_TRACKER)
    if not isinstance(tracker, OffsetTracker):
        raise LookupError("this broker was not made by create_broker")
    return tracker


def dead_letter_policy(broker: KafkaBroker) -> DeadLetterPolicy:
    """The dead-letter policy of a broker made by :func:`create_broker` (metrics observe it)."""
    policy = broker.context.get(DEAD_LETTER_POLICY)
    if not isinstance(policy, DeadLetterPolicy):
        raise LookupError("this broker was not made by create_broker")
    return policy


def consumer_stalls(broker: KafkaBroker) -> ConsumerStalls:
    """The consumers of this broker holding a record on a transient error (for readiness)."""
    stalls = broker.context.get(CONSUMER_STALLS)
    if not isinstance(stalls, ConsumerStalls):
        raise LookupError("this broker was not made by create_broker")
    return stalls


async def stop_broker(broker: KafkaBroker) -> None:
    """Commit what was processed, then stop consumers and producer."""
    await offset_tracker(broker).close()
    await broker.stop()
