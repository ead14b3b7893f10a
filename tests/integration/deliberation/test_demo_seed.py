"""The demo seed (``deploy/stack/demo_deliberation.py``) through the HTTP API: run twice, it leaves one
roof vote open in 紫阳苑 that the notifications demo member (an owner there) may cast on the phone, and
one meeting inviting them."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import uvicorn

from civicgrid_runtime.auth import Role
from deploy.stack import demo_deliberation, demo_notifications
from tests.integration.deliberation.conftest import Running
from tests.integration.notifications.harness import eventually, free_port

pytestmark = pytest.mark.integration


async def test_the_demo_member_may_vote_in_the_seeded_roof_vote_and_is_invited_to_its_salon(
    service: Running,
) -> None:
    member = demo_notifications.DEMO_MEMBER
    assert member == demo_deliberation.DEMO_MEMBER
    compound = demo_deliberation.COMPOUND
    # As org-graph's demo registers 紫阳苑 1栋1单元101 (owned by the demo member) and two neighbours.
    flats = await service.seed_households(
        demo_deliberation.COMMUNITY,
        compound,
        [(90.7, [member]), (66.45, ["demo-o-x-1"]), (70.0, ["demo-o-x-2"])],
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(service.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: asyncio.sleep(0, server.started), timeout=30, what="the HTTP server")
        token = service.issuer.mint("demo-admin", [Role.ADMIN])
        for _ in range(2):
            await asyncio.to_thread(demo_deliberation.seed, f"http://127.0.0.1:{port}", token, 30.0)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)

    [vote] = (await service.client.get("/me/votes", headers=service.member(member))).json()
    assert (vote["title"], vote["status"], vote["can_vote"]) == ("使用维修资金修缮屋面防水", "open", True)
    assert [v["voter_id"] for v in vote["my_voters"]] == [flats[0]]
    view = (await service.client.get(f"/me/votes/{vote['vote_id']}", headers=service.member(member))).json()
    assert view["rules"]["silent_majority"] is True
    meetings = (await service.client.get("/meetings?mine=true", headers=service.member(member))).json()
    assert [m["title"] for m in meetings] == ["屋面防水维修方案说明会"]
