"""The dead-letter middleware tells transient faults from bad records (in-memory broker)."""

from __future__ import annotations

from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pymongo.errors import ServerSelectionTimeoutError

from civicgrid_contracts.catalogue import redrive_topic
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.errors import PermanentFailure, StoreUnavailable
from civicgrid_runtime.kafka import EventRoutes, create_broker, subscribe_events
from civicgrid_runtime.kafka.broker import consumer_stalls
from civicgrid_runtime.kafka.dlq import DeadLetterPolicy, TransientBackoff
from civicgrid_runtime.kafka.stalls import ConsumerStalled
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED, population_reported

TOPIC, GROUP = "test.faults", "faults-group"


def _broker(max_attempts: int = 3) -> KafkaBroker:
    policy = DeadLetterPolicy(
        max_attempts=max_attempts,
        backoff_seconds=0.001,
        transient_backoff=TransientBackoff(0.002, 0.004),
        stop_check_seconds=0.001,
    )
    return create_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1"), dead_letter=policy)


class DeadLetters(list[dict[str, str]]):
    """The headers of each record published to the dead-letter topic."""


def _dead_letters(broker: KafkaBroker) -> DeadLetters:
    received = DeadLetters()

    async def raw(msg: Any) -> Any:
        return msg.raw_message

    @broker.subscriber(f"{TOPIC}.dlq", group_id="dlq-reader", decoder=raw)
    async def collect(record: Any) -> None:
        received.append({k: v.decode() for k, v in record.headers})

    return received


def _subscribe(broker: KafkaBroker, handle: Any) -> None:
    routes = EventRoutes({POPULATION_REPORTED: handle})
    subscribe_events(broker, topics=[TOPIC], group_id=GROUP, routes=routes)


async def _publish(broker: KafkaBroker, event: CloudEvent, topic: str = TOPIC) -> None:
    record = event.to_kafka()
    await broker.publish(
        record.value, topic, key=record.key, headers={k: v.decode() for k, v in record.headers}
    )


async def test_a_store_outage_is_retried_until_it_ends_and_nothing_is_dead_lettered() -> None:
    broker = _broker(max_attempts=2)
    calls: list[int] = []
    seen_while_stalled: list[str] = []

    async def handle(event: CloudEvent) -> None:
        calls.append(1)
        if len(calls) == 5:
            with pytest.raises(ConsumerStalled) as stalled:
                await consumer_stalls(broker).probe()
            seen_while_stalled.append(str(stalled.value))
        if len(calls) < 6:
            raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")

    _subscribe(broker, handle)
    dead = _dead_letters(broker)
    async with TestKafkaBroker(broker):
        await _publish(broker, population_reported())
    assert len(calls) == 6, "retried past max_attempts: an outage is not the record's fault"
    assert dead == []
    assert f"consumer group {GROUP} stalled since" in seen_while_stalled[0]
    assert "ServerSelectionTimeoutError" in seen_while_stalled[0]
    assert consumer_stalls(broker).current() == [], "readiness recovers with the consumer"


async def test_an_error_raised_from_a_connection_failure_counts_as_transient() -> None:
    broker = _broker(max_attempts=1)
    calls: list[int] = []

    async def handle(event: CloudEvent) -> None:
        calls.append(1)
        if len(calls) < 3:
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except ConnectionRefusedError as error:
                raise RuntimeError("could not load the projection") from error

    _subscribe(broker, handle)
    dead = _dead_letters(broker)
    async with TestKafkaBroker(broker):
        await _publish(broker, population_reported())
    assert len(calls) == 3
    assert dead == []


async def test_a_permanent_failure_is_dead_lettered_at_once_naming_the_rejecting_group() -> None:
    broker = _broker()
    calls: list[int] = []

    async def handle(event: CloudEvent) -> None:
        calls.append(1)
        raise PermanentFailure("community 420106002099 is unknown")

    _subscribe(broker, handle)
    dead = _dead_letters(broker)
    async with TestKafkaBroker(broker):
        await _publish(broker, population_reported())
    assert calls == [1]
    assert len(dead) == 1
    headers = dead[0]
    assert headers["x-dlq-consumer-group"] == GROUP
    assert headers["x-dlq-original-topic"] == TOPIC
    assert headers["x-dlq-reason"] == "community 420106002099 is unknown"


async def test_an_unexpected_error_is_retried_a_bounded_number_of_times_then_dead_lettered() -> None:
    broker = _broker(max_attempts=3)
    calls: list[int] = []

    async def handle(event: CloudEvent) -> None:
        calls.append(1)
        raise KeyError("building")

    _subscribe(broker, handle)
    dead = _dead_letters(broker)
    async with TestKafkaBroker(broker):
        await _publish(broker, population_reported())
    assert len(calls) == 3
    assert len(dead) == 1
    assert dead[0]["x-dlq-attempts"] == "3"
    assert dead[0]["x-dlq-consumer-group"] == GROUP


async def test_a_redriven_record_is_handled_and_failing_again_goes_back_to_its_own_dead_letters() -> None:
    broker = _broker()
    handled: list[str] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.id)
        raise PermanentFailure("still unknown")

    _subscribe(broker, handle)
    dead = _dead_letters(broker)
    event = population_reported()
    record = event.to_kafka()
    headers = {k: v.decode() for k, v in record.headers}
    headers |= {"x-dlq-original-topic": TOPIC, "x-dlq-original-partition": "4", "x-dlq-original-offset": "17"}
    async with TestKafkaBroker(broker):
        await broker.publish(record.value, redrive_topic(GROUP), key=record.key, headers=headers)
    assert handled == [event.id]
    assert len(dead) == 1
    assert dead[0]["x-dlq-original-offset"] == "17", "still names where the record first failed"
    assert dead[0]["x-dlq-consumer-group"] == GROUP


async def test_store_unavailable_raised_by_a_handler_holds_the_record() -> None:
    broker = _broker(max_attempts=1)
    calls: list[int] = []

    async def handle(event: CloudEvent) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StoreUnavailable("projections are read-only during the migration")

    _subscribe(broker, handle)
    dead = _dead_letters(broker)
    async with TestKafkaBroker(broker):
        await _publish(broker, population_reported())
    assert calls == [1, 1]
    assert dead == []


def test_the_transient_backoff_doubles_to_its_cap_with_jitter() -> None:
    delays = TransientBackoff(0.2, 10.0).delays()
    steps = [next(delays) for _ in range(10)]
    assert 0.1 <= steps[0] <= 0.2
    assert 0.2 <= steps[1] <= 0.4
    assert all(5.0 <= s <= 10.0 for s in steps[7:])
    assert len(set(steps)) == len(steps), "jittered"
