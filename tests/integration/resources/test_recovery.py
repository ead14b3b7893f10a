"""A crash between an aggregate's update and its side entries loses nothing: reconcile repairs them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civicgrid_resources.adapters.events import OutboxWriter, to_cloud_event
from civicgrid_resources.adapters.topics import Topics
from civicgrid_resources.domain import events as ev
from tests.integration.resources.conftest import Running, event_types
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

REQUESTS = "civicgrid.resources.requests.v1"


async def test_an_event_whose_outbox_index_entry_was_lost_is_published_after_reconciliation(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    r = await service.client.post(
        "/requests",
        json={
            "community_code": community,
            "kind": "inquiry",
            "category": "policy",
            "summary": "补贴政策咨询",
        },
        headers=service.auth(),
    )
    request_id = r.json()["id"]
    store = service.store

    async def drained() -> bool:
        doc = await store.requests.collection.find_one({"_id": request_id})
        return doc is not None and not doc["outbox"]

    assert await wait_for(drained, timeout=30)
    # The process died right after the document update: the event is in the document, not in the index.
    event = to_cloud_event(
        ev.RequestProgressed(request_id=request_id, community_code=community, note="电话回访", actor_id="x")
    )
    await store.requests.collection.update_one(
        {"_id": request_id},
        {
            "$set": {
                **OutboxWriter(Topics(service.settings.topic_suffix)).update([event]),
                "touched_at": datetime.now(UTC),
            }
        },
    )
    await store.reconcile()
    service.notify_relay()
    types = await event_types(service, REQUESTS, request_id, expected=3)
    assert types[-1] == "cn.civicgrid.resources.request.progressed.v1"
    assert await wait_for(drained, timeout=30)


async def test_an_open_request_missing_from_the_deadlines_is_tracked_again_by_reconciliation(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    r = await service.client.post(
        "/requests",
        json={"community_code": community, "kind": "help", "category": "c", "summary": "s"},
        headers=service.auth(),
    )
    request_id = r.json()["id"]
    deadlines = service.store.deadlines.collection
    assert await deadlines.find_one({"_id": request_id}) is not None
    await deadlines.delete_one({"_id": request_id})
    await service.store.reconcile()
    entry = await deadlines.find_one({"_id": request_id})
    assert entry is not None
    assert entry["due_at"].replace(tzinfo=UTC) == datetime.fromisoformat(r.json()["due_at"])
