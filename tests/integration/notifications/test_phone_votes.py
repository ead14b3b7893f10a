"""The compound votes on the phone: in headless Chromium, an owner of two flats signs in with an SMS code,
opens the vote from its notice in the feed, reads the matter and the compound's rule in plain words,
casts a ballot for each flat (the app calls deliberation's API directly with the member's token: CORS for
the app's origin), sees them recorded, sees the meeting they are invited to, and after the vote closes
reads the decision with its arithmetic. axe-core finds nothing serious or critical on the new screens.

notifications and deliberation run as real HTTP servers on topics, databases and consumer groups of this
test's own (org-graph's household facts are published as org-graph publishes them); they share the
signing keys, as the services of one deployment do."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from civicgrid_contracts.values import mask_phone
from civicgrid_deliberation.bootstrap import create_app
from civicgrid_deliberation.settings import DeliberationSettings
from civicgrid_runtime.auth import TokenIssuer
from deploy.stack.browser import Chromium, Page
from tests.integration.deliberation.conftest import Running
from tests.integration.notifications.harness import (
    RunningService,
    eventually,
    free_port,
    start_service,
    stop_service,
)
from tests.integration.notifications.test_phone_app import click, serious_violations, set_value, texts
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

STREET = "420106002"


@dataclass
class Stack:
    notifications: RunningService
    deliberation: Running
    deliberation_url: str


@contextlib.asynccontextmanager
async def stack(servers: Servers, keys: Path, mongo_client: Any) -> AsyncIterator[Stack]:
    tag = uuid.uuid4().hex[:10]
    suffix = f".t{tag}"
    port = free_port()
    deliberation_url = f"http://127.0.0.1:{port}"
    notifications = await start_service(
        servers.kafka_bootstrap,
        servers.mongo_uri,
        f"t_notifications_votes_{tag}",
        keys,
        f"notifications-votes-{tag}",
        topic_suffix=suffix,
        consumer_offset_reset="earliest",
        deliberation_public_url=deliberation_url,
    )
    settings = DeliberationSettings(
        environment="test",
        log_json=False,
        log_level="WARNING",
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        mongo_uri=servers.mongo_uri,
        mongo_database=f"t_deliberation_votes_{tag}",
        topic_suffix=suffix,
        consumer_group=f"deliberation-votes-{tag}",
        keys_dir=keys,
        outbox_poll_interval_seconds=0.1,
        consumer_retry_backoff_seconds=0.05,
        public_base_url=deliberation_url,
        cors_allowed_origins=[notifications.base_url],  # the phone app's origin, and no other
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    client = httpx.AsyncClient(base_url=deliberation_url, timeout=30)
    try:
        await eventually(lambda: asyncio.sleep(0, server.started), timeout=60, what="deliberation to start")
        issuer = TokenIssuer(keys, settings.jwt_issuer, settings.jwt_audience)
        yield Stack(notifications, Running(app, client, settings, issuer), deliberation_url)
    finally:
        await client.aclose()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)
        await stop_service(notifications)
        await mongo_client.drop_database(settings.mongo_database)
        await mongo_client.drop_database(notifications.settings.mongo_database)


async def sign_in_by_sms(page: Page, phone: str, capfd: pytest.CaptureFixture[str]) -> None:
    await page.wait_for("document.body.dataset.screen === 'signin'")
    capfd.readouterr()
    await set_value(page, "phone-input", phone)
    await click(page, "#code-button")
    await page.wait_for("document.getElementById('signin-message').textContent.includes('验证码已发送')")
    printed = capfd.readouterr().out
    assert phone not in printed
    line = next(line for line in printed.splitlines() if mask_phone(phone) in line)
    code = re.search(r": ([0-9]{6}) ", line)
    assert code is not None
    await set_value(page, "code-input", code.group(1))
    await click(page, "#verify-button")
    await page.wait_for("document.body.dataset.screen === 'feed' && document.body.dataset.live === '1'")


async def test_an_owner_votes_for_each_flat_on_the_phone_and_reads_the_decision_with_its_arithmetic(
    servers: Servers, tmp_path: Path, mongo_client: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    async with stack(servers, tmp_path, mongo_client) as s:
        notifications, deliberation = s.notifications, s.deliberation
        notifications.app.state.components["sign_in"].client_limits = ()
        community = f"{STREET}{random.randint(100, 999)}"
        compound, tag = f"{community}-C01", uuid.uuid4().hex[:6]
        owner, neighbour = f"owner-{tag}", f"neighbour-{tag}"
        # The member owns two flats (90 and 50 m²); the neighbour one (60 m²).
        flats = await deliberation.seed_households(
            community, compound, [(90.0, [owner]), (50.0, [owner]), (60.0, [neighbour])]
        )
        owners = mongo_client[notifications.settings.mongo_database]["households"]

        async def notifications_knows_the_owners() -> bool:
            return bool(await owners.count_documents({"compound_code": compound}) == 3)

        await eventually(
            notifications_knows_the_owners, timeout=90, what="notifications' household projection"
        )
        phone = f"137{random.randint(0, 99_999_999):08d}"
        contacts = await notifications.http.put(
            f"{notifications.base_url}/members/{owner}/contacts",
            json={"sms": phone},
            headers=notifications.auth(owner),
        )
        assert contacts.status_code == 204

        opened = await deliberation.client.post(
            "/votes",
            json={
                "compound_code": compound,
                "title": "使用维修资金修缮屋面防水",
                "matter": "use_maintenance_fund",
                "closes_at": "2099-12-31T16:00:00Z",
            },
            headers=deliberation.coordinator(),
        )
        assert opened.status_code == 201, opened.text
        vote_id = opened.json()["vote_id"]
        convened = await deliberation.client.post(
            "/meetings",
            json={
                "level": "compound",
                "place_code": compound,
                "meeting_type": "property_salon",
                "title": "屋面防水说明会",
                "scheduled_for": "2099-12-20T19:00:00+08:00",
                "agenda": [{"title": "维修方案与费用"}],
                "guest_person_ids": [owner],
            },
            headers=deliberation.coordinator(),
        )
        assert convened.status_code == 201, convened.text
        meeting_id = convened.json()["meeting_id"]
        await notifications.wait_for_feed(owner, 2, timeout=90)

        async with Chromium() as browser:
            page = await browser.open(f"{notifications.base_url}/app/")
            await sign_in_by_sms(page, f"{phone[:3]} {phone[3:7]} {phone[7:]}", capfd)

            # The feed's vote notice links to the vote in the app.
            await page.wait_for("document.querySelectorAll('#feed li.entry a.go').length === 2")
            links = dict(
                zip(
                    await texts(page, "#feed li.entry a.go"),
                    [
                        await page.evaluate(
                            f"document.querySelectorAll('#feed li.entry a.go')[{i}].getAttribute('href')"
                        )
                        for i in range(2)
                    ],
                    strict=True,
                )
            )
            assert links == {"去投票": f"#/vote/{vote_id}", "查看会议": f"#/meeting/{meeting_id}"}
            await click(page, "#feed li.entry a.go[href^='#/vote/']")
            await page.wait_for(
                "document.body.dataset.screen === 'vote' && "
                "document.getElementById('vote-title').textContent === '使用维修资金修缮屋面防水'"
            )
            assert (
                await page.evaluate("document.getElementById('vote-matter').textContent")
                == "使用建筑物及其附属设施的维修资金"
            )
            rule = "".join(await texts(page, "#vote-rule li"))
            assert "每套房屋（专有部分）一票" in rule
            assert "面积和人数都须达到全体业主的 2/3（含）以上，否则不作决定" in rule
            assert "同意的业主所持专有面积和人数都须超过参与表决业主的 1/2（本事项为一般事项）" in rule
            assert "未采用“沉默从众”" in rule
            assert (
                await page.evaluate("document.getElementById('vote-ballot').textContent")
                == "1栋1单元101：尚未投票；1栋1单元102：尚未投票"
            )
            assert await page.evaluate("document.getElementById('vote-voter-row').hidden") is False
            assert await serious_violations(page) == [], "vote screen"

            # Flat 101 approves; flat 102 opposes (chosen in the list of the member's flats).
            await click(page, "#choice-approve")
            await click(page, "#vote-submit")
            await page.wait_for("document.getElementById('vote-message').textContent === '已记录：同意'")
            await set_value(page, "vote-voter", flats[1])
            await page.evaluate("document.getElementById('vote-voter').dispatchEvent(new Event('change'))")
            assert await page.evaluate("document.getElementById('choice-approve').checked") is False
            await click(page, "#choice-oppose")
            await click(page, "#vote-submit")
            await page.wait_for(
                "document.getElementById('vote-ballot').textContent === "
                "'1栋1单元101：已投 同意；1栋1单元102：已投 反对'"
            )
            recorded = (
                await deliberation.client.get(f"/me/votes/{vote_id}", headers=deliberation.member(owner))
            ).json()
            assert {v["voter_id"]: v["choice"] for v in recorded["my_voters"]} == {
                flats[0]: "approve",
                flats[1]: "oppose",
            }

            # 议事 lists the vote (both ballots cast) and the meeting the member is invited to.
            await click(page, "#tabs a[data-tab='deliberation']")
            await page.wait_for(
                "document.body.dataset.screen === 'deliberation' && "
                "document.querySelectorAll('#votes li.card').length === 1 && "
                "document.querySelectorAll('#meetings li.card').length === 1"
            )
            assert "已投票：同意、反对" in (await texts(page, "#votes li.card"))[0]
            assert await texts(page, "#meetings li.card h4") == ["屋面防水说明会"]
            assert await serious_violations(page) == [], "议事 screen"
            await click(page, "#meetings li.card a")
            await page.wait_for("document.getElementById('meeting-title').textContent === '屋面防水说明会'")
            assert await page.evaluate("document.getElementById('meeting-type').textContent") == "物业沙龙"
            assert await texts(page, "#meeting-agenda li") == ["维修方案与费用"]
            assert await serious_violations(page) == [], "meeting screen"

            # The neighbour approves; the vote is closed; the member reads the decision and its arithmetic.
            answer = await deliberation.client.post(
                f"/votes/{vote_id}/ballots",
                json={"choice": "approve"},
                headers=deliberation.member(neighbour),
            )
            assert answer.status_code == 200, answer.text
            closed = await deliberation.client.post(
                f"/votes/{vote_id}/close", headers=deliberation.coordinator()
            )
            assert closed.status_code == 200, closed.text
            await page.evaluate(f"location.hash = '#/vote/{vote_id}'")
            await page.wait_for("document.getElementById('vote-result').hidden === false")
            assert await page.evaluate("document.getElementById('vote-outcome').textContent") == "通过"
            assert await page.evaluate("document.getElementById('vote-form').hidden") is True
            rows = await texts(page, "#vote-measures tr")
            # 3 flats, 200 m², all took part; approving: 101 (90 m²) and the neighbour's (60 m²).
            assert rows == [
                "参与表决的专有面积 / 全体专有面积200 m² / 200 m² = 1（100.00%）不少于 2/3达到",
                "参与表决的业主人数 / 全体业主人数3 / 3 = 1（100.00%）不少于 2/3达到",
                "同意的专有面积 / 参与表决的专有面积150 m² / 200 m² = 3/4（75.00%）超过 1/2达到",
                "同意的业主人数 / 参与表决的业主人数2 / 3 = 2/3（66.67%）超过 1/2达到",
            ]
            assert "反对：1 户/人，50 m²" in await texts(page, "#vote-counts li")
            assert await serious_violations(page) == [], "vote result"


async def test_the_app_is_told_where_deliberation_is_and_deliberation_answers_only_the_apps_origin(
    servers: Servers, tmp_path: Path, mongo_client: Any
) -> None:
    async with stack(servers, tmp_path, mongo_client) as s:
        config = await s.notifications.http.get(f"{s.notifications.base_url}/app-config")
        assert config.json() == {"deliberation_url": s.deliberation_url}
        token = s.notifications.token("someone")
        async with httpx.AsyncClient(timeout=10) as http:
            ok = await http.get(
                f"{s.deliberation_url}/me/votes",
                headers={"Authorization": f"Bearer {token}", "Origin": s.notifications.base_url},
            )
            assert ok.status_code == 200  # the token signed in at notifications is good at deliberation
            assert ok.headers["access-control-allow-origin"] == s.notifications.base_url
            other = await http.get(
                f"{s.deliberation_url}/me/votes",
                headers={"Authorization": f"Bearer {token}", "Origin": "http://127.0.0.1:1"},
            )
            assert "access-control-allow-origin" not in other.headers
