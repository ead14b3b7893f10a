"""12345 hotline intake from Kafka: validated, idempotent by event id and ticket; bad records to the DLQ."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.common import RequestKind, Urgency
from civicgrid_contracts.events.municipal import HotlineRequestSubmitted
from tests.integration.resources.conftest import Running, records_where
from tests.support.kafka import send_raw, wait_for

pytestmark = pytest.mark.integration

HOTLINE = "municipal.hotline12345.requests.v1"


def _ticket(community: str, ticket: str, building: str | None = None) -> CloudEvent:
    payload = HotlineRequestSubmitted(
        community_code=community,
        ticket_no=ticket,
        received_at=datetime.now(UTC),
        kind=RequestKind.COMPLAINT,
        category="环境卫生",
        urgency=Urgency.ORDINARY,
        address="武昌区中华路街道某小区3栋",
        building_code=building,
        description="垃圾清运不及时",
        caller_phone="138****5678",
    )
    return new_event(payload, source="/municipal/hotline12345")


async def _dead_letters(service: Running, event_id: str) -> list[dict[str, str]]:
    found = await records_where(
        service, service.topic(HOTLINE) + ".dlq", lambda h: h.get("ce_id") == event_id, 1
    )
    return [headers for headers, _ in found]


async def test_a_hotline_ticket_becomes_one_request_dispatched_to_the_buildings_grid(
    service: Running, community: str
) -> None:
    grid = community + "002"
    await service.seed_places(community, {grid: [f"B{community}-03"]})
    event = _ticket(community, f"WH{community}A", building=f"B{community}-03")
    await service.publish(event, HOTLINE)
    await service.publish(event, HOTLINE)  # redelivered
    again = _ticket(
        community, f"WH{community}A", building=f"B{community}-03"
    )  # re-sent by 12345, new event id
    await service.publish(again, HOTLINE)
    request_id = f"h12345-WH{community}A"

    async def arrived() -> bool:
        return await service.store.requests.find(request_id) is not None

    assert await wait_for(arrived, timeout=30)
    marker = _ticket(community, f"WH{community}B")
    await service.publish(marker, HOTLINE)  # same partition: once it is in, the three before were handled

    async def marker_in() -> bool:
        return await service.store.requests.find(f"h12345-WH{community}B") is not None

    assert await wait_for(marker_in, timeout=30)
    found = await service.store.requests.collection.count_documents({"external_ref": f"WH{community}A"})
    assert found == 1
    doc = await service.store.requests.get(request_id)
    assert (doc["channel"], doc["grid_id"], doc["tier"], doc["status"]) == (
        "hotline12345",
        grid,
        "grid",
        "dispatched",
    )
    assert "13812345678" not in str(doc)


async def test_a_ticket_for_a_community_this_service_does_not_know_is_dead_lettered_with_the_reason(
    service: Running,
) -> None:
    unknown = "420106009999"
    event = _ticket(unknown, "WH-unknown-1")
    await service.publish(event, HOTLINE)
    mine = await _dead_letters(service, event.id)
    assert len(mine) == 1
    reason = mine[0]["x-dlq-reason"]
    assert "420106009999" in reason
    assert "unknown" in reason
    assert await service.store.requests.find("h12345-WH-unknown-1") is None


async def test_a_malformed_hotline_record_is_dead_lettered_and_the_next_one_is_still_taken(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    bad_id = f"bad-{community}"
    headers = [
        ("ce_id", bad_id.encode()),
        ("ce_source", b"/municipal/hotline12345"),
        ("ce_type", HotlineRequestSubmitted.event_type.encode()),
        ("ce_specversion", b"1.0"),
        ("ce_time", b"2025-06-01T08:00:00Z"),
        ("content-type", b"application/json"),
    ]
    await send_raw(
        service.settings.kafka_bootstrap_servers,
        service.topic(HOTLINE),
        b'{"community_code": "' + community.encode() + b'", "ticket_no": "X"}',
        community.encode(),
        headers,
    )
    good = _ticket(community, f"WH{community}C")
    await service.publish(good, HOTLINE)

    async def taken() -> bool:
        return await service.store.requests.find(f"h12345-WH{community}C") is not None

    assert await wait_for(taken, timeout=30)
    mine = await _dead_letters(service, bad_id)
    assert len(mine) == 1
    assert "received_at" in mine[0]["x-dlq-reason"]
