"""Publishing CloudEvents (binary mode) through the broker's idempotent producer.

Topics are named as in the catalogue; each is mapped to the service's own name for it (its
``topic_suffix``, recorded on the broker by ``create_broker``) before sending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.kafka.broker import topic_names
from civicgrid_runtime.topic_names import TopicNames


class KafkaEventPublisher:
    def __init__(self, broker: KafkaBroker, topics: TopicNames | None = None) -> None:
        self.broker = broker
        self.topics = topics or topic_names(broker)

    async def publish(self, event: CloudEvent, topic: str | None = None) -> None:
        await self.publish_many([(topic or topic_for(event.type), event)])

    async def publish_many(self, items: Sequence[tuple[str, CloudEvent]]) -> None:
        """Send all, then wait for every broker acknowledgement (acks=all)."""
        futures = []
        for topic, event in items:
            record = event.to_kafka()
            futures.append(
                await self.broker.publish(
                    record.value,
                    self.topics.name(topic),
                    key=record.key,
                    headers={k: v.decode() for k, v in record.headers},
                    no_confirm=True,
                )
            )
        # (FastStream's in-memory test broker confirms at once and returns no future.)
        pending = [f for f in futures if f is not None]
        if pending:
            await asyncio.gather(*pending)
