"""A service given a topic suffix publishes to and consumes from its own topics only (in-memory broker)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from faststream.kafka import KafkaBroker, TestKafkaBroker

from civicgrid_contracts.catalogue import all_topics, dead_letter_topic, is_redrive_topic, redrive_topic
from civicgrid_deliberation.bootstrap import create_app as deliberation_app
from civicgrid_deliberation.settings import DeliberationSettings
from civicgrid_notifications.bootstrap import create_app as notifications_app
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_orggraph.bootstrap import create_app as orggraph_app
from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_resources.bootstrap import create_app as resources_app
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.kafka import EventRoutes, KafkaEventPublisher, create_broker, subscribe_events
from civicgrid_runtime.outbox import OutboxRelay, PendingEvent
from civicgrid_runtime.settings import ServiceSettings, load_settings
from civicgrid_runtime.topic_names import TopicNames
from tests.support.events import POPULATION_REPORTED, population_reported

SUFFIX = ".unit7"
PLACES = "civicgrid.org.places.v1"
POPULATION = "municipal.statistics.population.v1"


def test_a_catalogue_topic_gains_the_suffix_and_its_dead_letters_follow_it() -> None:
    names = TopicNames(SUFFIX)
    assert names.name(PLACES) == PLACES + SUFFIX
    assert names.name(dead_letter_topic(PLACES)) == dead_letter_topic(PLACES + SUFFIX)
    assert names.for_event(POPULATION_REPORTED) == POPULATION + SUFFIX
    assert names.catalogue_name(PLACES + SUFFIX) == PLACES
    assert names.partitions(PLACES + SUFFIX) == next(t.partitions for t in all_topics() if t.name == PLACES)


def test_mapping_a_name_twice_changes_nothing_and_redrive_topics_keep_their_names() -> None:
    names = TopicNames(SUFFIX)
    assert names.name(names.name(PLACES)) == PLACES + SUFFIX
    assert names.name(redrive_topic("group-a")) == redrive_topic("group-a")
    assert TopicNames().name(PLACES) == PLACES


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        (OrgGraphSettings, "ORGGRAPH_TOPIC_SUFFIX"),
        (ResourcesSettings, "RESOURCES_TOPIC_SUFFIX"),
        (NotificationsSettings, "NOTIFICATIONS_TOPIC_SUFFIX"),
    ],
)
def test_every_service_reads_its_topic_suffix_from_its_own_variable(
    monkeypatch: pytest.MonkeyPatch, settings: type[ServiceSettings], variable: str
) -> None:
    monkeypatch.setenv(variable, SUFFIX)
    assert load_settings(settings).topic_names() == TopicNames(SUFFIX)


def test_a_suffix_that_is_not_a_dotted_word_is_refused() -> None:
    with pytest.raises(ValueError, match="topic_suffix"):
        ServiceSettings(topic_suffix="no-dot")


def _collector(broker: KafkaBroker, topic: str, into: list[str]) -> None:
    async def raw(msg: Any) -> Any:
        return msg.raw_message

    @broker.subscriber(topic, group_id=f"collector-{topic}", decoder=raw)
    async def collect(record: Any) -> None:
        into.append(record.topic)


class OnePending:
    def __init__(self, topic: str) -> None:
        self.pending = [PendingEvent("e1", topic, population_reported())]

    async def fetch_pending(self, limit: int) -> list[PendingEvent]:
        return self.pending

    async def mark_published(self, entries: object) -> None:
        self.pending = []


async def test_a_suffixed_relay_publishes_an_outbox_entry_to_the_suffixed_topic_only() -> None:
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1", topic_suffix=SUFFIX))
    received: list[str] = []
    _collector(broker, POPULATION, received)
    _collector(broker, POPULATION + SUFFIX, received)
    async with TestKafkaBroker(broker):
        assert await OutboxRelay(OnePending(POPULATION), KafkaEventPublisher(broker)).run_once() == 1
    assert received == [POPULATION + SUFFIX]


async def test_a_suffixed_subscriber_consumes_the_suffixed_topic_and_not_the_shared_one() -> None:
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1", topic_suffix=SUFFIX))
    handled: list[str] = []

    async def handle(event: Any) -> None:
        handled.append(event.id)

    subscribe_events(
        broker, topics=[POPULATION], group_id="g", routes=EventRoutes({POPULATION_REPORTED: handle})
    )
    plain, own = population_reported(), population_reported()
    async with TestKafkaBroker(broker):
        for event, topic in ((plain, POPULATION), (own, POPULATION + SUFFIX)):
            record = event.to_kafka()
            headers = {k: v.decode() for k, v in record.headers}
            await broker.publish(record.value, topic, key=record.key, headers=headers)
    assert handled == [own.id]


def _org(keys: Path) -> FastAPI:
    return orggraph_app(
        OrgGraphSettings(keys_dir=keys, environment="test", run_background_workers=False, topic_suffix=SUFFIX)
    )


def _resources(keys: Path) -> FastAPI:
    return resources_app(
        ResourcesSettings(
            keys_dir=keys, environment="test", run_background_workers=False, topic_suffix=SUFFIX
        )
    )


def _notifications(keys: Path) -> FastAPI:
    return notifications_app(
        NotificationsSettings(
            keys_dir=keys, environment="test", run_background_workers=False, topic_suffix=SUFFIX
        )
    )


def _deliberation(keys: Path) -> FastAPI:
    return deliberation_app(
        DeliberationSettings(
            keys_dir=keys, environment="test", run_background_workers=False, topic_suffix=SUFFIX
        )
    )


SERVICES: list[tuple[str, Callable[[Path], FastAPI], str]] = [
    # each with a topic it produces (through its outbox relay) and does not consume
    ("org-graph", _org, "civicgrid.org.organisations.v1"),
    ("resources", _resources, "civicgrid.resources.requests.v1"),
    ("notifications", _notifications, "civicgrid.notifications.delivery.v1"),
    ("deliberation", _deliberation, "civicgrid.deliberation.v1"),
]


@pytest.mark.parametrize(("service", "make", "produced"), SERVICES, ids=[s[0] for s in SERVICES])
async def test_a_suffixed_service_consumes_and_publishes_suffixed_topics_only(
    tmp_path: Path, service: str, make: Callable[[Path], FastAPI], produced: str
) -> None:
    app = make(tmp_path)
    broker = app.state.service.broker
    relay = app.state.service.relay
    consumed = {
        name
        for sub in broker.subscribers
        for name in getattr(sub, "topic_names", ())
        if not is_redrive_topic(name)
    }
    assert consumed, f"{service} subscribes to nothing"
    assert all(name.endswith(SUFFIX) for name in consumed), f"{service} consumes shared topics: {consumed}"

    received: list[str] = []
    _collector(broker, produced, received)
    _collector(broker, produced + SUFFIX, received)
    async with TestKafkaBroker(broker):
        await relay.publisher.publish_many([(produced, population_reported())])
    assert received == [produced + SUFFIX]
