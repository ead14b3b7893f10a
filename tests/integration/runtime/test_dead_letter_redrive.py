"""Dead letters are replayed to the group that rejected them, once (real broker)."""

from __future__ import annotations

import asyncio
import json

import pytest
from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import redrive_topic
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.errors import PermanentFailure
from civicgrid_runtime.kafka import (
    EventHandler,
    EventRoutes,
    KafkaEventPublisher,
    create_broker,
    stop_broker,
    subscribe_events,
)
from civicgrid_runtime.kafka.redrive import read_dead_letters, redrive
from civicgrid_runtime.settings import ServiceSettings
from deploy.stack.__main__ import main as civicgrid
from tests.support.events import POPULATION_REPORTED, population_reported
from tests.support.kafka import create_topics, read_all, wait_for

pytestmark = pytest.mark.integration


class Handler:
    """Rejects every event as permanently bad until it is fixed; counts what it handled."""

    def __init__(self) -> None:
        self.fixed = False
        self.handled: list[str] = []

    async def __call__(self, event: CloudEvent) -> None:
        if not self.fixed:
            raise PermanentFailure(f"community {event.partitionkey} is unknown")
        if event.id not in self.handled:  # idempotent by event id, as every handler is
            self.handled.append(event.id)


def _subscribe(broker: KafkaBroker, topic: str, group: str, handler: EventHandler) -> None:
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: handler})
    )


async def _dead_letters(bootstrap: str, topic: str, count: int) -> bool:
    return len(await read_dead_letters(bootstrap, f"{topic}.dlq")) >= count


async def test_a_fixed_handler_gets_its_dead_letter_once_and_a_second_redrive_replays_nothing(
    kafka_bootstrap, unique
):
    topic, group, other = f"test.redrive.{unique}", f"redrive-{unique}", f"bystander-{unique}"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    handler, bystander = Handler(), Handler()
    bystander.fixed = True
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, service_name="tests"))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: handler})
    )
    subscribe_events(
        broker, topics=[topic], group_id=other, routes=EventRoutes({POPULATION_REPORTED: bystander})
    )
    await broker.start()
    event = population_reported()
    try:
        await KafkaEventPublisher(broker).publish(event, topic=topic)
        assert await wait_for(lambda: _dead_letters(kafka_bootstrap, topic, 1), timeout=60)
        assert await wait_for(lambda: bystander.handled == [event.id], timeout=60)
        (letter,) = await read_dead_letters(kafka_bootstrap, f"{topic}.dlq")
        assert letter.group == group
        assert letter.event_id == event.id

        dry = await redrive(kafka_bootstrap, topics=[topic], dry_run=True)
        assert [d.offset for d in dry.copied] == [letter.offset]
        assert await read_all(kafka_bootstrap, redrive_topic(group), expected=1, timeout=2) == []

        handler.fixed = True
        first = await redrive(kafka_bootstrap, topics=[topic], group=group)
        assert first.by_group() == {group: 1}
        assert await wait_for(lambda: handler.handled == [event.id], timeout=60)

        second = await redrive(kafka_bootstrap, topics=[topic])
        assert second.copied == []
        assert second.already_redriven == 1
        await asyncio.sleep(2)  # a second copy, had there been one, would be handled by now
    finally:
        await stop_broker(broker)
    assert handler.handled == [event.id], "handled exactly once"
    assert bystander.handled == [event.id], "the group that had no trouble never saw the replay"
    copies = await read_all(kafka_bootstrap, redrive_topic(group), expected=2, timeout=3)
    assert len(copies) == 1
    headers = {k: v.decode() for k, v in copies[0].headers}
    assert headers["ce_id"] == event.id, "the original CloudEvent headers travel with the copy"
    assert headers["x-redrive-count"] == "1"
    assert headers["x-dlq-consumer-group"] == group
    assert await read_all(kafka_bootstrap, redrive_topic(other), expected=1, timeout=2) == []


async def test_a_limited_redrive_leaves_the_rest_for_the_next_one(kafka_bootstrap, unique):
    topic, group = f"test.redrivelimit.{unique}", f"redrivelimit-{unique}"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, service_name="tests"))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: Handler()})
    )
    await broker.start()
    try:
        await KafkaEventPublisher(broker).publish_many(
            [(topic, population_reported(residents=n)) for n in (1, 2, 3)]
        )
        assert await wait_for(lambda: _dead_letters(kafka_bootstrap, topic, 3), timeout=60)
    finally:
        await stop_broker(broker)
    first = await redrive(kafka_bootstrap, topics=[topic], limit=2)
    rest = await redrive(kafka_bootstrap, topics=[topic])
    again = await redrive(kafka_bootstrap, topics=[topic])
    assert [d.offset for d in first.copied] == [0, 1]
    assert [d.offset for d in rest.copied] == [2]
    assert again.copied == []


def test_the_dlq_command_lists_shows_masked_and_redrives(kafka_bootstrap, unique, capsys):
    topic, group = f"test.dlqcli.{unique}", f"dlqcli-{unique}"
    phone = "13812345678"

    async def fail_one() -> None:
        await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")

        async def reject(event: CloudEvent) -> None:
            raise PermanentFailure(f"resident {phone} unknown")

        broker = create_broker(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, service_name="tests"))
        subscribe_events(
            broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: reject})
        )
        await broker.start()
        try:
            await KafkaEventPublisher(broker).publish(population_reported(), topic=topic)
            assert await wait_for(lambda: _dead_letters(kafka_bootstrap, topic, 1), timeout=60)
        finally:
            await stop_broker(broker)

    asyncio.run(fail_one())
    common = ["--topic", topic, "--bootstrap", kafka_bootstrap, "--json"]
    capsys.readouterr()
    assert civicgrid(["dlq", "list", *common]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[f"{topic}.dlq"]["groups"][group]["to_redrive"] == 1
    assert civicgrid(["dlq", "show", *common]) == 0
    out = capsys.readouterr().out
    (shown,) = json.loads(out)
    assert shown["group"] == group
    assert shown["reason"] == "resident 138****5678 unknown"
    assert phone not in out
    assert civicgrid(["dlq", "redrive", *common, "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["copied"] == 1
    assert civicgrid(["dlq", "redrive", *common]) == 0
    assert json.loads(capsys.readouterr().out)["by_group"] == {group: 1}
    assert civicgrid(["dlq", "redrive", *common]) == 0
    assert json.loads(capsys.readouterr().out)["copied"] == 0
