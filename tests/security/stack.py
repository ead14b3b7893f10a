"""The four services as processes for the security suite, isolated from every other stack.

Each run gets its own MongoDB databases, consumer groups, a topic suffix for every service (``.sec<tag>``:
every topic a service reads or writes, dead letters included) and a region of its own (a random district
code that no demo or other test uses), so nothing it writes reaches a developer's running stack or another
test run: the shared Neo4j holds the run's places only under its own district prefix, and they are deleted
at the end. A service whose settings offer no ``topic_suffix`` would read and write the shared topics, so
the run refuses to start (naming it) rather than touch them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydantic_settings import BaseSettings

from civicgrid_contracts.catalogue import all_topics, dead_letter_topic
from civicgrid_deliberation.settings import DeliberationSettings
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_resources.settings import ResourcesSettings
from tests.e2e.processes import ServiceProcess, Stack, start_group_at_end

SERVICES = ("org-graph", "resources", "notifications", "deliberation")
SETTINGS: dict[str, type[BaseSettings]] = {
    "org-graph": OrgGraphSettings,
    "resources": ResourcesSettings,
    "notifications": NotificationsSettings,
    "deliberation": DeliberationSettings,
}
ORG_TOPICS = ("civicgrid.org.places.v1", "civicgrid.org.organisations.v1", "civicgrid.org.memberships.v1")
RESOURCES_TOPICS = ("civicgrid.resources.deployment.v1", "civicgrid.resources.requests.v1")
HOTLINE_TOPIC = "municipal.hotline12345.requests.v1"
POPULATION_TOPIC = "municipal.statistics.population.v1"
DELIVERY_TOPIC = "civicgrid.notifications.delivery.v1"
HOUSEHOLDS_TOPIC = "civicgrid.org.households.v1"
DELIBERATION_TOPIC = "civicgrid.deliberation.v1"


def supports_topic_suffix(service: str) -> bool:
    return "topic_suffix" in SETTINGS[service].model_fields


def random_district() -> str:
    """A 6-digit district code under province 9x: no real division, demo or other test uses it.

    Its city and district digits are never ``00``: ``92 00 ..`` would make the city's code the
    province's, and ``..58 00`` the district's code the city's (the run then fails registering them)."""
    return f"9{random.randint(0, 9)}{random.randint(1, 99):02d}{random.randint(1, 99):02d}"


@dataclass
class Region:
    """The run's own district with two streets (A and B), one community in each."""

    district: str = field(default_factory=random_district)

    @property
    def province(self) -> str:
        return self.district[:2].ljust(12, "0")

    @property
    def city(self) -> str:
        return self.district[:4].ljust(12, "0")

    @property
    def district_code(self) -> str:
        return self.district.ljust(12, "0")

    @property
    def street_a(self) -> str:
        return f"{self.district}002"

    @property
    def street_b(self) -> str:
        return f"{self.district}087"

    @property
    def street_fuzz(self) -> str:
        return f"{self.district}099"

    @property
    def community_a(self) -> str:
        return f"{self.street_a}003"

    @property
    def community_b(self) -> str:
        return f"{self.street_b}005"

    @property
    def community_fuzz(self) -> str:
        return f"{self.street_fuzz}001"


@dataclass
class SecurityStack:
    """Settings and processes of one security run."""

    stack: Stack
    region: Region
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started_ms: int = 0

    @property
    def suffix(self) -> str:
        return f".sec{self.tag}"

    @property
    def kafka(self) -> str:
        return self.stack.kafka

    def topic(self, service: str, catalogue_topic: str) -> str:
        """The name under which ``service`` reads or writes ``catalogue_topic`` in this run."""
        return catalogue_topic + (self.suffix if supports_topic_suffix(service) else "")

    def consumer_group(self, service: str) -> str:
        return f"sec-{service}-{self.tag}"

    def inbound_group(self, catalogue_topic: str) -> str:
        """The consumer group that reads an inbound municipal topic in this run (resources names its
        groups after the topic's role: ``<group>.hotline``; org-graph's population group is its own)."""
        if catalogue_topic == HOTLINE_TOPIC:
            return self.consumer_group("resources") + ".hotline"
        if catalogue_topic == POPULATION_TOPIC:
            return self.consumer_group("org-graph")
        raise ValueError(f"{catalogue_topic} is not an inbound topic")

    def database(self, service: str) -> str:
        return self.stack.database(service)

    def process(self, service: str) -> ServiceProcess:
        return self.stack.processes[service]

    def url(self, service: str) -> str:
        return self.process(service).url

    def log_paths(self) -> list[Path]:
        return [p.log_path for p in self.stack.processes.values()]

    def missing_topic_isolation(self) -> list[str]:
        return [s for s in SERVICES if not supports_topic_suffix(s)]

    def run_topics(self) -> list[str]:
        """Every topic this run's services use, dead-letter topics included (shared ones too)."""
        names: set[str] = set()
        owners = {
            "org-graph": [*ORG_TOPICS, HOUSEHOLDS_TOPIC, POPULATION_TOPIC],
            "resources": [*RESOURCES_TOPICS, HOTLINE_TOPIC, "civicgrid.org.places.v1", DELIBERATION_TOPIC],
            "notifications": [*ORG_TOPICS, *RESOURCES_TOPICS, DELIVERY_TOPIC, DELIBERATION_TOPIC],
            "deliberation": [*ORG_TOPICS[1:], HOUSEHOLDS_TOPIC, DELIBERATION_TOPIC],
        }
        for service, topics in owners.items():
            for topic in topics:
                names.add(self.topic(service, topic))
                names.add(dead_letter_topic(self.topic(service, topic)))
        return sorted(names)

    def service_env(self, service: str) -> dict[str, str]:
        extra = {
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "INFO",
            "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
            "CONSUMER_RETRY_BACKOFF_SECONDS": "0.05",
        }
        if supports_topic_suffix(service):
            extra["TOPIC_SUFFIX"] = self.suffix
        if service == "resources":
            extra["HOTLINE_CONSUMERS"] = "1"
            extra["SLA_SWEEP_INTERVAL_SECONDS"] = "5"
        if service == "notifications":
            extra["DELIVERY_MAX_ATTEMPTS"] = "1"
        return extra

    async def start(self) -> None:
        missing = self.missing_topic_isolation()
        if missing:
            raise RuntimeError(
                f"{missing} offer no topic_suffix: the run would read and write the shared topics"
            )
        self.started_ms = int(time.time() * 1000)
        await self._create_topics()
        for service in SERVICES:
            shared = [t for t in self._consumed(service) if t == self._catalogue_name(t)]
            if shared:
                # a shared topic holds every other stack's history: start this run's group at its end
                await start_group_at_end(self.kafka, self.consumer_group(service), shared)
        for service in SERVICES:
            env = {**self.service_env(service), "CONSUMER_GROUP": self.consumer_group(service)}
            self.stack.service(service, **env)
        await asyncio.gather(*(asyncio.to_thread(self.process(s).start, 180.0) for s in SERVICES))

    def _consumed(self, service: str) -> list[str]:
        if service == "org-graph":
            return [self.topic(service, POPULATION_TOPIC)]
        if service == "resources":
            return [self.topic(service, t) for t in ("civicgrid.org.places.v1", HOTLINE_TOPIC)]
        if service == "deliberation":
            return [self.topic(service, t) for t in (*ORG_TOPICS[1:], HOUSEHOLDS_TOPIC)]
        return [self.topic(service, t) for t in (*ORG_TOPICS, *RESOURCES_TOPICS)]

    @staticmethod
    def _catalogue_name(topic: str) -> str:
        known = {t.name for t in all_topics()}
        return topic if topic in known else ""

    async def _create_topics(self) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        partitions = {t.name: t.partitions for t in all_topics()}
        wanted: dict[str, int] = {}
        for service in SERVICES:
            if not supports_topic_suffix(service):
                continue
            for topic in partitions:
                wanted[topic + self.suffix] = partitions[topic]
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [NewTopic(n, num_partitions=p, replication_factor=1) for n, p in wanted.items()]
            new = [t for t in new if t.name not in existing]
            if new:
                await admin.create_topics(new)
        finally:
            await admin.close()

    def stop(self) -> None:
        self.stack.stop_all()
