"""The SLA clock survives restarts: what became overdue while the service was down is escalated
once when it comes back, even with two instances sweeping at the same time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from civicgrid_contracts.events import org
from civicgrid_resources.settings import ResourcesSettings
from tests.integration.resources.conftest import STREET, records_where, running
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

REQUESTS = "civicgrid.resources.requests.v1"


async def test_a_request_overdue_while_the_service_was_down_is_escalated_exactly_once_on_restart(
    make_settings: Callable[..., ResourcesSettings], mongo_client: Any
) -> None:
    community = f"{STREET}001"
    settings = make_settings(sla_emergency_seconds=2.0, sla_sweep_interval_seconds=0.1)
    async with running(settings) as first:
        await first.ctx.places.apply(
            org.PlaceRegistered(
                community_code=community,
                kind=org.PlaceKind.COMMUNITY,
                code=community,
                name="中华路社区",
                parent_code=STREET + "000",
            )
        )
        r = await first.client.post(
            "/requests",
            json={
                "community_code": community,
                "kind": "help",
                "category": "gas smell",
                "urgency": "emergency",
                "summary": "楼道有燃气味",
            },
            headers=first.auth(),
        )
        assert r.status_code == 201, r.text
        request_id = r.json()["id"]
        due_at = datetime.fromisoformat(r.json()["due_at"])
    # The service is down now; let the deadline pass.
    await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + 0.1)
    assert datetime.now(UTC) > due_at
    stored = await mongo_client[settings.mongo_database]["requests"].find_one({"_id": request_id})
    assert stored["escalations"] == 0
    assert stored["tier"] == "community"

    # Two instances come back at once (a restart, and a second replica): both sweep.
    # Bounded: an instance whose Kafka consumers never finish joining must fail the test, not hang it.
    async with asyncio.timeout(120), running(settings) as second, running(settings):
        seen: list[dict[str, Any]] = []

        async def escalated_and_published() -> bool:
            doc = await second.store.requests.collection.find_one({"_id": request_id})  # with its outbox
            if doc is not None and int(doc["escalations"]) >= 1 and not doc["outbox"]:
                seen.append(doc)
                return True
            return False

        assert await wait_for(escalated_and_published, timeout=30)
    doc = seen[0]
    to_street = [
        t for t in doc["timeline"] if t["action"] == "escalate:deadline_passed" and t["tier"] == "street"
    ]
    assert len(to_street) == 1
    found = await records_where(
        second, second.topic(REQUESTS), lambda h: h.get("ce_subject") == request_id, expected=4
    )
    escalated = [
        json.loads(value) for headers, value in found if headers["ce_type"].endswith("request.escalated.v1")
    ]
    assert [(e["from_tier"], e["to_tier"], e["reason"]) for e in escalated][:1] == [
        ("community", "street", "deadline_passed")
    ]
    assert sum(1 for e in escalated if e["to_tier"] == "street") == 1
    await mongo_client.drop_database(settings.mongo_database)
