"""The phone app in headless Chromium, as a member uses it: sign in with an SMS code, read, archive, set
preferences, open a notice in the app; installability and offline opening; axe-core on every screen."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from civicgrid_contracts.values import mask_phone
from civicgrid_runtime.auth import Role
from deploy.stack.browser import Chromium, Page
from tests.integration.notifications import facts
from tests.integration.notifications.harness import RunningService, eventually

pytestmark = pytest.mark.integration

SERIOUS = ("serious", "critical")


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    return [v for v in await page.axe() if v["impact"] in SERIOUS]


async def set_value(page: Page, element_id: str, value: str) -> None:
    await page.evaluate(
        f"(() => {{ const e = document.getElementById({json.dumps(element_id)}); "
        f"e.value = {json.dumps(value)}; e.dispatchEvent(new Event('input')); }})()"
    )


async def click(page: Page, selector: str) -> None:
    await page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


async def texts(page: Page, selector: str) -> list[str]:
    found: list[str] = json.loads(
        await page.evaluate(
            f"JSON.stringify([...document.querySelectorAll({json.dumps(selector)})].map(e => e.textContent))"
        )
    )
    return found


async def test_a_member_signs_in_by_sms_code_reads_archives_and_sets_preferences_with_no_serious_axe_finding(
    notifications: RunningService, capfd: pytest.CaptureFixture[str]
) -> None:
    service = notifications
    sign_in = service.app.state.components["sign_in"]
    sign_in.client_limits = ()  # every browser test signs in from 127.0.0.1
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    phone = f"137{random.randint(0, 99_999_999):08d}"
    contacts = await service.http.put(
        f"{service.base_url}/members/{person}/contacts", json={"sms": phone}, headers=service.auth(person)
    )
    assert contacts.status_code == 204
    await service.kafka.publish(
        facts.organisation(community, org_id), facts.appointed(community, person, org_id)
    )
    await service.wait_for_feed(person, 1)

    async with Chromium() as browser:
        page = await browser.open(f"{service.base_url}/app/")
        await page.wait_for("document.body.dataset.screen === 'signin'")
        assert await page.evaluate("getComputedStyle(document.getElementById('tabs')).display") == "none"
        assert await serious_violations(page) == [], "sign-in screen"

        capfd.readouterr()
        await set_value(page, "phone-input", f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}")
        await click(page, "#code-button")
        await page.wait_for("document.getElementById('signin-message').textContent.includes('验证码已发送')")
        assert await page.evaluate("document.getElementById('code-button').disabled") is True
        printed = capfd.readouterr().out
        assert phone not in printed
        line = next(line for line in printed.splitlines() if mask_phone(phone) in line)
        code = re.search(r": ([0-9]{6}) ", line)
        assert code is not None

        await set_value(page, "code-input", "000000" if code.group(1) != "000000" else "111111")
        await click(page, "#verify-button")
        await page.wait_for("document.getElementById('signin-error').textContent === '验证码不正确'")
        await set_value(page, "code-input", code.group(1))
        await click(page, "#verify-button")
        await page.wait_for("document.body.dataset.screen === 'feed' && document.body.dataset.live === '1'")
        stored = json.loads(await page.evaluate("localStorage.getItem('civicgrid.auth')"))
        assert stored["refresh"]
        assert await page.evaluate("document.getElementById('badge-count').textContent") == "1"
        assert await page.evaluate("document.getElementById('badge').innerText.replace(/\\s+/g, '')") == (
            "未读通知1条"
        )
        assert await texts(page, "#feed li.entry .tag") == ["任职", "未读"]
        assert await texts(page, "#feed li.entry time") == ["刚刚"]
        assert await serious_violations(page) == [], "feed screen"

        # A new notice is announced to screen readers and labelled by its priority.
        await service.http.post(
            f"{service.base_url}/broadcasts",
            json={
                "audience": f"community:{community}",
                "community_code": community,
                "category": "notice",
                "priority": "critical",
                "title": "紧急停水通知",
                "body": "今晚22点至次日6点停水。",
            },
            headers=service.auth(role=Role.ADMIN),
        )
        await page.wait_for("document.querySelectorAll('#feed li.entry').length === 2")
        await page.wait_for("document.getElementById('announcer').textContent === '新通知：紧急停水通知'")
        assert await texts(page, "#feed li.entry.priority-critical .tag") == ["公告", "紧急", "未读"]
        assert (
            await page.evaluate("document.getElementById('announcer').getAttribute('aria-live')") == "polite"
        )

        # Archive: it leaves the feed and shows under 归档.
        await click(page, "#feed li.entry.priority-critical button.archive")
        await page.wait_for("document.querySelectorAll('#feed li.entry').length === 1")
        await click(page, "#tabs a[data-tab='archive']")
        await page.wait_for(
            "document.getElementById('feed-title').textContent === '已归档' && "
            "document.querySelectorAll('#feed li.entry.archived').length === 1"
        )
        assert await texts(page, "#feed li.entry h3") == ["紧急停水通知"]

        # Settings: the configured channels, quiet hours, categories and digest hour, saved over the API.
        await click(page, "#tabs a[data-tab='settings']")
        await page.wait_for("document.querySelectorAll('#category-rows tr').length === 5")
        assert await serious_violations(page) == [], "settings screen"
        await page.evaluate("document.getElementById('quiet-enabled').checked = true")
        await set_value(page, "quiet-start", "21:30")
        await set_value(page, "quiet-end", "07:15")
        await page.evaluate("document.getElementById('cat-team-enabled').checked = false")
        await page.evaluate("document.getElementById('cat-notice-digest').checked = true")
        await set_value(page, "digest-hour", "19")
        await click(page, "#save-settings")
        await page.wait_for("document.getElementById('settings-message').textContent === '设置已保存'")
        saved = (
            await service.http.get(
                f"{service.base_url}/members/{person}/preferences", headers=service.auth(person)
            )
        ).json()
        assert saved["quiet_hours"] == {"start": "21:30", "end": "07:15"}
        assert saved["categories"]["team"]["enabled"] is False
        assert saved["categories"]["notice"]["digest"] is True
        assert saved["digest_hour"] == 19
        assert saved["channels"] == ["web_push"]

        # The access token is refreshed with the rotating refresh token when it is refused.
        await page.evaluate(
            "(() => { const a = JSON.parse(localStorage.getItem('civicgrid.auth')); "
            "state.auth = Object.assign({}, a, {access: 'expired'}); })()"
        )
        await click(page, "#tabs a[data-tab='feed']")
        await page.wait_for(
            "document.getElementById('feed-title').textContent === '通知' && "
            "[...document.querySelectorAll('#feed li.entry h3')].map(h => h.textContent).join() === "
            "'任职通知：楼栋长'"
        )
        rotated = json.loads(await page.evaluate("localStorage.getItem('civicgrid.auth')"))
        assert rotated["refresh"] != stored["refresh"]
        assert rotated["access"] != "expired"
        assert await page.evaluate("document.body.dataset.screen") == "feed"


async def test_view_opens_the_request_status_in_the_app_not_the_resources_api(
    notifications: RunningService,
) -> None:
    service = notifications
    community, request, resident = facts.new_community(), facts.uid("rq"), facts.uid("re")
    await service.kafka.publish(
        facts.request_received(community, request, f"{community}001", resident),
        facts.resolved(community, request),
    )
    await service.wait_for_feed(resident, 1)
    async with Chromium() as browser:
        page = await browser.open(f"{service.base_url}/app/#token={service.token(resident)}")
        await page.wait_for("document.querySelectorAll('#feed li.entry').length === 1")
        href = await page.evaluate("document.querySelector('#feed li.entry a.open').getAttribute('href')")
        assert href.startswith("#/item/")
        assert "requests" not in href
        await click(page, "#feed li.entry a.open")
        await page.wait_for("document.getElementById('request-status').textContent === '已办结'")
        assert await page.evaluate("location.pathname") == "/app/"
        assert (
            await page.evaluate("document.getElementById('item-title').textContent")
            == "您的诉求已办结，请评价"
        )
        assert await texts(page, "#request-steps li strong") == ["已受理", "已办结"]
        assert await page.evaluate("document.getElementById('request-evaluate').hidden") is False
        assert "楼道灯" in await page.evaluate("document.getElementById('request-summary').textContent")
        await page.wait_for("document.getElementById('badge-count').textContent === '0'")  # opened = read
        assert await serious_violations(page) == [], "item view"


async def test_the_app_is_installable_and_opens_offline_with_the_last_feed_page(
    notifications: RunningService,
) -> None:
    service = notifications
    community, org_id, person = facts.new_community(), facts.uid("org"), facts.uid("p")
    await service.kafka.publish(
        facts.organisation(community, org_id), facts.appointed(community, person, org_id)
    )
    await service.wait_for_feed(person, 1)
    async with Chromium() as browser:
        page = await browser.open(f"{service.base_url}/app/#token={service.token(person)}")
        await page.wait_for("document.querySelectorAll('#feed li.entry').length === 1")
        await page.wait_for("navigator.serviceWorker.controller !== null")  # registered on load, no push

        manifest = await page.call("Page.getAppManifest")
        assert manifest["errors"] == []
        parsed = json.loads(manifest["data"])
        icons = {(i["sizes"], i.get("purpose", "any")) for i in parsed["icons"]}
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= icons
        assert parsed["display"] == "standalone"

        async def installable() -> bool:
            errors = (await page.call("Page.getInstallabilityErrors"))["installabilityErrors"]
            return bool(errors == [])

        await eventually(installable, timeout=20, what="no installability errors")
        for icon in parsed["icons"]:
            answer = await service.http.get(f"{service.base_url}/app/{icon['src']}")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "image/png"

        # The worker took over after the first page was read: it reads the page again and keeps it.
        await page.wait_for(
            "caches.open('civicgrid-data-v1').then(c => c.keys()).then(k => k.some("
            "r => r.url.includes('/feed?')))"
        )
        await page.set_offline(True)
        await page.reload()
        await page.wait_for(
            "document.querySelectorAll('#feed li.entry').length === 1 && "
            "!document.getElementById('offline-note').hidden"
        )
        assert await texts(page, "#feed li.entry h3") == ["任职通知：楼栋长"]
        assert await page.evaluate("document.body.dataset.live") == "0"
        await page.set_offline(False)
        await page.wait_for("document.body.dataset.live === '1'", timeout=30)


async def test_times_read_as_relative_chinese_phrases(notifications: RunningService) -> None:
    async with Chromium() as browser:
        page = await browser.open(f"{notifications.base_url}/app/")
        await page.wait_for("document.body.dataset.screen === 'signin'")
        now = "Date.parse('2026-03-10T12:00:00+08:00')"
        cases = {
            "2026-03-10T11:59:30+08:00": "刚刚",
            "2026-03-10T11:55:00+08:00": "5分钟前",
            "2026-03-10T09:00:00+08:00": "3小时前",
            "2026-03-09T10:00:00+08:00": "昨天",
            "2026-03-06T12:00:00+08:00": "4天前",
            "2026-02-01T12:00:00+08:00": "2月1日",
            "2025-12-31T12:00:00+08:00": "2025年12月31日",
        }
        for iso, expected in cases.items():
            assert await page.evaluate(f"relativeTime('{iso}', {now})") == expected, iso
