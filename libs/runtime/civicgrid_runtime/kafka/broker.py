"""The one way services build a FastStream Kafka broker."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

from civicgrid_runtime.kafka.correlation import CorrelationMiddleware
from civicgrid_runtime.kafka.dlq import DeadLetterPolicy
from civicgrid_runtime.settings import ServiceSettings

# Offsets are committed only after the handler returned (or the dead-letter middleware took the
# message). An error that escapes everything (e.g. the dead-letter publish failed) seeks back, so
# the message is consumed again: at-least-once, never ACK_FIRST's at-most-once.
CONSUMER_ACK_POLICY = AckPolicy.NACK_ON_ERROR


def create_broker(settings: ServiceSettings, dead_letter: DeadLetterPolicy | None = None) -> KafkaBroker:
    """A broker with an idempotent ``acks=all`` producer, correlation ids and dead letters.

    Nothing connects here; the caller starts and stops the broker in its lifespan.
    """
    policy = dead_letter or DeadLetterPolicy(
        max_attempts=settings.consumer_max_attempts,
        backoff_seconds=settings.consumer_retry_backoff_seconds,
    )
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id or settings.service_name,
        acks="all",
        enable_idempotence=True,
        ack_policy=CONSUMER_ACK_POLICY,
        middlewares=[CorrelationMiddleware, policy],
        graceful_timeout=10.0,
    )
    policy.bind(broker)
    return broker
