"""Publishing CloudEvents (binary mode) through the broker's idempotent producer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import topic_for
from civicgrid_contracts.envelope import CloudEvent


class KafkaEventPublisher:
    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish(self, event: CloudEvent, topic: str | None = None) -> None:
        await self.publish_many([(topic or topic_for(event.type), event)])

    async def publish_many(self, items: Sequence[tuple[str, CloudEvent]]) -> None:
        """Send all, then wait for every broker acknowledgement (acks=all)."""
        futures = []
        for topic, event in items:
            record = event.to_kafka()
            futures.append(
                await self._broker.publish(
                    record.value,
                    topic,
                    key=record.key,
                    headers={k: v.decode() for k, v in record.headers},
                    no_confirm=True,
                )
            )
        if futures:
            await asyncio.gather(*futures)
