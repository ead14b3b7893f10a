"""The first end-to-end journey: org-graph and resources over HTTP, Kafka, the notifications service,
members' feeds and live streams (all three services as processes, real Kafka, Neo4j and FerretDB)."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import httpx
import pytest

from civicgrid_runtime.auth import Role, TokenIssuer
from tests.e2e.processes import Stack, start_group_at_end
from tests.integration.notifications.harness import Kafka, entries_of, eventually, has_entries, streaming

pytestmark = pytest.mark.e2e
PLACES = "civicgrid.org.places.v1"


def notification_topics() -> list[str]:
    from civicgrid_contracts.catalogue import topic_for
    from civicgrid_notifications.entrypoints.consumers import consumed_event_types

    return sorted({topic_for(t) for t in consumed_event_types()})


class Api:
    def __init__(self, client: httpx.AsyncClient, base: str, token: str) -> None:
        self.client, self.base, self.token = client, base, token

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        return await self.client.request(method, self.base + path, json=body, headers=self.headers(token))

    async def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        response = await self.call(method, path, body, token)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None


async def until_ok(api: Api, method: str, path: str, body: Any, what: str) -> Any:
    """Repeat a write that resources refuses until org-graph's events reached it (422 *_known)."""
    answers: list[httpx.Response] = []

    async def probe() -> bool:
        answers.append(await api.call(method, path, body))
        assert answers[-1].status_code in (200, 201, 422), answers[-1].text
        return answers[-1].status_code < 300

    try:
        await eventually(probe, timeout=90, interval=0.5, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}; last answer: {answers[-1].text[:400] if answers else None}") from None
    return answers[-1].json()


async def titles(api: Api, member: str, token: str) -> list[str]:
    page = await api.ok("GET", f"/members/{member}/feed?limit=100", token=token)
    return [i["title"] for i in page["items"]]


def has_title(api: Api, member: str, token: str, prefix: str) -> Any:
    async def probe() -> bool:
        return any(t.startswith(prefix) for t in await titles(api, member, token))

    return probe


async def register_community(og: Api) -> tuple[str, str]:
    for kind, code, name in (
        ("province", "420000000000", "湖北省"),
        ("city", "420100000000", "武汉市"),
        ("district", "420106000000", "武昌区"),
    ):
        response = await og.call("POST", "/places", {"kind": kind, "code": code, "name": name})
        assert response.status_code in (200, 201, 409), response.text
    while True:
        street = f"420106{random.randint(100, 999)}000"
        community = f"{street[:9]}{random.randint(1, 999):03d}"
        response = await og.call(
            "POST", "/places", {"kind": "street", "code": street, "name": f"测试街道{street[6:9]}"}
        )
        assert response.status_code in (200, 201, 409), response.text
        created = await og.call(
            "POST",
            "/places",
            {
                "kind": "community",
                "code": community,
                "name": f"测试社区{community[9:]}",
                "attributes": {"residents": 12636, "households": 4453},
            },
        )
        if created.status_code == 201 and created.json().get("created", True):
            return street, community


async def test_a_member_hears_of_their_appointment_and_a_request_travels_the_whole_loop_to_the_right_feeds(
    stack: Stack, kafka: Kafka, issuer: TokenIssuer
) -> None:
    og_process = stack.service("org-graph")
    rs_process = stack.service("resources", SLA_UTILITIES_SECONDS="8", SLA_SWEEP_INTERVAL_SECONDS="1")
    nt_process = stack.service("notifications")
    await start_group_at_end(
        stack.kafka, f"{rs_process.env['RESOURCES_CONSUMER_GROUP']}.places", [PLACES], stack.topic_suffix
    )
    await start_group_at_end(
        stack.kafka, nt_process.env["NOTIFICATIONS_CONSUMER_GROUP"], notification_topics(), stack.topic_suffix
    )
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in (og_process, rs_process, nt_process)))
    admin = issuer.mint("e2e-admin", [Role.ADMIN])

    def member(person: str) -> str:
        return issuer.mint(person, [Role.MEMBER], person_id=person)

    async with httpx.AsyncClient(timeout=30) as client:
        og, rs, nt = (Api(client, p.url, admin) for p in (og_process, rs_process, nt_process))

        street, community = await register_community(og)
        coordinator = issuer.mint("e2e-coordinator", [Role.COORDINATOR], region=street)
        compound, building, grid = f"{community}-C01", f"{community}-C01-B01", f"{community}001"
        await og.ok(
            "POST",
            "/places",
            {"kind": "compound", "code": compound, "parent_code": community, "name": "紫阳苑"},
        )
        await og.ok(
            "POST", "/places", {"kind": "building", "code": building, "parent_code": compound, "name": "1栋"}
        )
        await og.ok("POST", "/grids", {"grid_id": grid, "name": "第一网格", "building_codes": [building]})
        party = (
            await og.ok(
                "POST",
                "/organisations",
                {"kind": "party_committee", "place_code": community, "name": "社区党委"},
            )
        )["org_id"]
        residents = (
            await og.ok(
                "POST",
                "/organisations",
                {"kind": "residents_committee", "place_code": community, "name": "社区居委会"},
            )
        )["org_id"]

        async def person(name: str, party_member: bool = False) -> str:
            body = {
                "display_name": name,
                "community_code": community,
                "party_member": party_member,
                "person_id": f"e2e-{uuid.uuid4().hex[:10]}",
            }
            return str((await og.ok("POST", "/people", body))["person_id"])

        secretary, head, resident = (
            await person("陈书记", True),
            await person("王楼栋长"),
            await person("李居民"),
        )
        workers = [await person("张网格员"), await person("刘志愿者")]
        await og.ok(
            "POST",
            "/memberships",
            {
                "person_id": secretary,
                "org_id": party,
                "post": "secretary",
                "start_date": "2025-07-01",
                "basis": "election",
                "basis_reference": "2025年换届选举",
            },
        )

        # 1. A coordinator appoints a building head -> that person's feed and open stream receive it.
        stream_url = f"{nt.base}/members/{head}/stream"
        async with streaming(client, stream_url, nt.headers(member(head))) as live:
            await og.ok(
                "POST",
                "/memberships",
                {
                    "person_id": head,
                    "org_id": residents,
                    "post": "building_head",
                    "building_code": building,
                    "start_date": "2025-07-01",
                    "basis": "appointment",
                    "basis_reference": "居委会决定2025-7号",
                },
                token=coordinator,
            )
            await eventually(has_entries(live, 1), timeout=60, what="the appointment on the head's stream")
        assert entries_of(live)[0]["data"]["item"]["title"] == "任职通知：楼栋长"
        assert await titles(nt, head, member(head)) == ["任职通知：楼栋长"]

        # 2. Resources join the grid's team; a resident's request is taken in and dispatched to the team.
        resource_ids = []
        for n, worker in enumerate(workers):
            resource = await until_ok(
                rs,
                "POST",
                "/resources",
                {
                    "community_code": community,
                    "kind": "volunteer",
                    "display_name": f"队员{n}",
                    "person_id": worker,
                    "resource_id": f"e2e-res-{worker}",
                },
                "the community in resources",
            )
            resource_ids.append(resource["id"])
            await rs.ok("POST", f"/resources/{resource['id']}/confirm", token=coordinator)

        for resource_id in resource_ids:  # resources learns of the grid from org-graph's events
            body = {"grid_id": grid, "role": "volunteer", "period_start": "2025-07-01"}
            await until_ok(rs, "POST", f"/resources/{resource_id}/grids", body, "the grid in resources")
        await rs.ok("POST", "/teams", {"grid_id": grid, "name": "第一网格服务队"})
        for resource_id in resource_ids:
            await rs.ok("POST", f"/teams/team-{grid}/members", {"resource_id": resource_id})
        request = await rs.ok(
            "POST",
            "/requests",
            {
                "community_code": community,
                "kind": "help",
                "category": "楼道照明",
                "urgency": "utilities",
                "summary": "1栋2单元楼道灯不亮",
                "grid_id": grid,
                "resident_person_id": resident,
            },
        )
        for worker in workers:
            await eventually(
                has_title(nt, worker, member(worker), "新派单"), timeout=60, what=f"the dispatch for {worker}"
            )

        # ... its deadline passes -> the community's coordinators are told of the escalation.
        await eventually(
            has_title(nt, secretary, member(secretary), "诉求升级督办"), timeout=90, what="the escalation"
        )
        assert all(not t.startswith("诉求升级督办") for t in await titles(nt, workers[0], member(workers[0])))

        # ... it is resolved -> the resident (named on request.received) is asked to evaluate it.
        request_path = f"/requests/{request['id']}"
        await rs.ok("POST", f"{request_path}/accept", {}, token=coordinator)
        resolved = await rs.ok("POST", f"{request_path}/resolve", {"result": "已更换灯泡"}, token=coordinator)
        assert resolved["status"] == "resolved"
        await eventually(
            has_title(nt, resident, member(resident), "您的诉求已办结"), timeout=60, what="the evaluation ask"
        )

        # 4. A member cannot read another member's feed or stream, whatever id is in the URL.
        intruder = member(workers[0])
        for path in (
            f"/members/{workers[1]}/feed",
            f"/members/{workers[1]}/unread-count",
            f"/members/{workers[1]}/stream",
        ):
            assert (await nt.call("GET", path, token=intruder)).status_code == 403
        other_entry = (await nt.ok("GET", f"/members/{workers[1]}/feed", token=member(workers[1])))["items"][
            0
        ]["id"]
        stolen = await nt.call(
            "POST", f"/members/{workers[0]}/feed/{other_entry}/state", {"state": "read"}, token=intruder
        )
        assert stolen.status_code == 404
