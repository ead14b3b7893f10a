"""Two devices of one member in real headless Chromium, one of them behind a proxy that cuts its
connection before any live event: nothing is missed and the badge never lies (issue 10, item 1).

The phone reaches notifications through a TCP proxy (another origin, so its own storage: another device);
the tablet connects directly. The proxy resets the phone's stream before it has seen a single live event,
notices arrive while it is cut off, then the proxy lets it back: the phone must show them without a
reload, and a mark-all on the tablet must turn every item read on the phone too.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from deploy.stack.browser import Chromium, Page
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService
from tests.integration.runtime.faultproxy import FaultProxy

pytestmark = pytest.mark.integration

ENTRIES = "document.querySelectorAll('#feed li.entry').length"
BADGE = "document.getElementById('badge-count').textContent"
LIVE = "document.body.dataset.live"


async def _states(page: Page) -> list[str]:
    found = await page.evaluate(
        "JSON.stringify([...document.querySelectorAll('#feed li.entry')].map(li => li.dataset.state))"
    )
    return list(json.loads(found))


async def test_a_device_cut_off_before_any_live_event_catches_up_and_a_mark_all_elsewhere_reads_all(
    notifications: RunningService,
) -> None:
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await notifications.kafka.publish(facts.organisation(community, org_id))
    address = urlsplit(notifications.base_url)
    proxy = FaultProxy(address.hostname or "127.0.0.1", address.port or 80)
    await proxy.start()
    token = notifications.token(person)
    try:
        async with Chromium() as browser:
            phone = await browser.open(f"http://127.0.0.1:{proxy.port}/app/#token={token}")
            tablet = await browser.open(f"{notifications.base_url}/app/#token={token}")
            for page in (phone, tablet):
                await page.wait_for(f"{LIVE} === '1'")
                assert await page.evaluate(ENTRIES) == 0

            await proxy.cut()  # the phone's stream is reset; its reconnects are refused
            await phone.wait_for(f"{LIVE} === '0'")
            for post in ("building_head", "grid_leader", "building_head"):
                await notifications.kafka.publish(facts.appointed(community, person, org_id, post=post))
            await tablet.wait_for(f"{ENTRIES} === 3 && {BADGE} === '3'", timeout=60)
            assert await phone.evaluate(ENTRIES) == 0  # still cut off: it has seen nothing yet

            await proxy.restore()
            await phone.wait_for(f"{LIVE} === '1' && {ENTRIES} === 3 && {BADGE} === '3'", timeout=60)
            assert await _states(phone) == ["unseen", "unseen", "unseen"]

            await tablet.evaluate("document.getElementById('read-all').click()")
            for page in (tablet, phone):
                await page.wait_for(f"{BADGE} === '0'")
                await page.wait_for(
                    "[...document.querySelectorAll('#feed li.entry')]"
                    ".every(li => li.dataset.state === 'read')"
                )
                assert await _states(page) == ["read", "read", "read"]
    finally:
        await proxy.close()
