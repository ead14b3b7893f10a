"""Several consumers in one process keep the per-record path: the same dead-letter policy, applied by
the broker's middleware instead of the batch loop (in-memory broker)."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker, TestKafkaBroker
from pymongo.errors import ServerSelectionTimeoutError

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.correlation import current_correlation_id
from civicgrid_runtime.errors import PermanentFailure
from civicgrid_runtime.kafka import EventRoutes, create_broker, subscribe_events
from civicgrid_runtime.kafka.dlq import DeadLetterPolicy, TransientBackoff
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED, population_reported

TOPIC, GROUP = "test.per-record", "per-record-group"


def _broker() -> KafkaBroker:
    policy = DeadLetterPolicy(
        max_attempts=3,
        backoff_seconds=0.001,
        transient_backoff=TransientBackoff(0.002, 0.004),
        stop_check_seconds=0.001,
    )
    return create_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1"), dead_letter=policy)


def _dead_letters(broker: KafkaBroker) -> list[dict[str, str]]:
    received: list[dict[str, str]] = []

    async def raw(msg: Any) -> Any:
        return msg.raw_message

    @broker.subscriber(f"{TOPIC}.dlq", group_id="dlq-reader", decoder=raw)
    async def collect(record: Any) -> None:
        received.append({k: v.decode() for k, v in record.headers})

    return received


async def _publish(broker: KafkaBroker, event: CloudEvent) -> None:
    record = event.to_kafka()
    await broker.publish(
        record.value, TOPIC, key=record.key, headers={k: v.decode() for k, v in record.headers}
    )


def _subscribe(broker: KafkaBroker, handle: Any) -> None:
    routes = EventRoutes({POPULATION_REPORTED: handle})
    subscribe_events(broker, topics=[TOPIC], group_id=GROUP, routes=routes, consumers=2, redrive=False)


async def test_with_several_consumers_a_permanent_failure_is_dead_lettered_once_naming_the_group() -> None:
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
    assert [d["x-dlq-consumer-group"] for d in dead] == [GROUP]
    assert dead[0]["x-dlq-reason"] == "community 420106002099 is unknown"


async def test_with_several_consumers_a_store_outage_is_retried_until_it_ends_and_not_dead_lettered() -> None:
    broker = _broker()
    calls: list[int] = []
    correlation_ids: list[str | None] = []

    async def handle(event: CloudEvent) -> None:
        calls.append(1)
        correlation_ids.append(current_correlation_id())
        if len(calls) < 4:
            raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")

    _subscribe(broker, handle)
    dead = _dead_letters(broker)
    async with TestKafkaBroker(broker):
        await _publish(broker, population_reported().model_copy(update={"correlationid": "req-per-record"}))
    assert len(calls) == 4
    assert dead == []
    assert correlation_ids == ["req-per-record"] * 4, "the record's correlation id is bound on every try"
