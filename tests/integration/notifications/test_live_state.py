"""Correct live state (issue 10): every change of a mark-all reaches every device, a reconnect never
misses a change, and an open stream learns a new audience."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from civicgrid_notifications.domain.model import FeedEntry, Message, Priority, entry_id
from civicgrid_runtime.auth import Role
from tests.integration.notifications import facts
from tests.integration.notifications.harness import (
    RunningService,
    became_true,
    entries_of,
    eventually,
    has_entries,
    streaming,
)

pytestmark = pytest.mark.integration


def states_on(device: list[dict[str, Any]]) -> dict[str, str]:
    """What a device shows: the last state it heard of each item (it upserts by id)."""
    return {e["data"]["item"]["id"]: e["data"]["item"]["state"] for e in entries_of(device)}


def shows(device: list[dict[str, Any]], expected: dict[str, str]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return states_on(device) == expected

    return probe


async def test_every_change_of_a_mark_all_reaches_every_open_device(notifications: RunningService) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    await notifications.kafka.publish(*(facts.appointed(community, person, org_id) for _ in range(3)))
    await notifications.wait_for_feed(person, 3)
    notice = {
        "id": facts.uid("bc"),
        "audience": f"person:{person}",
        "community_code": community,
        "title": "停水通知",
        "body": "明日停水。",
    }
    sent = await notifications.http.post(
        f"{notifications.base_url}/broadcasts", json=notice, headers=notifications.auth(None, Role.ADMIN)
    )
    assert sent.status_code == 201
    items = await notifications.wait_for_feed(person, 4)

    url, mine = f"{notifications.base_url}/members/{person}/stream", notifications.auth(person)
    async with (
        streaming(notifications.http, url, mine) as phone,
        streaming(notifications.http, url, mine) as tablet,
    ):
        marked = await notifications.http.post(
            f"{notifications.base_url}/members/{person}/feed/read-all", json={}, headers=mine
        )
        assert marked.json() == {"changed": 4}
        everything_read = {i["id"]: "read" for i in items}
        for device in (phone, tablet):
            await eventually(shows(device, everything_read), what="every read on each device")
            assert entries_of(device)[-1]["data"]["unread"] == 0


async def test_a_device_cut_off_before_any_live_event_resumes_from_the_ready_event(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    url, mine = f"{notifications.base_url}/members/{person}/stream", notifications.auth(person)
    async with streaming(notifications.http, url, mine) as first:
        ready = next(e for e in first if e.get("event") == "ready")
    assert ready["id"] == str(ready["data"]["seq"])
    assert entries_of(first) == []

    await notifications.kafka.publish(*(facts.appointed(community, person, org_id) for _ in range(2)))
    missed = await notifications.wait_for_feed(person, 2)
    async with streaming(notifications.http, url, {**mine, "Last-Event-ID": ready["id"]}) as second:
        await eventually(has_entries(second, 2), what="the replay of what was missed")
        assert sorted(states_on(second)) == sorted(i["id"] for i in missed)


async def test_a_stream_opened_with_the_pages_seq_gets_what_changed_after_the_page_was_read(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    await notifications.kafka.publish(facts.appointed(community, person, org_id))
    await notifications.wait_for_feed(person, 1)
    page = await notifications.feed(person)
    await notifications.kafka.publish(facts.appointed(community, person, org_id))
    later = [i for i in await notifications.wait_for_feed(person, 2) if i["id"] != page["items"][0]["id"]]

    url, mine = f"{notifications.base_url}/members/{person}/stream", notifications.auth(person)
    async with streaming(notifications.http, url, {**mine, "Last-Event-ID": str(page["seq"])}) as device:
        await eventually(has_entries(device, 1), what="the change after the page")
        assert later[0]["id"] in states_on(device)


async def test_an_open_stream_learns_a_new_audience_and_its_broadcasts_arrive_live(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    url, mine = f"{notifications.base_url}/members/{person}/stream", notifications.auth(person)
    async with streaming(notifications.http, url, mine) as device:
        await notifications.kafka.publish(facts.appointed(community, person, org_id, post="building_head"))
        await eventually(has_entries(device, 1), what="the appointment on the open stream")
        await eventually(
            became_true(lambda: any(e.get("event") == "audiences" for e in device)),
            what="the audience change",
        )
        notice = {
            "id": facts.uid("bc"),
            "audience": f"post:{org_id}/building_head",
            "community_code": community,
            "title": "楼栋长会议通知",
            "body": "周五下午三点开会。",
        }
        sent = await notifications.http.post(
            f"{notifications.base_url}/broadcasts",
            json=notice,
            headers=notifications.auth(None, Role.COORDINATOR, community),
        )
        assert sent.status_code == 201
        await eventually(
            became_true(lambda: notice["id"] in states_on(device)),
            what="the post's broadcast on the open stream",
        )
    audiences = next(e for e in device if e.get("event") == "audiences")
    assert audiences["data"]["unread"] >= 1


async def test_the_poller_reads_a_mark_all_whole_even_past_its_page_limit(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    db = mongo_client[f"test_notifications_live_{unique}"]
    try:
        feed = MongoFeedStore(db)
        await feed.ensure_indexes()
        member, now = facts.uid("p"), datetime.now(UTC)
        await feed.add_entries(
            [
                FeedEntry(
                    entry_id(member, f"e{i}", "appointed"),
                    member,
                    "appointed",
                    f"e{i}",
                    "420106002003",
                    Message("appointment", Priority.NORMAL, f"任职通知{i}", "正文"),
                    now,
                )
                for i in range(5)
            ]
        )
        before = await feed.current_seq()
        first_two = await feed.changes_after(before - 5, limit=2)
        assert [c.seq for c in first_two] == [before - 4]  # the page's last number may be partial: next poll
        assert await feed.set_all_read(member, [], None) == 5
        group = await feed.changes_after(before, limit=2)
        assert sorted(c.item.id for c in group if c.item) == sorted(
            entry_id(member, f"e{i}", "appointed") for i in range(5)
        )
        assert {c.seq for c in group} == {before + 1}
        replay = await feed.changes_since(member, [], before + 1)
        assert len(replay) == 5  # from a mark-all's own number, all of it again
    finally:
        await mongo_client.drop_database(db.name)
