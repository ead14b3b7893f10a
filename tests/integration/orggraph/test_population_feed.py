"""The inbound municipal population feed: applied once per event, bad records dead-lettered."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest

from civicgrid_contracts.catalogue import dead_letter_topic, new_event
from civicgrid_contracts.events.municipal import PopulationReported
from civicgrid_orggraph.entrypoints.consumers import POPULATION_TOPIC
from civicgrid_runtime.kafka import KafkaEventPublisher
from tests.integration.orggraph.conftest import Api, NewCommunity
from tests.support.kafka import read_all, wait_for

pytestmark = pytest.mark.integration


def _report(community: str, residents: int, households: int, as_of: date = date(2025, 6, 30)):
    payload = PopulationReported(
        community_code=community, as_of=as_of, residents=residents, households=households
    )
    return new_event(payload, source="/municipal/statistics")


async def _attributes(api: Api, code: str) -> Any:
    return (await api.ok("GET", f"/places/{code}"))["attributes"]


async def test_a_population_report_updates_the_community_once_even_when_delivered_twice(
    api: Api, new_community: NewCommunity, orggraph_app, neo4j_driver
):
    c = await new_community(residents=100, households=40)
    publisher = KafkaEventPublisher(orggraph_app.state.broker)
    event = _report(c.code, 12636, 4453)
    await publisher.publish(event)
    await publisher.publish(event)
    assert await wait_for(lambda: _residents_are(api, c.code, 12636), timeout=30)
    later = _report(c.code, 12700, 4460)
    await publisher.publish(later)
    assert await wait_for(lambda: _residents_are(api, c.code, 12700), timeout=30)
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $code AND o.event CONTAINS 'place.updated' "
        "RETURN count(o) AS n",
        code=c.code,
    )
    assert records[0]["n"] == 2, "one change per distinct report; the duplicate (same partition, before "
    "the later report) wrote nothing"
    marks, _, _ = await neo4j_driver.execute_query(
        "MATCH (p:ProcessedEvent {key: $key}) RETURN count(p) AS n", key=f"org-graph.population:{event.id}"
    )
    assert marks[0]["n"] == 1
    assert (await _attributes(api, c.code))["households"] == 4460


async def _residents_are(api: Api, code: str, residents: int) -> bool:
    return bool((await _attributes(api, code)).get("residents") == residents)


async def test_an_older_report_does_not_overwrite_newer_figures(
    api: Api, new_community: NewCommunity, orggraph_app
):
    c = await new_community(residents=100, households=40)
    publisher = KafkaEventPublisher(orggraph_app.state.broker)
    await publisher.publish(_report(c.code, 9000, 3000, as_of=date(2025, 6, 30)))
    assert await wait_for(lambda: _residents_are(api, c.code, 9000), timeout=30)
    await publisher.publish(_report(c.code, 5000, 2000, as_of=date(2024, 12, 31)))
    marker = _report(c.code, 9100, 3010, as_of=date(2025, 7, 31))
    await publisher.publish(marker)
    assert await wait_for(lambda: _residents_are(api, c.code, 9100), timeout=30)
    assert (await _attributes(api, c.code))["population_as_of"] == "2025-07-31"


async def test_a_report_for_an_unknown_community_is_dead_lettered_with_the_reason(
    api: Api, orggraph_app, kafka_bootstrap
):
    unknown = "429999999" + "123"
    event = _report(unknown, 10, 5)
    await KafkaEventPublisher(orggraph_app.state.broker).publish(event)
    found: list[Any] = []

    async def dead_lettered() -> bool:
        records = await read_all(
            kafka_bootstrap, dead_letter_topic(POPULATION_TOPIC), expected=10_000, timeout=2
        )
        found[:] = [r for r in records if event.id.encode() in (r.value or b"") or _has_id(r, event.id)]
        return bool(found)

    assert await wait_for(dead_lettered, timeout=45, interval=0.5)
    headers = {k: v.decode() for k, v in found[0].headers}
    reason = " ".join(v for k, v in headers.items() if k.startswith("x-dlq"))
    assert unknown in reason


def _has_id(record, event_id: str) -> bool:
    return any(k == "ce_id" and v.decode() == event_id for k, v in record.headers or ())


async def test_a_malformed_population_record_is_dead_lettered_not_applied(orggraph_app, kafka_bootstrap):
    from tests.support.kafka import send_raw

    marker = f"malformed-{uuid.uuid4().hex}"
    body = json.dumps({"community_code": "420106002003", "residents": -5, "note": marker}).encode()
    headers = [
        ("ce_id", marker.encode()),
        ("ce_source", b"/municipal"),
        ("ce_type", PopulationReported.event_type.encode()),
        ("ce_specversion", b"1.0"),
        ("ce_time", b"2025-06-30T00:00:00Z"),
        ("ce_partitionkey", b"420106002003"),
        ("content-type", b"application/json"),
    ]
    await send_raw(kafka_bootstrap, POPULATION_TOPIC, body, key=b"420106002003", headers=headers)

    async def dead_lettered() -> bool:
        records = await read_all(
            kafka_bootstrap, dead_letter_topic(POPULATION_TOPIC), expected=10_000, timeout=2
        )
        return any(marker.encode() in (r.value or b"") for r in records)

    assert await wait_for(dead_lettered, timeout=45, interval=0.5)
