"""The phone page in real headless Chromium: sign in with a member token (the developer option), live
entries, mark read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deploy.stack.browser import Chromium
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService

pytestmark = pytest.mark.integration

SCREENSHOT = Path(os.environ.get("CIVICGRID_PWA_SCREENSHOT", "/tmp/notifications-pwa.png"))


async def test_the_phone_page_shows_live_entries_and_the_badge_and_syncs_a_read_made_elsewhere(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    url = f"{notifications.base_url}/app/#token={notifications.token(person)}"
    async with Chromium() as browser:
        page = await browser.open(url)
        await page.wait_for("document.body.dataset.live === '1'")
        assert await page.evaluate("document.querySelectorAll('#feed li.entry').length") == 0

        await notifications.kafka.publish(facts.appointed(community, person, org_id))
        await page.wait_for("document.querySelectorAll('#feed li.entry').length === 1")
        assert (
            await page.evaluate("document.querySelector('#feed li.entry h3').textContent")
            == "任职通知：楼栋长"
        )
        assert await page.evaluate("document.getElementById('badge-count').textContent") == "1"

        await notifications.kafka.publish(facts.appointed(community, person, org_id, post="grid_leader"))
        await page.wait_for("document.getElementById('badge-count').textContent === '2'")
        await page.screenshot(SCREENSHOT)
        assert (await page.call("Page.captureScreenshot", format="png"))["data"]

        await page.evaluate("document.querySelector('#feed li.entry button.mark-read').click()")
        await page.wait_for("document.getElementById('badge-count').textContent === '1'")

        other = await page.evaluate("document.querySelector('#feed li.entry.unseen').dataset.id")
        marked = await notifications.http.post(
            f"{notifications.base_url}/members/{person}/feed/{other}/state",
            json={"state": "read"},
            headers=notifications.auth(person),
        )
        assert marked.status_code == 200
        await page.wait_for("document.getElementById('badge-count').textContent === '0'")
        states = await page.evaluate(
            "JSON.stringify([...document.querySelectorAll('#feed li.entry')].map(li => li.dataset.state))"
        )
        assert json.loads(states) == ["read", "read"]


async def test_the_phone_page_asks_for_a_token_when_the_one_given_is_not_valid(
    notifications: RunningService,
) -> None:
    async with Chromium() as browser:
        page = await browser.open(f"{notifications.base_url}/app/#token=not-a-token")
        error = await page.wait_for("document.getElementById('signin-error').textContent")
        assert "401" in error
        assert await page.evaluate("document.getElementById('screen-feed').hidden") is True
        assert await page.evaluate("document.getElementById('screen-signin').hidden") is False
