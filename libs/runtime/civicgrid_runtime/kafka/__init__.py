"""Kafka with the project's guarantees: at-least-once consumption, idempotent producer, dead letters."""

from civicgrid_runtime.kafka.broker import create_broker, offset_tracker, stop_broker
from civicgrid_runtime.kafka.consumer import EventHandler, EventRoutes, subscribe_events
from civicgrid_runtime.kafka.dlq import DEAD_LETTER_SUFFIX, DeadLetterPolicy, dead_letter_topic
from civicgrid_runtime.kafka.publisher import KafkaEventPublisher

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "DeadLetterPolicy",
    "EventHandler",
    "EventRoutes",
    "KafkaEventPublisher",
    "create_broker",
    "dead_letter_topic",
    "offset_tracker",
    "stop_broker",
    "subscribe_events",
]
