"""Issue 11's story end to end, with org-graph, deliberation and resources as processes on their own
topics, databases and consumer groups (real Kafka, Neo4j and FerretDB):

households registered in org-graph (a roster import) reach deliberation's projection; a coordinator
convenes a tripartite joint meeting whose participants come from org-graph's posts; a resident raises a
topic that reaches the 5 % motion; the households vote (as the phone page does, with their own tokens)
and the double-majority decision shows its arithmetic; the resolution is adopted and disclosed on the
compound's public page, with a QR code pointing at it, both read without sign-in; the adopted project is
on resources' projects list, and a grid's team claims it to lead it."""

from __future__ import annotations

import asyncio
import io
from fractions import Fraction
from typing import Any

import httpx
import pytest
import segno

from civicgrid_runtime.auth import Role, TokenIssuer
from tests.e2e import processes
from tests.e2e.processes import Stack
from tests.e2e.test_journey import Api, register_community, until_ok
from tests.integration.notifications.harness import eventually

pytestmark = pytest.mark.e2e

processes.MODULES.setdefault("deliberation", ("civicgrid_deliberation", "DELIBERATION_"))

HOUSEHOLDS = 40
AREAS = [Fraction(8000 + 1250 * (i % 4), 100) for i in range(HOUSEHOLDS)]  # 80, 92.5, 105, 117.5 m²
"""Owner i owns unit i (one owner each)."""
CHOICES = {i: "approve" for i in range(0, 24)} | {i: "oppose" for i in range(24, 29)} | {29: "abstain"}
"""30 of 40 households vote (ten stay silent: the Civil Code's rule, no silent majority here)."""


def roster_csv(building: str, owners: list[str]) -> bytes:
    header = (
        "building_code,entrance,unit_number,exclusive_area_m2,owner_person_ids,owner_names,"
        "resident_person_ids,representative_person_id"
    )
    rows = [
        f"{building},{1 + i // 20},{101 + i % 20},{float(AREAS[i]):.2f},{owner},业主{i:02d},,"
        for i, owner in enumerate(owners)
    ]
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def measures(decision: dict[str, Any]) -> dict[str, tuple[Fraction, bool]]:
    return {m["name"]: (Fraction(m["ratio_exact"]), m["met"]) for m in decision["measures"]}


async def test_households_deliberate_vote_disclose_and_a_team_takes_up_the_adopted_project(
    stack: Stack, issuer: TokenIssuer
) -> None:
    og_process = stack.service("org-graph")
    rs_process = stack.service("resources")
    dl_process = stack.service("deliberation", VOTE_CLOSE_INTERVAL_SECONDS="3600")
    dl_process.env["DELIBERATION_PUBLIC_BASE_URL"] = dl_process.url
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in (og_process, rs_process, dl_process)))
    admin = issuer.mint("e2e-admin", [Role.ADMIN])

    def member(person: str) -> str:
        return issuer.mint(person, [Role.MEMBER], person_id=person)

    async with httpx.AsyncClient(timeout=60) as client:
        og, rs, dl = (Api(client, p.url, admin) for p in (og_process, rs_process, dl_process))
        street, community = await register_community(og)
        coordinator = issuer.mint("e2e-coordinator", [Role.COORDINATOR], region=street)
        compound, building, grid = f"{community}-C01", f"{community}-C01-B01", f"{community}001"
        tag = community[-6:]

        # org-graph: the compound, its building and grid, the four parties of a tripartite meeting.
        await og.ok(
            "POST",
            "/places",
            {"kind": "compound", "code": compound, "parent_code": community, "name": "紫阳苑"},
        )
        await og.ok(
            "POST", "/places", {"kind": "building", "code": building, "parent_code": compound, "name": "1栋"}
        )
        await og.ok("POST", "/grids", {"grid_id": grid, "name": "第一网格", "building_codes": [building]})

        async def organisation(kind: str, place: str, name: str, parent: str | None = None) -> str:
            body = {"kind": kind, "place_code": place, "name": name, "parent_org_id": parent}
            return str((await og.ok("POST", "/organisations", body))["org_id"])

        party = await organisation("party_committee", community, "社区党委")
        residents = await organisation("residents_committee", community, "社区居委会")
        assembly = await organisation("owners_assembly", compound, "紫阳苑业主大会")
        owners_committee = await organisation("owners_committee", compound, "紫阳苑业主委员会", assembly)
        property_company = await organisation("property_company", compound, "紫阳苑物业服务中心")
        posts = {
            "secretary": (party, "陈书记", "election", "2025年换届选举"),
            "director": (residents, "王主任", "election", "2025年换届选举"),
            "owners_committee_chair": (
                owners_committee,
                "赵主任",
                "owners_assembly_vote",
                "业主大会第1号决议",
            ),
            "property_manager": (property_company, "钱经理", "appointment", "物业公司任命"),
        }
        holders: dict[str, str] = {}
        for post, (org_id, name, basis, reference) in posts.items():
            person = f"e2e-{post}-{tag}"
            await og.ok(
                "POST", "/people", {"person_id": person, "display_name": name, "community_code": community}
            )
            await og.ok(
                "POST",
                "/memberships",
                {
                    "person_id": person,
                    "org_id": org_id,
                    "post": post,
                    "start_date": "2025-07-01",
                    "basis": basis,
                    "basis_reference": reference,
                },
            )
            holders[post] = person

        # 1. Households, through org-graph's API (a roster import registering the owners too).
        owners = [f"e2e-owner-{i:02d}-{tag}" for i in range(HOUSEHOLDS)]
        imported = await client.post(
            og.base + "/imports/households",
            files={"file": ("households.csv", roster_csv(building, owners), "text/csv")},
            headers=og.headers(),
        )
        assert imported.status_code < 300, imported.text
        totals = await og.ok("GET", f"/compounds/{compound}/households?limit=1")
        assert totals["totals"]["motion_5_percent"]["owners"] == 2

        # ... they reach deliberation's projection (in order: one community, one partition) — the last
        # one there, a resident (its owner) may raise a topic.
        raised: list[httpx.Response] = []

        async def topic_raised() -> bool:
            raised.append(
                await dl.call(
                    "POST",
                    "/topics",
                    {"place_code": compound, "title": "加装电梯", "description": "1栋没有电梯，老人上下楼难"},
                    token=member(owners[-1]),
                )
            )
            assert raised[-1].status_code in (201, 403), raised[-1].text
            return raised[-1].status_code == 201

        await eventually(topic_raised, timeout=60, interval=0.5, what="the households in deliberation")
        topic = raised[-1].json()
        assert topic["raised_as"] == "resident"

        # 2. A coordinator convenes a tripartite joint meeting: the participants are org-graph's post holders.
        meeting_body = {
            "level": "compound",
            "place_code": compound,
            "meeting_type": "tripartite_joint_meeting",
            "title": "加装电梯协商",
            "scheduled_for": "2026-12-10T19:00:00+08:00",
            "agenda": [{"title": "加装电梯方案", "topic_id": topic["topic_id"]}],
        }
        meetings: list[dict[str, Any]] = []

        async def convened_with_everyone() -> bool:  # the posts may reach the projection after the households
            meetings.append(
                await dl.ok(
                    "POST",
                    "/meetings",
                    {**meeting_body, "title": f"加装电梯协商{len(meetings)}"},
                    token=coordinator,
                )
            )
            return {p["person_id"] for p in meetings[-1]["participants"]} == set(holders.values())

        await eventually(convened_with_everyone, timeout=60, interval=1, what="the posts in deliberation")
        meeting = meetings[-1]
        parties = {p["person_id"]: (p["org_kind"], p["party"]) for p in meeting["participants"]}
        assert parties == {
            holders["secretary"]: ("party_committee", "community"),
            holders["director"]: ("residents_committee", "community"),
            holders["owners_committee_chair"]: ("owners_committee", "owners"),
            holders["property_manager"]: ("property_company", "property"),
        }
        mine = await dl.ok("GET", "/meetings?mine=true", token=member(holders["property_manager"]))
        assert meeting["meeting_id"] in [m["meeting_id"] for m in mine]

        # 3. The topic reaches the 5 % motion: 2 of 40 owners.
        path = f"/topics/{topic['topic_id']}/support"
        first = await dl.ok("POST", path, {}, token=member(owners[0]))
        assert first["status"] == "raised"
        second = await dl.ok("POST", path, {}, token=member(owners[1]))
        assert (second["status"], second["reached_now"]) == ("on_agenda", True)
        motion = second["motion"]["measure"]
        assert (motion["numerator"], motion["denominator"], motion["threshold"]) == (2, 40, "≥ 1/20")

        # 4. The households vote; the decision shows its arithmetic.
        vote = await dl.ok(
            "POST",
            "/votes",
            {
                "compound_code": compound,
                "title": "使用维修资金加装电梯",
                "matter": "use_maintenance_fund",
                "closes_at": "2099-01-01T00:00:00Z",
                "topic_id": topic["topic_id"],
            },
            token=coordinator,
        )
        assert vote["eligible_voters"] == HOUSEHOLDS
        vote_id = vote["vote_id"]
        answers = await asyncio.gather(
            *(
                dl.call("POST", f"/votes/{vote_id}/ballots", {"choice": c}, token=member(owners[i]))
                for i, c in CHOICES.items()
            )
        )
        assert [a.status_code for a in answers] == [200] * len(CHOICES)
        assert (await dl.ok("GET", f"/votes/{vote_id}", token=member(owners[24])))["my_ballots"] == {
            answers[24].json()["voter_id"]: "oppose"
        }
        closed = await dl.ok("POST", f"/votes/{vote_id}/close", token=coordinator)
        decision = closed["decision"]
        area = sum(AREAS)
        voted = sum(AREAS[i] for i in CHOICES)
        approving = sum(AREAS[i] for i, c in CHOICES.items() if c == "approve")
        assert measures(decision) == {
            "participation_area": (voted / area, True),
            "participation_owners": (Fraction(30, 40), True),
            "approval_area": (approving / voted, True),
            "approval_owners": (Fraction(24, 30), True),
        }
        assert (decision["outcome"], closed["resolution_id"]) == ("adopted", f"rs-{vote_id}")
        assert (await dl.ok("GET", f"/topics/{topic['topic_id']}", token=coordinator))["status"] == "decided"

        # 5. Disclosed on the compound's public page, with a QR code to it: no sign-in, no person.
        page_url = f"{dl.base}/public/disclosures/{compound}/page"
        qr = await client.get(f"{dl.base}/public/disclosures/{compound}/qr.png")
        assert qr.status_code == 200
        assert qr.headers["content-type"] == "image/png"
        assert qr.content == qr_png(page_url)
        page = await client.get(page_url)
        assert page.status_code == 200, page.text
        assert "使用维修资金加装电梯" in page.text
        assert "approval_owners" in page.text
        assert not any(person in page.text for person in [*owners, *holders.values()])
        items = (await client.get(f"{dl.base}/public/disclosures/{compound}")).json()
        [item] = [i for i in items if i["source_id"] == vote_id]
        assert item["kind"] == "decision"

        # 6. The adopted project is on resources' projects list; a grid's team claims it to lead it.
        team = await until_ok(
            rs, "POST", "/teams", {"grid_id": grid, "name": "第一网格服务队"}, "the grid in resources"
        )
        project_id = f"project-rs-{vote_id}"

        async def on_projects_list() -> bool:
            listed = await rs.ok("GET", f"/needs?community_code={community}&list=projects", token=coordinator)
            return project_id in [p["id"] for p in listed]

        await eventually(on_projects_list, timeout=60, interval=0.5, what="the project in resources")
        claimed = await rs.ok(
            "POST", f"/needs/{project_id}/claims", {"team_id": team["id"]}, token=coordinator
        )
        assert (claimed["team_id"], claimed["remaining"]) == (team["id"], 0)
        [project] = [
            p
            for p in await rs.ok("GET", f"/needs?community_code={community}&list=projects", token=coordinator)
            if p["id"] == project_id
        ]
        assert (project["resolution_id"], project["title"], project["claimants"]) == (
            f"rs-{vote_id}",
            "使用维修资金加装电梯",
            [team["id"]],
        )
        needs = await rs.ok("GET", f"/needs?community_code={community}", token=coordinator)
        assert project_id not in [n["id"] for n in needs]
