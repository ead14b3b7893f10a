"""Demo data for the resources service, seeded through its own HTTP API (stdlib only).

Community 420106002003 (street 420106002, Wuchang district 420106), modelled on a real Wuhan
community: 9 compounds, 58 buildings, ~4,450 households, 12,636 residents, 297 party members.
Its places and grids come from org-graph's events; this seed waits until the resources service's
projection knows them, then adds what is deployed there:

- report-ins (confirmed): sunk-down cadres and in-service party members (双报到), a paired unit, a
  joint-build unit, police, city management, the property company, volunteers, couriers;
- each grid's team (组团式服务) from the resources that joined the grid;
- the three lists: needs, a unit's resources and projects, a claimed and completed need (points);
- residents' requests at different points of the closed loop.

Idempotent: every object has a fixed id; "already exists" and "already done" answers are skipped,
and a request's steps are only taken when the request was just created.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

COMMUNITY = "420106002003"
UNIT_FINANCE = "unit-wuchang-finance-bureau"
UNIT_HOSPITAL = "unit-hubei-third-hospital"
RESIDENTS = ("p-demo-resident-01", "p-demo-resident-02", "p-demo-resident-03")


class SeedError(RuntimeError):
    pass


class _Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            if error.code in ok:
                return error.code, json.loads(text or "null")
            raise SeedError(f"{method} {path}: {error.code} {text}") from None


def _wait_for_grids(api: _Api, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Org-graph publishes the community's grids; wait until this service's projection has them."""
    deadline = time.monotonic() + timeout
    while True:
        _, grids = api.call("GET", f"/communities/{COMMUNITY}/grids")
        if grids:
            return list(grids)
        if time.monotonic() > deadline:
            raise SeedError(
                f"no grid of {COMMUNITY} reached the resources service within {timeout:.0f} s: "
                "seed org-graph first (its events build the projection)"
            )
        time.sleep(1.0)


ROSTER: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    # resource id, kind, display name, extra fields
    (
        "res-demo-grid-worker-01",
        "volunteer",
        "周敏(专职网格员)",
        {"person_id": "p-demo-gw-01", "skills": ["走访"]},
    ),
    (
        "res-demo-cadre-01",
        "sunk_down_cadre",
        "王建国",
        {
            "person_id": "p-demo-cadre-01",
            "unit_id": UNIT_FINANCE,
            "employer": "武昌区财政局",
            "skills": ["政策解读"],
        },
    ),
    (
        "res-demo-cadre-02",
        "sunk_down_cadre",
        "刘芳",
        {
            "person_id": "p-demo-cadre-02",
            "unit_id": UNIT_FINANCE,
            "employer": "武昌区财政局",
            "skills": ["矛盾调解"],
        },
    ),
    (
        "res-demo-member-01",
        "in_service_member",
        "陈志强",
        {
            "person_id": "p-demo-member-01",
            "basis": "residence",
            "unit_id": UNIT_HOSPITAL,
            "employer": "湖北省第三人民医院",
            "skills": ["义诊", "health"],
        },
    ),
    (
        "res-demo-member-02",
        "in_service_member",
        "张丽",
        {"person_id": "p-demo-member-02", "basis": "paired", "skills": ["legal", "法律咨询"]},
    ),
    ("res-demo-police-01", "police", "赵警官(社区民警)", {"person_id": "p-demo-police-01"}),
    ("res-demo-cityman-01", "city_management", "孙队员(城管)", {"person_id": "p-demo-cityman-01"}),
    (
        "res-demo-volunteer-01",
        "volunteer",
        "李阿姨(志愿者)",
        {"person_id": "p-demo-volunteer-01", "skills": ["elderly", "助餐"]},
    ),
    (
        "res-demo-courier-01",
        "new_employment_worker",
        "小黄(外卖骑手)",
        {"person_id": "p-demo-courier-01", "skills": ["巡查"]},
    ),
    ("res-demo-unit-hospital", "paired_unit", "湖北省第三人民医院", {"unit_id": UNIT_HOSPITAL}),
    ("res-demo-unit-jointbuild", "joint_build_unit", "武昌某国企共建单位", {"unit_id": "unit-demo-soe"}),
    ("res-demo-property", "property_company", "示范物业公司", {"unit_id": "unit-demo-property"}),
)
ROLES = {
    "volunteer": "volunteer",
    "sunk_down_cadre": "sunk_down_cadre",
    "in_service_member": "party_member",
    "police": "police",
    "city_management": "city_management",
    "new_employment_worker": "volunteer",
    "paired_unit": "paired_unit",
    "joint_build_unit": "joint_build_unit",
    "property_company": "property_company",
}


def seed(base_url: str, token: str) -> None:
    """Seed (or re-seed, changing nothing) the demo community. Needs a coordinator token for street
    420106002 (or an admin token)."""
    api = _Api(base_url, token)
    grids = _wait_for_grids(api)
    people = _resources(api, grids)
    _teams(api, grids, people)
    _three_lists(api)
    _requests(api, grids)


def _resources(api: _Api, grids: list[dict[str, Any]]) -> dict[str, str]:
    """Report in, confirm and join grids: round-robin over the grids, the first grid gets everyone."""
    grid_of: dict[str, str] = {}
    for index, (resource_id, kind, name, extra) in enumerate(ROSTER):
        body = {
            "resource_id": resource_id,
            "community_code": COMMUNITY,
            "kind": kind,
            "display_name": name,
            **extra,
        }
        api.call("POST", "/resources", body, ok=(409,))
        api.call("POST", f"/resources/{resource_id}/confirm", ok=(409,))
        grid = grids[0]["grid_id"] if index < 8 else grids[index % len(grids)]["grid_id"]
        join = {"grid_id": grid, "role": ROLES[kind], "period_start": "2025-01-01"}
        api.call("POST", f"/resources/{resource_id}/grids", join, ok=(409,))
        grid_of[resource_id] = grid
    return grid_of


def _teams(api: _Api, grids: list[dict[str, Any]], grid_of: dict[str, str]) -> None:
    for grid in grids:
        grid_id = grid["grid_id"]
        members = [rid for rid, g in grid_of.items() if g == grid_id]
        if not members:
            continue
        api.call(
            "POST", "/teams", {"grid_id": grid_id, "name": f"{grid.get('name') or grid_id}服务团"}, ok=(409,)
        )
        for resource_id in members:
            api.call("POST", f"/teams/team-{grid_id}/members", {"resource_id": resource_id}, ok=(409,))


def _three_lists(api: _Api) -> None:
    needs = (
        ("need-demo-meals", "独居老人助餐", ["elderly", "助餐"], 3),
        ("need-demo-clinic", "老人健康义诊", ["health", "elderly"], 2),
        ("need-demo-legal", "物业纠纷法律咨询", ["legal"], 1),
    )
    for need_id, title, tags, slots in needs:
        body = {"need_id": need_id, "community_code": COMMUNITY, "title": title, "tags": tags, "slots": slots}
        api.call("POST", "/needs", body, ok=(409,))
    offers = (
        ("offer-demo-clinic", "res-demo-unit-hospital", "project", "社区义诊进楼栋", ["health", "elderly"]),
        ("offer-demo-ambulance", "res-demo-unit-hospital", "resource", "急救培训讲师", ["health"]),
        ("offer-demo-hall", "res-demo-unit-jointbuild", "resource", "活动场地", ["space"]),
    )
    for offer_id, resource_id, kind, title, tags in offers:
        body = {"offer_id": offer_id, "resource_id": resource_id, "kind": kind, "title": title, "tags": tags}
        api.call("POST", "/offers", body, ok=(409,))
    status, claim = api.call(
        "POST", "/needs/need-demo-meals/claims", {"resource_id": "res-demo-volunteer-01"}, ok=(409,)
    )
    if status == 201:
        api.call("POST", f"/needs/need-demo-meals/claims/{claim['claim_id']}/complete", {"hours": 2.5})


def _requests(api: _Api, grids: list[dict[str, Any]]) -> None:
    building = next((g["building_codes"][0] for g in grids if g.get("building_codes")), None)
    located = {"building_code": building} if building else {"grid_id": grids[0]["grid_id"]}
    stories: tuple[tuple[str, dict[str, Any], tuple[tuple[str, dict[str, Any]], ...]], ...] = (
        (
            "req-demo-water-leak",
            {
                "kind": "help",
                "category": "水电维修",
                "urgency": "utilities",
                "summary": "楼道水管漏水",
                "resident_person_id": RESIDENTS[0],
                **located,
            },
            (
                ("accept", {}),
                ("progress", {"note": "已联系物业关闭总阀"}),
                ("resolve", {"result": "更换水管接头"}),
            ),
        ),
        (
            "req-demo-noise",
            {
                "kind": "complaint",
                "category": "噪音扰民",
                "urgency": "ordinary",
                "summary": "夜间装修噪音",
                "resident_person_id": RESIDENTS[1],
                **located,
            },
            (("accept", {}),),
        ),
        (
            "req-demo-elevator",
            {
                "kind": "suggestion",
                "category": "加装电梯",
                "urgency": "complex",
                "summary": "建议老旧楼栋加装电梯",
                "resident_person_id": RESIDENTS[2],
            },
            (("escalate", {"reason": "beyond_authority", "note": "需街道统筹"}),),
        ),
    )
    for request_id, fields, steps in stories:
        body = {"request_id": request_id, "community_code": COMMUNITY, "channel": "service_hall", **fields}
        status, _ = api.call("POST", "/requests", body, ok=(409,))
        if status != 201:
            continue  # seeded before: leave its life as it is now
        for step, step_body in steps:
            api.call("POST", f"/requests/{request_id}/{step}", step_body)
