"""The topics this service uses; a suffix isolates test and benchmark runs from the shared topics."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from civicgrid_contracts.catalogue import all_topics, dead_letter_topic, topic_for

PLACES = "civicgrid.org.places.v1"
HOTLINE = "municipal.hotline12345.requests.v1"
DEPLOYMENT = "civicgrid.resources.deployment.v1"
REQUESTS = "civicgrid.resources.requests.v1"


@dataclass(frozen=True)
class Topics:
    suffix: str = ""

    def name(self, catalogue_topic: str) -> str:
        return catalogue_topic + self.suffix

    def for_event(self, event_type: str) -> str:
        return self.name(topic_for(event_type))

    @property
    def consumed(self) -> list[str]:
        return [self.name(PLACES), self.name(HOTLINE)]

    @property
    def catalogue_names(self) -> list[str]:
        return [PLACES, HOTLINE, DEPLOYMENT, REQUESTS]

    async def ensure(self, bootstrap: str) -> None:
        """Create this service's topics and their dead-letter topics with the catalogue's partitions."""
        partitions = {t.name: t.partitions for t in all_topics()}
        wanted: dict[str, int] = {}
        for base in self.catalogue_names:
            wanted[self.name(base)] = partitions[base]
            wanted[dead_letter_topic(self.name(base))] = partitions[dead_letter_topic(base)]
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [NewTopic(n, num_partitions=p, replication_factor=1) for n, p in wanted.items()]
            missing = [t for t in missing if t.name not in existing]
            if missing:
                await admin.create_topics(missing)
        finally:
            await admin.close()
