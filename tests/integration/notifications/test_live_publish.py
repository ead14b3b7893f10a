"""The feed store tells this process's live hub what it has just written, so open streams get it without
waiting for a poll: only entries really inserted (a redelivery's duplicates are not), broadcasts, and
single state changes, each with the sequence number the poll would read back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from civicgrid_notifications.adapters.live import LiveHub
from civicgrid_notifications.adapters.mongo_feed import Change, MongoFeedStore
from civicgrid_notifications.domain.model import (
    Audience,
    AudienceKind,
    Broadcast,
    FeedEntry,
    FeedState,
    Message,
    Priority,
    entry_id,
)
from tests.integration.notifications import facts

pytestmark = pytest.mark.integration


def _entries(member: str, events: Sequence[str]) -> list[FeedEntry]:
    now = datetime.now(UTC)
    return [
        FeedEntry(
            entry_id(member, e, "appointed"),
            member,
            "appointed",
            e,
            "420106002003",
            Message("appointment", Priority.NORMAL, "任职通知", "正文"),
            now,
        )
        for e in events
    ]


async def test_the_store_reports_what_it_wrote_and_the_hub_hands_it_out_once(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    db = mongo_client[f"test_notifications_publish_{unique}"]
    try:
        feed = MongoFeedStore(db)
        await feed.ensure_indexes()
        written: list[Change] = []
        feed.listen(written.extend)
        hub = LiveHub(feed, gap_grace=60.0)
        await hub.poll_once()
        member = facts.uid("p")
        phone = hub.subscribe(member, ["community:420106002003"])

        assert await feed.add_entries(_entries(member, ["e1", "e2"])) == 2
        ids = [entry_id(member, e, "appointed") for e in ("e1", "e2")]
        assert [c.item.id for c in written if c.item] == ids
        assert phone.queue.qsize() == 2  # handed out on the write, before any poll
        assert await hub.poll_once() == 0  # the poll reads them back and sends nothing twice

        written.clear()
        assert await feed.add_entries(_entries(member, ["e2", "e3"])) == 1  # e2 is a redelivery
        assert [c.item.id for c in written if c.item] == [entry_id(member, "e3", "appointed")]

        written.clear()
        notice = Broadcast(
            f"b{unique}",
            Audience(AudienceKind.COMMUNITY, "420106002003"),
            "420106002003",
            Message("notice", Priority.NORMAL, "停水通知", "明天停水"),
            datetime.now(UTC),
            "admin",
        )
        assert await feed.add_broadcast(notice)
        assert not await feed.add_broadcast(notice)  # the same id again writes and reports nothing
        assert [(c.audience, c.item.id if c.item else None) for c in written] == [
            ("community:420106002003", notice.id)
        ]

        written.clear()
        first = (await feed.changes_since(member, [], 0))[0]
        read = await feed.set_state(member, first, FeedState.READ)
        assert [(c.seq, c.member_id, c.item.state if c.item else None) for c in written] == [
            (read.seq, member, FeedState.READ)
        ]
        while not phone.queue.empty():
            phone.queue.get_nowait()
        assert await hub.poll_once() == 0
        assert phone.queue.empty()
    finally:
        await mongo_client.drop_database(f"test_notifications_publish_{unique}")
