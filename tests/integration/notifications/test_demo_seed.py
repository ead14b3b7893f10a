"""The demo seed goes through the HTTP API and changes nothing when run again."""

from __future__ import annotations

import asyncio

import pytest

from civicgrid_runtime.auth import Role
from deploy.stack import demo_notifications
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService

pytestmark = pytest.mark.integration


async def test_seeding_the_demo_twice_leaves_one_of_each_broadcast_and_the_demo_members_quiet_hours(
    notifications: RunningService,
) -> None:
    member, community = demo_notifications.DEMO_MEMBER, demo_notifications.COMMUNITY
    org_id = facts.uid("org")
    await notifications.kafka.publish(
        facts.organisation(community, org_id), facts.appointed(community, member, org_id)
    )
    await notifications.wait_for_feed(
        member, 1
    )  # org-graph's demo appointed them: they live in the community
    admin = notifications.token(None, Role.ADMIN)
    await asyncio.to_thread(demo_notifications.seed, notifications.base_url, admin)
    await asyncio.to_thread(demo_notifications.seed, notifications.base_url, admin)

    feed = await notifications.feed(member)
    titles = [i["title"] for i in feed["items"] if i["kind"] == "broadcast"]
    assert sorted(titles) == ["欢迎使用社区通知", "街道防汛演练通知"]
    prefs = await notifications.http.get(
        f"{notifications.base_url}/members/{member}/preferences", headers=notifications.auth(member)
    )
    assert prefs.json()["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    url = demo_notifications.phone_page_url(notifications.base_url, "t0k3n")
    assert url == f"{notifications.base_url}/app/#token=t0k3n"
