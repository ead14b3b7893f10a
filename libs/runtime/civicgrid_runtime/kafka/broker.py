"""The one way services build a FastStream Kafka broker."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

from civicgrid_runtime.kafka.commits import OffsetTracker
from civicgrid_runtime.kafka.correlation import CorrelationMiddleware
from civicgrid_runtime.kafka.dlq import DeadLetterPolicy
from civicgrid_runtime.settings import ServiceSettings

# FastStream's own acknowledgement is off (MANUAL): OffsetTracker commits the exact offsets of
# records whose handling finished, in batches; an error that escapes the dead-letter middleware
# seeks back so the record is consumed again. At-least-once, never ACK_FIRST's at-most-once.
CONSUMER_ACK_POLICY = AckPolicy.MANUAL
OFFSET_TRACKER = "civicgrid_offset_tracker"


def create_broker(
    settings: ServiceSettings,
    dead_letter: DeadLetterPolicy | None = None,
    offsets: OffsetTracker | None = None,
) -> KafkaBroker:
    """A broker with an idempotent ``acks=all`` producer, correlation ids and dead letters.

    Nothing connects here; the caller starts and stops the broker in its lifespan.
    """
    policy = dead_letter or DeadLetterPolicy(
        max_attempts=settings.consumer_max_attempts,
        backoff_seconds=settings.consumer_retry_backoff_seconds,
    )
    tracker = offsets or OffsetTracker(
        max_pending=settings.consumer_commit_every, interval=settings.consumer_commit_interval_seconds
    )
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id or settings.service_name,
        acks="all",
        enable_idempotence=True,
        ack_policy=CONSUMER_ACK_POLICY,
        middlewares=[tracker, CorrelationMiddleware, policy],
        graceful_timeout=10.0,
        log_level=logging.DEBUG,  # one line per message at INFO costs more than the handling
        apply_types=False,  # handlers take the raw record (see consumer.py); no per-message DI/thread hop
    )
    policy.bind(broker)
    broker.context.set_global(OFFSET_TRACKER, tracker)
    return broker


def offset_tracker(broker: KafkaBroker) -> OffsetTracker:
    """The tracker of a broker made by :func:`create_broker` (flush it before stopping the broker)."""
    tracker = broker.context.get(OFFSET_TRACKER)
    if not isinstance(tracker, OffsetTracker):
        raise LookupError("this broker was not made by create_broker")
    return tracker


async def stop_broker(broker: KafkaBroker) -> None:
    """Commit what was processed, then stop consumers and producer."""
    await offset_tracker(broker).close()
    await broker.stop()
