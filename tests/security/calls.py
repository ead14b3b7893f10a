"""What each row of the matrix calls: path, query and body, on a fresh object where the call changes it.

``CALLS[service]["METHOD /path"](world, actor, row)`` returns the ``Call``. Objects live in street A;
calls that change something get an object of their own for every actor with a token (so one actor's
success, rightful or not, never decides another's answer).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.security.world import START, TODAY, Actor, Persona, World


@dataclass
class Call:
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None


Builder = Callable[[World, Actor, Persona], Awaitable[Call]]
CALLS: dict[str, dict[str, Builder]] = {
    "org-graph": {},
    "resources": {},
    "notifications": {},
    "deliberation": {},
}


def call(service: str, route: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        assert route not in CALLS[service], f"{service} {route} has two builders"
        CALLS[service][route] = builder
        return builder

    return register


# -- org-graph ------------------------------------------------------------------------------------------

for _route in ("GET /healthz", "GET /readyz"):
    for _service in CALLS:

        @call(_service, _route)
        async def _health(w: World, a: Actor, p: Persona, _path: str = _route.split()[1]) -> Call:
            return Call(_path)


@call("org-graph", "POST /places")
async def register_building(w: World, a: Actor, p: Persona) -> Call:
    code = f"{w.compound_a}-B{os.urandom(3).hex().upper()}"
    return Call("/places", {"kind": "building", "code": code, "name": "新楼", "parent_code": w.compound_a})


@call("org-graph", "PATCH /places/{code}")
async def rename_building(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/places/{await w.fresh_building()}", {"name": "更名楼"})


@call("org-graph", "GET /places/{code}")
async def read_place(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/places/{w.building_a1}")


@call("org-graph", "POST /places/{code}/dissolve")
async def dissolve_building(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/places/{await w.fresh_building()}/dissolve", {"reason": "拆除"})


@call("org-graph", "POST /grids")
async def define_grid(w: World, a: Actor, p: Persona) -> Call:
    w._counter += 1
    grid = f"{w.community_a}{100 + w._counter % 900:03d}"
    return Call("/grids", {"grid_id": grid, "name": "新网格", "building_codes": []})


@call("org-graph", "POST /buildings/{code}/grid")
async def move_building(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/buildings/{await w.fresh_building()}/grid", {"grid_id": w.grid_a2})


@call("org-graph", "POST /organisations")
async def form_organisation(w: World, a: Actor, p: Persona) -> Call:
    body = {
        "org_id": w.fresh("org-"),
        "kind": "social_organisation",
        "place_code": w.community_a,
        "name": "协会",
    }
    return Call("/organisations", body)


@call("org-graph", "PATCH /organisations/{org_id}")
async def rename_organisation(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/organisations/{await w.fresh_organisation()}", {"name": "更名协会"})


@call("org-graph", "GET /organisations/{org_id}")
async def read_organisation(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/organisations/{w.org_a}")


@call("org-graph", "PATCH /grids/{grid_id}")
async def rename_grid(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/grids/{await w.fresh_grid()}", {"name": "更名网格"})


@call("org-graph", "POST /grids/{grid_id}/dissolve")
async def dissolve_grid(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/grids/{await w.fresh_grid()}/dissolve", {"on": TODAY, "reason": "合并"})


@call("org-graph", "POST /organisations/{org_id}/dissolve")
async def dissolve_organisation(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/organisations/{await w.fresh_organisation()}/dissolve", {"on": TODAY, "reason": "撤销"})


@call("org-graph", "POST /people")
async def register_person(w: World, a: Actor, p: Persona) -> Call:
    body = {"person_id": w.fresh("p-"), "display_name": "新人", "community_code": w.community_a}
    return Call("/people", body)


@call("org-graph", "POST /memberships")
async def appoint(w: World, a: Actor, p: Persona) -> Call:
    person = await w.fresh_person()
    body = {
        "person_id": person,
        "org_id": w.org_a,
        "post": "committee_member",
        "start_date": START,
        "basis": "election",
        "basis_reference": "党员大会选举",
    }
    return Call("/memberships", body)


@call("org-graph", "POST /memberships/{membership_id}/end")
async def end_membership(w: World, a: Actor, p: Persona) -> Call:
    body = {"end_date": TODAY, "reason": "resigned"}
    return Call(f"/memberships/{await w.fresh_membership()}/end", body)


@call("org-graph", "GET /buildings/{code}/responsibility-chain")
async def chain(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/buildings/{w.building_a1}/responsibility-chain")


@call("org-graph", "GET /communities/{code}/tree")
async def tree(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/communities/{w.community_a}/tree")


@call("org-graph", "GET /communities/{code}/two-committees")
async def two_committees(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/communities/{w.community_a}/two-committees")


@call("org-graph", "GET /people/{person_id}")
async def read_person(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/people/{w.person(p)}")


@call("org-graph", "GET /people/{person_id}/posts")
async def person_posts(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/people/{w.person(p)}/posts", params={"history": "true"})


@call("org-graph", "GET /posts/{post_id}/holders")
async def holders(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/posts/{w.ids['post_a']}/holders")


@call("org-graph", "GET /grids/{grid_id}/members")
async def grid_members(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/grids/{w.grid_a1}/members")


@call("org-graph", "GET /regions/{code}/coverage")
async def coverage(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/regions/{w.region.street_a}/coverage")


@call("org-graph", "GET /regions/{code}/coverage/gaps/{metric}")
async def gaps(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/regions/{w.region.street_a}/coverage/gaps/buildings_without_party_group")


@call("org-graph", "GET /regions/{code}/cross-appointment-flags")
async def flags(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/regions/{w.region.street_a}/cross-appointment-flags")


@call("org-graph", "GET /policy/cross-appointments")
async def policy(w: World, a: Actor, p: Persona) -> Call:
    return Call("/policy/cross-appointments")


async def _export(w: World, what: str) -> bytes:
    key = f"export-{what}"
    if key not in w.files:
        w.files[key] = await w.og(
            "GET", f"/exports/{what}", params={"region": w.community_a, "format": "csv"}
        )
    return w.files[key]


@call("org-graph", "POST /imports/roster")
async def import_roster(w: World, a: Actor, p: Persona) -> Call:
    content = await _export(w, "roster")
    return Call("/imports/roster", files={"file": ("roster.csv", content, "text/csv")})


@call("org-graph", "POST /imports/posts")
async def import_posts(w: World, a: Actor, p: Persona) -> Call:
    content = await _export(w, "posts")
    return Call("/imports/posts", files={"file": ("posts.csv", content, "text/csv")})


@call("org-graph", "GET /exports/posts")
async def export_posts(w: World, a: Actor, p: Persona) -> Call:
    return Call("/exports/posts", params={"region": w.community_a})


@call("org-graph", "GET /exports/roster")
async def export_roster(w: World, a: Actor, p: Persona) -> Call:
    return Call("/exports/roster", params={"region": w.community_a, "format": "xlsx"})


# -- resources ------------------------------------------------------------------------------------------


def _request_body(w: World, request_id: str) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "community_code": w.community_a,
        "kind": "help",
        "category": "水电维修",
        "summary": "楼道灯不亮",
        "grid_id": w.grid_a1,
        "resident_person_id": w.person(Persona.RESIDENT),
    }


@call("resources", "POST /requests")
async def file_request(w: World, a: Actor, p: Persona) -> Call:
    return Call("/requests", _request_body(w, w.fresh("req-")))


@call("resources", "GET /requests")
async def list_requests(w: World, a: Actor, p: Persona) -> Call:
    return Call("/requests", params={"community_code": w.community_a})


@call("resources", "GET /requests/{request_id}")
async def read_request(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/requests/{w.request_a}")


def _handling(action: str, state: str, body: dict[str, Any]) -> Builder:
    async def build(w: World, a: Actor, p: Persona) -> Call:
        return Call(f"/requests/{await w.new_request(state=state)}/{action}", dict(body))

    return build


call("resources", "POST /requests/{request_id}/escalate")(
    _handling("escalate", "dispatched", {"reason": "beyond_authority", "note": "需要社区协调"})
)
call("resources", "POST /requests/{request_id}/decline")(
    _handling("decline", "dispatched", {"note": "无法处理"})
)
call("resources", "POST /requests/{request_id}/accept")(_handling("accept", "dispatched", {}))
call("resources", "POST /requests/{request_id}/progress")(
    _handling("progress", "in_progress", {"note": "已到场"})
)
call("resources", "POST /requests/{request_id}/resolve")(
    _handling("resolve", "in_progress", {"result": "已修好"})
)
call("resources", "POST /requests/{request_id}/evaluate")(
    _handling("evaluate", "resolved", {"rating": 5, "comment": "满意"})
)
call("resources", "POST /requests/{request_id}/reopen")(_handling("reopen", "resolved", {"reason": "又坏了"}))
call("resources", "POST /requests/{request_id}/close")(
    _handling("close", "dispatched", {"outcome": "duplicate", "note": "重复"})
)


@call("resources", "POST /requests/{request_id}/dispatch")
async def dispatch(w: World, a: Actor, p: Persona) -> Call:
    request_id = await w.new_request()
    return Call(f"/requests/{request_id}/dispatch", {"assignee_ids": [w.resource_of(Persona.CADRE)]})


@call("resources", "POST /requests/{request_id}/move")
async def move_request(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/requests/{await w.new_request()}/move", {"grid_id": w.grid_a2, "note": "位置有误"})


@call("resources", "GET /supervision/rates")
async def rates(w: World, a: Actor, p: Persona) -> Call:
    return Call("/supervision/rates", params={"region": w.region.street_a, "group_by": "grid"})


@call("resources", "GET /supervision/overdue")
async def overdue(w: World, a: Actor, p: Persona) -> Call:
    return Call("/supervision/overdue", params={"region": w.region.street_a})


@call("resources", "POST /supervision/statistics/rebuild")
async def rebuild(w: World, a: Actor, p: Persona) -> Call:
    return Call("/supervision/statistics/rebuild")


@call("resources", "POST /resources")
async def report_in(w: World, a: Actor, p: Persona) -> Call:
    # a member may report in only themselves: the concerned member names themself; the other member
    # names the concerned one; staff name the concerned one too
    person = w.person(p)
    body = {
        "resource_id": w.fresh("res-"),
        "community_code": w.community_a,
        "kind": "in_service_member",
        "basis": "residence",
        "display_name": "在职党员",
        "person_id": person,
    }
    return Call("/resources", body)


@call("resources", "GET /resources")
async def list_resources(w: World, a: Actor, p: Persona) -> Call:
    return Call("/resources", params={"community_code": w.community_a})


@call("resources", "GET /resources/{resource_id}")
async def read_resource(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/resources/{w.resource_of(p)}")


@call("resources", "POST /resources/{resource_id}/confirm")
async def confirm(w: World, a: Actor, p: Persona) -> Call:
    resource = w.fresh("res-")
    await w.rs(
        "POST",
        "/resources",
        json={
            "resource_id": resource,
            "community_code": w.community_a,
            "kind": "volunteer",
            "display_name": "志愿者",
            "person_id": w.fresh("p-"),
        },
    )
    return Call(f"/resources/{resource}/confirm")


@call("resources", "POST /resources/{resource_id}/grids")
async def join_grid(w: World, a: Actor, p: Persona) -> Call:
    body = {"grid_id": w.grid_a1, "role": "volunteer", "period_start": START}
    return Call(f"/resources/{await w.fresh_resource()}/grids", body)


@call("resources", "POST /resources/{resource_id}/grids/{grid_id}/leave")
async def leave_grid(w: World, a: Actor, p: Persona) -> Call:
    resource = await w.fresh_resource(joined=True)
    return Call(f"/resources/{resource}/grids/{w.grid_a1}/leave", {"period_end": TODAY, "reason": "调离"})


@call("resources", "GET /people/{person_id}/grids")
async def person_grids(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/people/{w.person(p)}/grids")


@call("resources", "GET /communities/{community_code}/grids")
async def community_grids(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/communities/{w.community_a}/grids")


@call("resources", "GET /grids/{grid_id}/team")
async def grid_team(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/grids/{w.grid_a1}/team")


@call("resources", "POST /teams")
async def form_team(w: World, a: Actor, p: Persona) -> Call:
    grid = await w.fresh_grid(known_to_resources=True)
    return Call("/teams", {"grid_id": grid, "name": "新团队"})


@call("resources", "POST /teams/{team_id}/members")
async def add_team_member(w: World, a: Actor, p: Persona) -> Call:
    resource = await w.fresh_resource(joined=True)
    return Call(f"/teams/{w.team_a}/members", {"resource_id": resource})


@call("resources", "POST /needs")
async def publish_need(w: World, a: Actor, p: Persona) -> Call:
    body = {"need_id": w.fresh("need-"), "community_code": w.community_a, "title": "陪诊", "slots": 2}
    return Call("/needs", body)


@call("resources", "GET /needs")
async def list_needs(w: World, a: Actor, p: Persona) -> Call:
    return Call("/needs", params={"community_code": w.community_a})


@call("resources", "POST /needs/{need_id}/claims")
async def claim(w: World, a: Actor, p: Persona) -> Call:
    # every claimant claims with the concerned member's own resource (the other member has none)
    return Call(f"/needs/{await w.fresh_need()}/claims", {"resource_id": w.resource_of(p)})


@call("resources", "POST /needs/{need_id}/claims/{claim_id}/complete")
async def complete(w: World, a: Actor, p: Persona) -> Call:
    need, claim_id = await w.fresh_claim()
    return Call(f"/needs/{need}/claims/{claim_id}/complete", {"hours": 2})


@call("resources", "GET /needs/{need_id}/matches")
async def matches(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/needs/{w.need_a}/matches")


@call("resources", "POST /offers")
async def offer(w: World, a: Actor, p: Persona) -> Call:
    body = {"offer_id": w.fresh("offer-"), "resource_id": w.unit_a, "kind": "resource", "title": "活动室"}
    return Call("/offers", body)


@call("resources", "GET /offers/{offer_id}")
async def read_offer(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/offers/{w.offer_a}")


@call("resources", "PATCH /offers/{offer_id}")
async def change_offer(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/offers/{await w.fresh_offer()}", {"title": "新标题"})


@call("resources", "POST /offers/{offer_id}/withdraw")
async def withdraw(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/offers/{await w.fresh_offer()}/withdraw", {"reason": "场地维修"})


@call("resources", "GET /points/ranking")
async def ranking(w: World, a: Actor, p: Persona) -> Call:
    return Call("/points/ranking", params={"community_code": w.community_a})


@call("resources", "POST /points/{resource_id}/redeem")
async def redeem(w: World, a: Actor, p: Persona) -> Call:
    body = {"points": 1, "item": "洗衣液", "redemption_id": w.fresh("redeem-")}
    return Call(f"/points/{w.resource_of(Persona.CADRE)}/redeem", body)


@call("resources", "GET /points/{resource_id}")
async def balance(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/points/{w.resource_of(p)}")


@call("resources", "GET /service-reports")
async def service_report(w: World, a: Actor, p: Persona) -> Call:
    return Call("/service-reports", params={"resource_id": w.resource_of(Persona.CADRE)})


# -- notifications --------------------------------------------------------------------------------------


def push_subscription() -> dict[str, Any]:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return {
        "endpoint": f"https://fcm.googleapis.com/fcm/send/{b64(os.urandom(24))}",
        "keys": {"p256dh": b64(b"\x04" + os.urandom(64)), "auth": b64(os.urandom(16))},
    }


def _member(route: str, build: Callable[[World, str], Call]) -> None:
    async def builder(w: World, a: Actor, p: Persona) -> Call:
        return build(w, w.person(p))

    call("notifications", route)(builder)


_member("GET /members/{member_id}/feed", lambda w, m: Call(f"/members/{m}/feed"))
_member("GET /members/{member_id}/unread-count", lambda w, m: Call(f"/members/{m}/unread-count"))
_member(
    "GET /members/{member_id}/feed/{item_id}",
    lambda w, m: Call(f"/members/{m}/feed/{w.ids['feed_item']}"),
)
_member(
    "POST /members/{member_id}/feed/{item_id}/state",
    lambda w, m: Call(f"/members/{m}/feed/{w.ids['feed_item']}/state", {"state": "seen"}),
)
_member("POST /members/{member_id}/feed/read-all", lambda w, m: Call(f"/members/{m}/feed/read-all", {}))
_member(
    "GET /members/{member_id}/feed/{item_id}/deliveries",
    lambda w, m: Call(f"/members/{m}/feed/{w.ids['feed_item']}/deliveries"),
)
_member("GET /members/{member_id}/preferences", lambda w, m: Call(f"/members/{m}/preferences"))
_member(
    "PUT /members/{member_id}/preferences",
    lambda w, m: Call(f"/members/{m}/preferences", {"channels": ["web_push"], "digest_hour": 20}),
)
_member(
    "POST /members/{member_id}/push-subscriptions",
    lambda w, m: Call(f"/members/{m}/push-subscriptions", push_subscription()),
)
_member("GET /members/{member_id}/push-subscriptions", lambda w, m: Call(f"/members/{m}/push-subscriptions"))


@call("notifications", "DELETE /members/{member_id}/push-subscriptions/{subscription_id}")
async def unsubscribe(w: World, a: Actor, p: Persona) -> Call:
    member = w.person(p)
    made = await w.api.ok(
        "notifications",
        "POST",
        f"/members/{member}/push-subscriptions",
        w.member(p),
        json=push_subscription(),
    )
    return Call(f"/members/{member}/push-subscriptions/{made['id']}")


@call("notifications", "GET /app-config")
async def app_config(w: World, a: Actor, p: Persona) -> Call:
    return Call("/app-config")


@call("notifications", "GET /delivery-channels")
async def channels(w: World, a: Actor, p: Persona) -> Call:
    return Call("/delivery-channels")


@call("notifications", "GET /broadcasts/{broadcast_id}/deliveries")
async def broadcast_deliveries(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/broadcasts/{w.ids['broadcast_a']}/deliveries")


_member(
    "PUT /members/{member_id}/contacts",
    lambda w, m: Call(f"/members/{m}/contacts", {"wechat": "oSecTest_123456"}),
)
_member("GET /members/{member_id}/stream", lambda w, m: Call(f"/members/{m}/stream"))


@call("notifications", "GET /me")
async def me(w: World, a: Actor, p: Persona) -> Call:
    return Call("/me")


@call("notifications", "GET /push/vapid-public-key")
async def vapid(w: World, a: Actor, p: Persona) -> Call:
    return Call("/push/vapid-public-key")


@call("notifications", "POST /broadcasts")
async def broadcast(w: World, a: Actor, p: Persona) -> Call:
    body = {
        "id": w.fresh("bc-"),
        "audience": f"community:{w.community_a}",
        "community_code": w.community_a,
        "title": "停水通知",
        "body": "明天上午停水。",
    }
    return Call("/broadcasts", body)


def _fresh_phone() -> str:
    return f"139{int.from_bytes(os.urandom(4), 'big') % 100_000_000:08d}"


@call("notifications", "POST /auth/sms-code")
async def sms_code(w: World, a: Actor, p: Persona) -> Call:
    return Call("/auth/sms-code", {"phone": _fresh_phone()})


@call("notifications", "POST /auth/sms-code/verify")
async def sms_verify(w: World, a: Actor, p: Persona) -> Call:
    return Call("/auth/sms-code/verify", {"phone": _fresh_phone(), "code": "000000"})


@call("notifications", "POST /auth/refresh")
async def refresh(w: World, a: Actor, p: Persona) -> Call:
    return Call(
        "/auth/refresh", {"refresh_token": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")}
    )


@call("notifications", "POST /auth/sign-out")
async def sign_out(w: World, a: Actor, p: Persona) -> Call:
    return Call(
        "/auth/sign-out", {"refresh_token": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")}
    )


# -- org-graph: households ------------------------------------------------------------------------------


async def _fresh_household(w: World) -> str:
    unit = os.urandom(4).hex()
    await w.og(
        "POST",
        "/households",
        json={
            "building_code": w.building_a1,
            "entrance": "1",
            "unit_number": unit,
            "exclusive_area_m2": 88.5,
            "owner_person_ids": [w.person(Persona.RESIDENT)],
            "resident_person_ids": [w.person(Persona.RESIDENT)],
        },
    )
    return f"{w.building_a1}-U1-{unit}"


@call("org-graph", "POST /households")
async def register_household(w: World, a: Actor, p: Persona) -> Call:
    body = {
        "building_code": w.building_a1,
        "entrance": "2",
        "unit_number": os.urandom(4).hex(),
        "exclusive_area_m2": 76.25,
        "owner_person_ids": [w.person(Persona.RESIDENT)],
    }
    return Call("/households", body)


@call("org-graph", "PATCH /households/{code}")
async def change_household(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/households/{await _fresh_household(w)}", {"exclusive_area_m2": 90.25})


@call("org-graph", "PUT /households/{code}/owners")
async def set_owners(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/households/{await _fresh_household(w)}/owners", {"owner_person_ids": [w.person(p)]})


@call("org-graph", "PUT /households/{code}/residents")
async def set_residents(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/households/{await _fresh_household(w)}/residents", {"resident_person_ids": [w.person(p)]})


@call("org-graph", "PUT /households/{code}/representative")
async def set_representative(w: World, a: Actor, p: Persona) -> Call:
    path = f"/households/{await _fresh_household(w)}/representative"
    return Call(path, {"representative_person_id": w.person(p)})


@call("org-graph", "DELETE /households/{code}")
async def remove_household(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/households/{await _fresh_household(w)}")


@call("org-graph", "GET /households/{code}")
async def read_household(w: World, a: Actor, p: Persona) -> Call:
    if "household" not in w.ids:
        w.ids["household"] = await _fresh_household(w)
    return Call(f"/households/{w.ids['household']}")


@call("org-graph", "GET /people/{person_id}/households")
async def person_households(w: World, a: Actor, p: Persona) -> Call:
    if "household" not in w.ids:
        w.ids["household"] = await _fresh_household(w)  # the resident owns it and lives there
    return Call(f"/people/{w.person(p)}/households")


@call("org-graph", "GET /buildings/{code}/households")
async def building_households(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/buildings/{w.building_a1}/households")


@call("org-graph", "GET /compounds/{code}/households")
async def compound_households(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/compounds/{w.compound_a}/households", params={"limit": 10})


@call("org-graph", "POST /imports/households")
async def import_households(w: World, a: Actor, p: Persona) -> Call:
    if "export-households" not in w.files:
        await _fresh_household(w)  # the export must have a row to re-import
    content = await _export(w, "households")
    return Call("/imports/households", files={"file": ("households.csv", content, "text/csv")})


@call("org-graph", "GET /exports/households")
async def export_households(w: World, a: Actor, p: Persona) -> Call:
    return Call("/exports/households", params={"region": w.community_a, "format": "xlsx"})


# -- deliberation ---------------------------------------------------------------------------------------


@call("deliberation", "GET /meeting-types")
async def meeting_types(w: World, a: Actor, p: Persona) -> Call:
    return Call("/meeting-types")


@call("deliberation", "GET /matters")
async def matters(w: World, a: Actor, p: Persona) -> Call:
    return Call("/matters")


@call("deliberation", "GET /compounds/{compound_code}/rules")
async def read_rules(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/compounds/{w.compound_a}/rules")


@call("deliberation", "PUT /compounds/{compound_code}/rules")
async def set_rules(w: World, a: Actor, p: Persona) -> Call:
    body = {"vote_basis": "per_household", "silent_majority": False, "name": "业主大会议事规则"}
    return Call(f"/compounds/{w.compound_a}/rules", body)


@call("deliberation", "POST /meetings")
async def convene(w: World, a: Actor, p: Persona) -> Call:
    return Call("/meetings", w.meeting_body())


@call("deliberation", "GET /meetings")
async def list_meetings(w: World, a: Actor, p: Persona) -> Call:
    return Call("/meetings", params={"place_code": w.community_a})


@call("deliberation", "GET /meetings/{meeting_id}")
async def read_meeting(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/meetings/{w.ids['meeting_a']}")


@call("deliberation", "POST /meetings/{meeting_id}/agenda")
async def add_agenda_topic(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/meetings/{await w.fresh_meeting()}/agenda", {"topic_id": w.ids["topic_a"]})


@call("deliberation", "POST /meetings/{meeting_id}/attendance")
async def attendance(w: World, a: Actor, p: Persona) -> Call:
    body = {"person_ids": [w.person(Persona.CADRE)]}
    return Call(f"/meetings/{await w.fresh_meeting()}/attendance", body)


@call("deliberation", "POST /meetings/{meeting_id}/hold")
async def hold(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/meetings/{await w.fresh_meeting()}/hold", {"minutes": "议定事项见附件"})


@call("deliberation", "POST /meetings/{meeting_id}/resolutions")
async def resolution(w: World, a: Actor, p: Persona) -> Call:
    body = {"title": "更换路灯", "summary": "由社区牵头", "approve": 1, "oppose": 0, "abstain": 0}
    return Call(f"/meetings/{await w.fresh_meeting(held=True, resolving=True)}/resolutions", body)


@call("deliberation", "POST /meetings/{meeting_id}/close")
async def close_meeting(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/meetings/{await w.fresh_meeting(held=True)}/close")


@call("deliberation", "POST /topics")
async def raise_topic(w: World, a: Actor, p: Persona) -> Call:
    return Call("/topics", {"place_code": w.compound_a, "title": "增设充电桩", "description": "车棚改造"})


@call("deliberation", "GET /topics")
async def list_topics(w: World, a: Actor, p: Persona) -> Call:
    return Call("/topics", params={"place_code": w.compound_a})


@call("deliberation", "GET /topics/{topic_id}")
async def read_topic(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/topics/{w.ids['topic_a']}")


@call("deliberation", "POST /topics/{topic_id}/support")
async def support(w: World, a: Actor, p: Persona) -> Call:
    # the resident owns household A and the households other rows register: name the one that supports
    return Call(f"/topics/{await w.fresh_topic()}/support", {"voter_id": w.household_a})


@call("deliberation", "POST /votes")
async def open_vote(w: World, a: Actor, p: Persona) -> Call:
    return Call("/votes", w.vote_body())


@call("deliberation", "GET /votes")
async def my_votes(w: World, a: Actor, p: Persona) -> Call:
    return Call("/votes")


@call("deliberation", "GET /me/votes")
async def my_votes_app(w: World, a: Actor, p: Persona) -> Call:
    return Call("/me/votes")


@call("deliberation", "GET /me/votes/{vote_id}")
async def my_vote_app(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/me/votes/{w.ids['vote_a']}")


@call("deliberation", "GET /votes/{vote_id}")
async def read_vote(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/votes/{w.ids['vote_a']}")


@call("deliberation", "POST /votes/{vote_id}/ballots")
async def cast(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/votes/{await w.fresh_vote()}/ballots", {"choice": "approve", "voter_id": w.household_a})


@call("deliberation", "POST /votes/{vote_id}/close")
async def close_vote(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/votes/{await w.fresh_vote()}/close")


@call("deliberation", "POST /appraisals")
async def open_appraisal(w: World, a: Actor, p: Persona) -> Call:
    return Call("/appraisals", w.appraisal_body())


@call("deliberation", "GET /appraisals/{appraisal_id}")
async def read_appraisal(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/appraisals/{w.ids['appraisal_a']}")


@call("deliberation", "POST /appraisals/{appraisal_id}/grades")
async def grade(w: World, a: Actor, p: Persona) -> Call:
    body = {"grades": {w.person(Persona.CADRE): "basically_satisfied"}}
    return Call(f"/appraisals/{await w.fresh_appraisal()}/grades", body)


@call("deliberation", "POST /appraisals/{appraisal_id}/publish")
async def publish_appraisal(w: World, a: Actor, p: Persona) -> Call:
    return Call(f"/appraisals/{await w.fresh_appraisal(graded=True)}/publish")


@call("deliberation", "POST /disclosures")
async def disclose(w: World, a: Actor, p: Persona) -> Call:
    body = {
        "place_code": w.community_a,
        "kind": "finance",
        "title": "2026年公共收益",
        "body": "停车费收入",
        "figures": [{"label": "停车费", "amount": "12000.50", "unit": "元"}],
    }
    return Call("/disclosures", body)


for _suffix in ("", "/page", "/qr.svg", "/qr.png"):

    @call("deliberation", f"GET /public/disclosures/{{place_code}}{_suffix}")
    async def _public(w: World, a: Actor, p: Persona, _s: str = _suffix) -> Call:
        return Call(f"/public/disclosures/{w.community_a}{_s}")
