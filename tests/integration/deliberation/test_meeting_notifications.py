"""Across services: the participants of a convened meeting, and the owners of a compound whose vote opens
and closes, find the notices in their notifications feed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.deliberation.conftest import Running
from tests.integration.deliberation.test_meetings import meeting_body, posts
from tests.integration.notifications.harness import start_service, stop_service
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


async def test_each_participant_of_a_convened_meeting_is_told_when_and_what(
    service: Running, community: str, servers: Servers, tmp_path: Path, mongo_client: Any
) -> None:
    database = f"t_notifications_delib_{uuid.uuid4().hex[:8]}"
    notifications = await start_service(
        servers.kafka_bootstrap,
        servers.mongo_uri,
        database,
        tmp_path,
        f"notifications-delib-{uuid.uuid4().hex[:8]}",
        topic_suffix=service.settings.topic_suffix,
        consumer_offset_reset="earliest",
    )
    try:
        compound, tag = f"{community}-C01", community[-3:]
        await service.seed_posts(community, posts(community, compound, tag))
        answer = await service.client.post(
            "/meetings", json=meeting_body(compound), headers=service.coordinator()
        )
        assert answer.status_code == 201
        invited = {p["person_id"] for p in answer.json()["participants"]}
        for person in sorted(invited):
            # Their appointment (membership.started) is in the feed too: one notice more.
            [entry] = [
                e
                for e in await notifications.wait_for_feed(person, 2, timeout=90)
                if e["category"] == "notice"
            ]
            assert entry["title"] == "会议通知：充电桩安装"
            assert entry["body"] == "三方联席会定于12月10日 19:00召开，议题：充电桩安装。请准时参加。"
        # Holds a post at another compound: their appointment only (the notice, written for all its
        # recipients at once, is in the participants' feeds already).
        outsider = await notifications.wait_for_feed(f"other-{tag}", 1, timeout=90)
        assert [e["category"] for e in outsider] == ["appointment"]
    finally:
        await stop_service(notifications)
        await mongo_client.drop_database(database)


async def test_the_owners_of_a_compound_are_told_when_its_vote_opens_and_how_it_ended(
    service: Running, community: str, servers: Servers, tmp_path: Path, mongo_client: Any
) -> None:
    database = f"t_notifications_delib_{uuid.uuid4().hex[:8]}"
    notifications = await start_service(
        servers.kafka_bootstrap,
        servers.mongo_uri,
        database,
        tmp_path,
        f"notifications-delib-{uuid.uuid4().hex[:8]}",
        topic_suffix=service.settings.topic_suffix,
        consumer_offset_reset="earliest",
    )
    try:
        compound, tag = f"{community}-C01", community[-3:]
        owners = [f"n{i}-{tag}" for i in range(3)]
        await service.seed_households(community, compound, [(90.0, [o]) for o in owners])
        await service.seed_households(community, f"{community}-C02", [(90.0, [f"elsewhere-{tag}"])])
        # The vote opens at once: notifications may not have read the compound's household facts yet (another
        # topic than the vote's, so no order between them); the vote's facts name the owners on its roll.
        staff = service.coordinator()
        vote = await service.client.post(
            "/votes",
            json={
                "compound_code": compound,
                "title": "更换物业",
                "matter": "property_manager",
                "closes_at": "2099-01-01T00:00:00Z",
            },
            headers=staff,
        )
        assert vote.status_code == 201, vote.text
        vote_id = vote.json()["vote_id"]
        for person in owners:
            ballot = await service.client.post(
                f"/votes/{vote_id}/ballots", json={"choice": "approve"}, headers=service.member(person)
            )
            assert ballot.status_code == 200
        assert (await service.client.post(f"/votes/{vote_id}/close", headers=staff)).status_code == 200
        for person in owners:
            entries = await notifications.wait_for_feed(person, 2, timeout=90)
            assert sorted(e["title"] for e in entries) == sorted(["业主表决：更换物业", "业主表决结果：通过"])
        # An owner of another compound: nothing (both notices are written for all recipients at once).
        assert (await notifications.feed(f"elsewhere-{tag}"))["items"] == []
    finally:
        await stop_service(notifications)
        await mongo_client.drop_database(database)
