"""Which Kafka topic a service uses for a catalogue topic: the catalogue name plus its ``topic_suffix``.

A service started with a suffix (``<PREFIX>TOPIC_SUFFIX=.run42``: isolated test and benchmark runs)
publishes to and consumes from ``<catalogue topic><suffix>`` only, and dead-letters to
``<catalogue topic><suffix>.dlq``. :func:`~civicgrid_runtime.kafka.broker.create_broker` records the
mapping on the broker, so the outbox relay's publisher, every subscriber made with
``subscribe_events`` and the topics created at start all apply it; service code keeps naming the
catalogue's topics. Redrive topics (``civicgrid.redrive.<group>``) belong to a consumer group, not
to the catalogue, and keep their names: a run isolates them by giving its services groups of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from civicgrid_contracts.catalogue import Topic, all_topics, dead_letter_topic, topic_for

TOPIC_SUFFIX_PATTERN = r"^(\.[a-z0-9_-]+)?$"


@cache
def _catalogue() -> dict[str, Topic]:
    return {t.name: t for t in all_topics()}


@dataclass(frozen=True)
class TopicNames:
    """Maps catalogue topic names to the names this service uses (``suffix`` empty: unchanged)."""

    suffix: str = ""

    def name(self, topic: str) -> str:
        """The name used for ``topic``. A catalogue topic gains the suffix (a dead-letter topic
        becomes ``<topic><suffix>.dlq``); any other name (already suffixed, a redrive topic) is
        returned as it is, so mapping twice changes nothing."""
        if not self.suffix:
            return topic
        spec = _catalogue().get(topic)
        if spec is None:
            return topic
        if spec.dead_letter_of is not None:
            return dead_letter_topic(spec.dead_letter_of + self.suffix)
        return topic + self.suffix

    def names(self, topics: Iterable[str]) -> list[str]:
        return [self.name(t) for t in topics]

    def for_event(self, event_type: str) -> str:
        """The topic this service publishes ``event_type`` on."""
        return self.name(topic_for(event_type))

    def catalogue_name(self, name: str) -> str:
        """The catalogue topic behind a name used by this service (the inverse of :meth:`name`)."""
        if not self.suffix:
            return name
        for catalogue_topic in _catalogue():
            if self.name(catalogue_topic) == name:
                return catalogue_topic
        return name

    def partitions(self, topic: str) -> int:
        """The catalogue's partition count for a catalogue topic or its suffixed name."""
        return _catalogue()[self.catalogue_name(topic)].partitions
