"""Side entries are written before the document: a crash in between leaves nothing to repair."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.resources.conftest import Running
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


class CrashOnUpdate:
    """The requests collection of a process that dies while writing the document."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def update_one(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the process died before the document was written")


async def test_a_change_that_dies_before_its_document_write_leaves_the_request_and_its_deadline_intact(
    service: Running, community: str
) -> None:
    await service.seed_places(community, {})
    h = service.auth()
    r = await service.client.post(
        "/requests",
        json={"community_code": community, "kind": "help", "category": "c", "summary": "s"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    store = service.store
    deadline = await store.deadlines.collection.find_one({"_id": request_id})
    assert deadline is not None
    pending = store.db["outbox_pending"]

    async def published() -> bool:
        return await pending.find_one({"_id": f"requests:{request_id}"}) is None

    assert await wait_for(published, timeout=30)

    real = store.requests.collection
    store.requests.collection = CrashOnUpdate(real)  # type: ignore[assignment]
    try:
        died = await service.client.post(f"/requests/{request_id}/accept", json={}, headers=h)
        assert died.status_code == 503  # the store went away mid-change: try again later
    finally:
        store.requests.collection = real

    doc = await real.find_one({"_id": request_id})
    assert doc is not None
    assert (doc["status"], doc["version"]) == ("dispatched", 1)
    # The outbox entry was remembered first; the relay finds no event there and forgets it.
    assert await pending.find_one({"_id": f"requests:{request_id}"}) is not None
    service.notify_relay()
    assert await wait_for(published, timeout=30)
    after = await store.deadlines.collection.find_one({"_id": request_id})
    assert after is not None
    assert after["due_at"] == deadline["due_at"]
    assert after["exhausted"] is False

    accepted = await service.client.post(f"/requests/{request_id}/accept", json={}, headers=h)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "in_progress"
