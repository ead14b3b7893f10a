"""Broadcasts: a retry with the same id is idempotent, the same id with other content a conflict."""

from __future__ import annotations

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService

pytestmark = pytest.mark.integration


async def test_the_same_broadcast_id_with_the_same_body_answers_the_existing_and_with_another_body_409(
    notifications: RunningService,
) -> None:
    community, member = facts.new_community(), facts.uid("m")
    url = f"{notifications.base_url}/broadcasts"
    admin = notifications.auth(None, Role.ADMIN)
    body = {
        "id": facts.uid("bc"),
        "audience": f"person:{member}",
        "community_code": community,
        "title": "停水通知",
        "body": "明日9时至12时停水。",
    }
    first = await notifications.http.post(url, json=body, headers=admin)
    assert (first.status_code, first.json()) == (201, {"id": body["id"], "created": True})
    again = await notifications.http.post(url, json=body, headers=admin)
    assert (again.status_code, again.json()) == (200, {"id": body["id"], "created": False})

    changed = await notifications.http.post(
        url, json={**body, "body": "明日全天停水。", "priority": "high"}, headers=admin
    )
    assert changed.status_code == 409
    assert changed.json()["differences"] == ["priority", "body"]
    assert "priority, body" in changed.json()["message"]
    retitled = await notifications.http.post(url, json={**body, "title": "停电通知"}, headers=admin)
    assert (retitled.status_code, retitled.json()["differences"]) == (409, ["title"])

    items = (await notifications.feed(member))["items"]
    assert [(i["id"], i["title"], i["body"]) for i in items] == [
        (body["id"], "停水通知", "明日9时至12时停水。")
    ]
