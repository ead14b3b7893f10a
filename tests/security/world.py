"""The objects the security tests act on, created through the services' own APIs.

Two streets of the run's district (A and B), one community in each, buildings, grids, party committees,
people, resources, teams, needs, an offer, a request, a feed entry, and for deliberation a household in
each street (the resident's in compound A, the neighbour's in compound B), a meeting, a topic, a vote and
an appraisal in street A. Four members:

- ``cadre`` (street A): holds a post, reported in as a volunteer, in grid A1's team (so an assignee of
  grid A1's requests), has points;
- ``resident`` (street A): files requests; owns and lives in household A (votes, raises and supports
  topics, grades the appraisal of the cadre);
- ``bystander`` (street A): concerned by nothing;
- ``neighbour`` (street B): the cadre's counterpart in street B; owns household B.

Factories make a fresh object per call where a call changes it (each allowed actor gets its own).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import httpx

from civicgrid_runtime.auth import Role, TokenIssuer
from tests.security.stack import Region

TODAY = date.today().isoformat()
START = "2025-01-01"


class Actor(StrEnum):
    ADMIN = "admin"
    COORDINATOR_HERE = "coordinator of the object's region"
    COORDINATOR_ELSEWHERE = "coordinator of another region"
    MEMBER_CONCERNED = "the member concerned"
    MEMBER_OTHER = "another member"
    INTEGRATION = "integration"
    ANONYMOUS = "no token"


ACTORS = tuple(Actor)


class Persona(StrEnum):
    CADRE = "cadre"
    RESIDENT = "resident"
    BYSTANDER = "bystander"
    NEIGHBOUR = "neighbour"


class ApiError(AssertionError):
    pass


@dataclass
class Api:
    """One HTTP client for the three services, with tokens minted by the run's development keys."""

    urls: dict[str, str]
    issuer: TokenIssuer
    client: httpx.AsyncClient

    def token(
        self, role: Role, *, region: str | None = None, person_id: str | None = None, subject: str = ""
    ) -> str:
        return self.issuer.mint(
            subject or f"sec-{role.value}-{region or person_id or 'all'}",
            [role],
            region=region,
            person_id=person_id,
        )

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        url = self.urls[service] + path
        if method == "GET" and path.endswith("/stream"):
            # a live stream never ends: the status and headers are the answer
            async with self.client.stream("GET", url, headers=sent, params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                return response
        return await self.client.request(
            method, url, json=json, params=params, files=files, headers=sent, content=content
        )

    async def ok(self, service: str, method: str, path: str, token: str | None, **kwargs: Any) -> Any:
        """Call and insist on a 2xx (set-up steps); the JSON answer, if any."""
        response = await self.call(service, method, path, token, **kwargs)
        if response.status_code >= 300:
            raise ApiError(
                f"set-up step {method} {service}{path} answered {response.status_code}: {response.text[:600]}"
            )
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content


@dataclass
class World:
    api: Api
    region: Region
    tag: str
    ids: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _counter: int = 0

    # --- identities -------------------------------------------------------------------------------

    def person(self, persona: Persona) -> str:
        return f"sec{self.tag}-{persona.value}"

    @property
    def admin(self) -> str:
        return self.api.token(Role.ADMIN, subject=f"sec-admin-{self.tag}")

    def coordinator(self, street: str) -> str:
        return self.api.token(Role.COORDINATOR, region=street, subject=f"sec-coordinator-{street}")

    def member(self, persona: Persona) -> str:
        return self.api.token(Role.MEMBER, person_id=self.person(persona), subject=self.person(persona))

    @property
    def integration(self) -> str:
        return self.api.token(Role.INTEGRATION, subject=f"sec-integration-{self.tag}")

    def token_of(self, actor: Actor, concerned: Persona, other: Persona = Persona.BYSTANDER) -> str | None:
        return {
            Actor.ADMIN: self.admin,
            Actor.COORDINATOR_HERE: self.coordinator(self.region.street_a),
            Actor.COORDINATOR_ELSEWHERE: self.coordinator(self.region.street_b),
            Actor.MEMBER_CONCERNED: self.member(concerned),
            Actor.MEMBER_OTHER: self.member(other),
            Actor.INTEGRATION: self.integration,
            Actor.ANONYMOUS: None,
        }[actor]

    def fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"sec{self.tag}-{prefix}{self._counter}"

    # --- shortcuts --------------------------------------------------------------------------------

    async def og(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.api.ok("org-graph", method, path, self.admin, **kwargs)

    async def rs(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.api.ok("resources", method, path, self.admin, **kwargs)

    async def nt(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.api.ok("notifications", method, path, self.admin, **kwargs)

    async def dl(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.api.ok("deliberation", method, path, self.admin, **kwargs)

    # --- well-known objects -----------------------------------------------------------------------

    @property
    def community_a(self) -> str:
        return self.region.community_a

    @property
    def community_b(self) -> str:
        return self.region.community_b

    @property
    def compound_a(self) -> str:
        return f"{self.community_a}-C01"

    @property
    def building_a1(self) -> str:
        return f"{self.compound_a}-B01"

    @property
    def building_a2(self) -> str:
        return f"{self.compound_a}-B02"

    @property
    def building_b1(self) -> str:
        return f"{self.community_b}-C01-B01"

    @property
    def grid_a1(self) -> str:
        return f"{self.community_a}001"

    @property
    def grid_a2(self) -> str:
        return f"{self.community_a}002"

    @property
    def grid_b1(self) -> str:
        return f"{self.community_b}001"

    @property
    def org_a(self) -> str:
        return f"sec{self.tag}-party-a"

    @property
    def org_b(self) -> str:
        return f"sec{self.tag}-party-b"

    def resource_of(self, persona: Persona) -> str:
        return f"sec{self.tag}-res-{persona.value}"

    @property
    def unit_a(self) -> str:
        return f"sec{self.tag}-unit-a"

    @property
    def team_a(self) -> str:
        return self.ids["team_a"]

    @property
    def need_a(self) -> str:
        return f"sec{self.tag}-need-a"

    @property
    def need_b(self) -> str:
        return f"sec{self.tag}-need-b"

    @property
    def offer_a(self) -> str:
        return f"sec{self.tag}-offer-a"

    @property
    def request_a(self) -> str:
        return f"sec{self.tag}-req-a"

    @property
    def compound_b(self) -> str:
        return f"{self.community_b}-C01"

    @property
    def household_a(self) -> str:
        """The resident's home in building A1 (owner and resident): the unit whose ballot they cast."""
        return f"{self.building_a1}-U1-101"

    @property
    def household_b(self) -> str:
        """The neighbour's home in street B."""
        return f"{self.building_b1}-U1-101"

    # --- building the world -----------------------------------------------------------------------

    async def build(self) -> None:
        for step in (
            self._places,
            self._organisations_and_people,
            self._wait_for_projection,
            self._resources,
            self._feed_entry,
            self._deliberation,
        ):
            started = time.monotonic()
            await step()
            self.timings[step.__name__] = round(time.monotonic() - started, 1)

    async def _place(self, kind: str, code: str, name: str, parent: str | None = None, **attrs: Any) -> None:
        body: dict[str, Any] = {"kind": kind, "code": code, "name": name, "attributes": attrs}
        if parent:
            body["parent_code"] = parent
        await self.og("POST", "/places", json=body)

    async def _places(self) -> None:
        r = self.region
        await self._place("province", r.province, f"安全测试省{r.district[:2]}")
        await self._place("city", r.city, f"安全测试市{r.district[:4]}")
        await self._place("district", r.district_code, f"安全测试区{r.district}")
        for street, name in ((r.street_a, "甲街道"), (r.street_b, "乙街道"), (r.street_fuzz, "测街道")):
            await self._place("street", street.ljust(12, "0"), name)
        for community, name in (
            (r.community_a, "甲社区"),
            (r.community_b, "乙社区"),
            (r.community_fuzz, "测社区"),
        ):
            await self._place("community", community, name, residents=3000, households=1000)
        for community in (r.community_a, r.community_b):
            await self._place("compound", f"{community}-C01", "一号小区", community)
        await self._place("building", self.building_a1, "1栋", self.compound_a)
        await self._place("building", self.building_a2, "2栋", self.compound_a)
        await self._place("building", self.building_b1, "1栋", f"{self.community_b}-C01")
        for grid, buildings in (
            (self.grid_a1, [self.building_a1]),
            (self.grid_a2, [self.building_a2]),
            (self.grid_b1, [self.building_b1]),
        ):
            await self.og(
                "POST",
                "/grids",
                json={"grid_id": grid, "name": f"网格{grid[-3:]}", "building_codes": buildings},
            )

    async def _organisations_and_people(self) -> None:
        for org_id, community, name in (
            (self.org_a, self.community_a, "甲社区党委"),
            (self.org_b, self.community_b, "乙社区党委"),
        ):
            await self.og(
                "POST",
                "/organisations",
                json={"org_id": org_id, "kind": "party_committee", "place_code": community, "name": name},
            )
        homes = {
            Persona.CADRE: self.community_a,
            Persona.RESIDENT: self.community_a,
            Persona.BYSTANDER: self.community_a,
            Persona.NEIGHBOUR: self.community_b,
        }
        for persona, community in homes.items():
            await self.og(
                "POST",
                "/people",
                json={
                    "person_id": self.person(persona),
                    "display_name": f"测试{persona.value}",
                    "community_code": community,
                },
            )
        made = await self.og(
            "POST",
            "/memberships",
            json={
                "membership_id": f"sec{self.tag}-m-cadre",
                "person_id": self.person(Persona.CADRE),
                "org_id": self.org_a,
                "post": "committee_member",
                "start_date": START,
                "basis": "election",
                "basis_reference": "党员大会选举",
            },
        )
        self.ids["membership_a"] = made["membership_id"]
        self.ids["post_a"] = made["post_id"]

    async def wait_for_grid(self, grid_id: str, timeout: float = 20.0) -> None:
        """Until resources' projection of org-graph's events knows the grid."""
        community = grid_id[:12]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            grids = await self.rs("GET", f"/communities/{community}/grids")
            if any(g["grid_id"] == grid_id for g in grids):
                return
            await asyncio.sleep(0.3)
        raise ApiError(f"resources never learnt grid {grid_id} from org-graph's events")

    async def _wait_for_projection(self) -> None:
        for grid in (self.grid_a1, self.grid_a2, self.grid_b1):
            await self.wait_for_grid(grid)

    async def report_in(
        self, resource_id: str, community: str, person: str | None, grid: str | None, kind: str = "volunteer"
    ) -> None:
        body: dict[str, Any] = {
            "resource_id": resource_id,
            "community_code": community,
            "kind": kind,
            "display_name": f"资源{resource_id[-6:]}",
        }
        if person:
            body["person_id"] = person
        if kind.endswith("_unit"):
            body["unit_id"] = resource_id
        await self.rs("POST", "/resources", json=body)
        await self.rs("POST", f"/resources/{resource_id}/confirm")
        if grid:
            await self.rs(
                "POST",
                f"/resources/{resource_id}/grids",
                json={"grid_id": grid, "role": "volunteer", "period_start": START},
            )

    async def _resources(self) -> None:
        cadre, neighbour = Persona.CADRE, Persona.NEIGHBOUR
        await self.report_in(self.resource_of(cadre), self.community_a, self.person(cadre), self.grid_a1)
        await self.report_in(
            self.resource_of(neighbour), self.community_b, self.person(neighbour), self.grid_b1
        )
        await self.report_in(self.unit_a, self.community_a, None, None, kind="paired_unit")
        for grid, resource, key in (
            (self.grid_a1, self.resource_of(cadre), "team_a"),
            (self.grid_b1, self.resource_of(neighbour), "team_b"),
        ):
            team = await self.rs(
                "POST",
                "/teams",
                json={"grid_id": grid, "name": f"网格{grid[-3:]}服务团队", "leader_resource_id": resource},
            )
            self.ids[key] = team["id"]
            await self.rs("POST", f"/teams/{self.ids[key]}/members", json={"resource_id": resource})
        for need, community in ((self.need_a, self.community_a), (self.need_b, self.community_b)):
            await self.rs(
                "POST",
                "/needs",
                json={
                    "need_id": need,
                    "community_code": community,
                    "title": "助老送餐",
                    "slots": 1000,
                    "tags": ["助老"],
                },
            )
        claimed = await self.rs(
            "POST", f"/needs/{self.need_a}/claims", json={"resource_id": self.resource_of(cadre)}
        )
        await self.rs(
            "POST", f"/needs/{self.need_a}/claims/{claimed['claim_id']}/complete", json={"hours": 10}
        )
        await self.rs(
            "POST",
            "/offers",
            json={
                "offer_id": self.offer_a,
                "resource_id": self.unit_a,
                "kind": "resource",
                "title": "会议室",
                "tags": ["助老"],
            },
        )
        await self.new_request(self.request_a)

    async def new_request(self, request_id: str | None = None, state: str = "dispatched") -> str:
        """A request of community A in grid A1 (so assigned to the cadre), filed for the resident."""
        request_id = request_id or self.fresh("req-")
        await self.rs(
            "POST",
            "/requests",
            json={
                "request_id": request_id,
                "community_code": self.community_a,
                "kind": "help",
                "category": "水电维修",
                "summary": "楼道水管漏水",
                "grid_id": self.grid_a1,
                "resident_person_id": self.person(Persona.RESIDENT),
            },
        )
        if state in ("in_progress", "resolved"):
            await self.rs(
                "POST",
                f"/requests/{request_id}/accept",
                json={"assignee_id": self.resource_of(Persona.CADRE)},
            )
        if state == "resolved":
            await self.rs("POST", f"/requests/{request_id}/resolve", json={"result": "已修好"})
        return request_id

    async def _feed_entry(self) -> None:
        """The cadre's appointment reaches their feed (org-graph → Kafka → notifications)."""
        self.ids["broadcast_a"] = f"sec{self.tag}-bc-a"
        await self.nt(
            "POST",
            "/broadcasts",
            json={
                "id": self.ids["broadcast_a"],
                "audience": f"community:{self.community_a}",
                "community_code": self.community_a,
                "title": "社区通知",
                "body": "本周六开展义诊。",
            },
        )
        member = self.person(Persona.CADRE)
        token = self.member(Persona.CADRE)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            page = await self.api.ok("notifications", "GET", f"/members/{member}/feed", token)
            personal = [i for i in page["items"] if i.get("kind") != "broadcast"]
            if personal:
                self.ids["feed_item"] = personal[0]["id"]
                return
            await asyncio.sleep(0.5)
        raise ApiError("the cadre's appointment never reached their feed in notifications")

    # --- fresh objects for calls that change them --------------------------------------------------

    async def fresh_building(self) -> str:
        code = f"{self.compound_a}-B{uuid.uuid4().hex[:6].upper()}"
        await self._place("building", code, "新楼", self.compound_a)
        return code

    async def fresh_grid(self, community: str | None = None, known_to_resources: bool = False) -> str:
        community = community or self.community_a
        self._counter += 1
        grid = f"{community}{100 + self._counter % 900:03d}"
        await self.og("POST", "/grids", json={"grid_id": grid, "name": f"新网格{grid[-3:]}"})
        if known_to_resources:
            await self.wait_for_grid(grid)
        return grid

    async def fresh_organisation(self) -> str:
        org_id = self.fresh("org-")
        await self.og(
            "POST",
            "/organisations",
            json={
                "org_id": org_id,
                "kind": "social_organisation",
                "place_code": self.community_a,
                "name": "志愿者协会",
            },
        )
        return org_id

    async def fresh_person(self, community: str | None = None) -> str:
        person = self.fresh("p-")
        await self.og(
            "POST",
            "/people",
            json={
                "person_id": person,
                "display_name": "新成员",
                "community_code": community or self.community_a,
            },
        )
        return person

    async def fresh_membership(self) -> str:
        person = await self.fresh_person()
        made = await self.og(
            "POST",
            "/memberships",
            json={
                "person_id": person,
                "org_id": self.org_a,
                "post": "committee_member",
                "start_date": START,
                "basis": "election",
                "basis_reference": "党员大会选举",
            },
        )
        return str(made["membership_id"])

    async def fresh_resource(self, joined: bool = False, person: str | None = None) -> str:
        resource = self.fresh("res-")
        person = person or self.fresh("p-")
        await self.report_in(resource, self.community_a, person, self.grid_a1 if joined else None)
        return resource

    async def fresh_need(self, community: str | None = None, slots: int = 10) -> str:
        need = self.fresh("need-")
        made = await self.rs(
            "POST",
            "/needs",
            json={
                "need_id": need,
                "community_code": community or self.community_a,
                "title": "清理楼道",
                "slots": slots,
            },
        )
        return str(made["id"])

    async def fresh_claim(self) -> tuple[str, str]:
        need = await self.fresh_need()
        claimed = await self.rs(
            "POST", f"/needs/{need}/claims", json={"resource_id": self.resource_of(Persona.CADRE)}
        )
        return need, str(claimed["claim_id"])

    async def fresh_offer(self) -> str:
        offer = self.fresh("offer-")
        await self.rs(
            "POST",
            "/offers",
            json={"offer_id": offer, "resource_id": self.unit_a, "kind": "project", "title": "义诊"},
        )
        return offer

    # --- deliberation (issue 11) ------------------------------------------------------------------

    async def _deliberation(self) -> None:
        """Households owned by the resident (compound A) and the neighbour (compound B), known to
        deliberation's projection; a meeting the cadre is invited to, a topic, a vote and an appraisal."""
        for building, owner in (
            (self.building_a1, Persona.RESIDENT),
            (self.building_b1, Persona.NEIGHBOUR),
        ):
            await self.og(
                "POST",
                "/households",
                json={
                    "building_code": building,
                    "entrance": "1",
                    "unit_number": "101",
                    "exclusive_area_m2": 96.5,
                    "owner_person_ids": [self.person(owner)],
                    "resident_person_ids": [self.person(owner)],
                },
            )
        for persona, compound in ((Persona.RESIDENT, self.compound_a), (Persona.NEIGHBOUR, self.compound_b)):
            await self.until_deliberation_knows(self.person(persona), compound)
        meeting = await self.convene_with(self.person(Persona.CADRE), self.meeting_body())
        self.ids["meeting_a"] = meeting["meeting_id"]
        self.ids["topic_a"] = await self.fresh_topic()
        self.ids["vote_a"] = await self.fresh_vote()
        self.ids["appraisal_a"] = await self.fresh_appraisal()

    async def until_deliberation_knows(self, person: str, compound: str, timeout: float = 90) -> None:
        """Until the person's household reached deliberation's projection (they may list its topics)."""
        token = self.api.token(Role.MEMBER, person_id=person, subject=person)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = await self.api.call(
                "deliberation", "GET", "/topics", token, params={"place_code": compound}
            )
            if answer.status_code == 200:
                return
            await asyncio.sleep(0.5)
        raise ApiError(f"deliberation never learnt {person}'s household in {compound} from org-graph")

    async def convene_with(self, person: str, body: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
        """Convene (as admin) until ``person``'s post has reached deliberation and they are invited."""
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.api.call("deliberation", "POST", "/meetings", self.admin, json=body)
            if answer.status_code == 201:  # 422 while nobody invited holds a post there yet
                meeting: dict[str, Any] = answer.json()
                if person in {p["person_id"] for p in meeting["participants"]}:
                    return meeting
            if time.monotonic() > deadline:
                raise ApiError(f"deliberation never learnt {person}'s post from org-graph's events")
            await asyncio.sleep(0.5)

    def meeting_body(self, place: str | None = None, title: str = "议事协商会") -> dict[str, Any]:
        """A decision hearing of community A: its party committee (the cadre) is invited."""
        return {
            "level": "community",
            "place_code": place or self.community_a,
            "meeting_type": "decision_hearing",
            "title": title,
            "scheduled_for": "2027-01-15T19:30:00+08:00",
        }

    def building_meeting_body(self) -> dict[str, Any]:
        """A building meeting of building A1 (a consultative meeting: it passes resolutions), the cadre
        invited as a guest and attending."""
        return {
            "level": "building",
            "place_code": self.building_a1,
            "meeting_type": "building_meeting",
            "title": "楼栋议事会",
            "scheduled_for": "2027-01-16T19:30:00+08:00",
            "guest_person_ids": [self.person(Persona.CADRE)],
        }

    async def fresh_meeting(self, held: bool = False, resolving: bool = False) -> str:
        body = self.building_meeting_body() if resolving else self.meeting_body()
        meeting = await self.dl("POST", "/meetings", json=body)
        if resolving:
            attending = {"person_ids": [self.person(Persona.CADRE)]}
            await self.dl("POST", f"/meetings/{meeting['meeting_id']}/attendance", json=attending)
        if held:
            await self.dl("POST", f"/meetings/{meeting['meeting_id']}/hold", json={"minutes": "会议纪要"})
        return str(meeting["meeting_id"])

    async def fresh_topic(self, compound: str | None = None, persona: Persona = Persona.RESIDENT) -> str:
        made = await self.api.ok(
            "deliberation",
            "POST",
            "/topics",
            self.member(persona),
            json={
                "place_code": compound or self.compound_a,
                "title": "加装电梯",
                "description": "一楼不同意",
            },
        )
        return str(made["topic_id"])

    def vote_body(self, compound: str | None = None) -> dict[str, Any]:
        return {
            "compound_code": compound or self.compound_a,
            "title": "屋顶维修",
            "matter": "use_maintenance_fund",
            "closes_at": "2027-12-31T12:00:00+08:00",
        }

    async def fresh_vote(self, compound: str | None = None) -> str:
        made = await self.dl("POST", "/votes", json=self.vote_body(compound))
        return str(made["vote_id"])

    def appraisal_body(self) -> dict[str, Any]:
        return {
            "community_code": self.community_a,
            "title": "年度民主评议",
            "subject_person_ids": [self.person(Persona.CADRE)],
            "appraiser_person_ids": [self.person(Persona.RESIDENT)],
        }

    async def fresh_appraisal(self, graded: bool = False) -> str:
        made = await self.dl("POST", "/appraisals", json=self.appraisal_body())
        appraisal = str(made["appraisal_id"])
        if graded:
            await self.api.ok(
                "deliberation",
                "POST",
                f"/appraisals/{appraisal}/grades",
                self.member(Persona.RESIDENT),
                json={"grades": {self.person(Persona.CADRE): "satisfied"}},
            )
        return appraisal
