"""Demo data for org-graph: one Wuhan community modelled on a real one (DOMAIN.md), seeded through the
service's own HTTP API. Idempotent: places and grids come from a roster import (re-import changes
nothing); organisations, people and posts carry client-supplied ids.

    seed("http://127.0.0.1:8001", admin_token)

Community 420106002003 in street 420106002 of Wuchang district (420106): 9 compounds, 58 buildings,
12 grids, 4,453 households, 12,636 residents, 297 party members. Stdlib only (urllib).
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

COMMUNITY = "420106002003"
STREET = "420106002000"
BUILDINGS_PER_COMPOUND = (7, 7, 7, 7, 6, 6, 6, 6, 6)  # 58 buildings
COMPOUND_NAMES = (
    "紫阳苑",
    "丁字桥小区",
    "湖畔花园",
    "棕榈泉",
    "南湖新城",
    "水岸星城",
    "文馨苑",
    "翠柳街小区",
    "老干部宿舍",
)
HOUSEHOLDS_PER_BUILDING = 77  # 45 buildings of 77 and the last 13 of 76: 4,453 households, as the real one
SMALLER_BUILDINGS = 13
ENTRANCES_PER_BUILDING = 2
WITHOUT_BRANCH = {9}  # compound 9 has no party branch yet: a coverage gap to find
WITHOUT_OWNERS_COMMITTEE = {8}  # eligible, but no owners' committee yet
NOT_ELIGIBLE = {9}  # the old staff dormitory is not eligible for an owners' committee
SPLIT = {1, 2, 3}  # the three largest compounds have two grids each: 12 grids


class SeedError(RuntimeError):
    pass


def _call(
    base_url: str,
    token: str,
    method: str,
    path: str,
    body: Any = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> Any:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise SeedError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None


def _compound(n: int) -> str:
    return f"{COMMUNITY}-C{n:02d}"


def _building(c: int, b: int) -> str:
    return f"{_compound(c)}-B{b:02d}"


def _grid(c: int, b: int) -> str:
    order = [(cc, half) for cc in range(1, 10) for half in ((1, 2) if cc in SPLIT else (1,))]
    half = 1 if c not in SPLIT or b <= BUILDINGS_PER_COMPOUND[c - 1] // 2 else 2
    return f"{COMMUNITY}{order.index((c, half)) + 1:03d}"


def _households_in(c: int, b: int) -> int:
    order = [(cc, bb) for cc, count in enumerate(BUILDINGS_PER_COMPOUND, 1) for bb in range(1, count + 1)]
    return HOUSEHOLDS_PER_BUILDING - (order.index((c, b)) >= len(order) - SMALLER_BUILDINGS)


def roster_csv() -> bytes:
    lines = [
        "community_code,compound_code,compound_name,owners_committee_eligible,building_code,"
        "building_name,households,grid_id,grid_name"
    ]
    for c, count in enumerate(BUILDINGS_PER_COMPOUND, start=1):
        eligible = "false" if c in NOT_ELIGIBLE else "true"
        for b in range(1, count + 1):
            grid = _grid(c, b)
            lines.append(
                f"{COMMUNITY},{_compound(c)},{COMPOUND_NAMES[c - 1]},{eligible},{_building(c, b)},"
                f"{b}栋,{_households_in(c, b)},{grid},第{int(grid[-3:])}网格"
            )
    return ("\n".join(lines) + "\n").encode()


def _multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def seed(base_url: str, token: str) -> None:
    """Seed (or re-seed, changing nothing) the demo community. Needs an admin token."""

    def call(method: str, path: str, body: Any = None) -> Any:
        return _call(base_url, token, method, path, body)

    for kind, code, name in (
        ("province", "420000000000", "湖北省"),
        ("city", "420100000000", "武汉市"),
        ("district", "420106000000", "武昌区"),
        ("street", STREET, "示范街道"),
    ):
        call("POST", "/places", {"kind": kind, "code": code, "name": name})
    community = {
        "kind": "community",
        "code": COMMUNITY,
        "name": "示范社区",
        "attributes": {
            "residents": 12636,
            "households": 4453,
            "party_members": 297,
            "area_km2": 0.87,
            "service_area_m2": 1200.0,
        },
    }
    try:
        call("POST", "/places", community)
    except SeedError as error:
        if " 409 " not in f" {error} ".replace(":", " "):
            raise
    body, content_type = _multipart("roster.csv", roster_csv())
    _call(base_url, token, "POST", "/imports/roster", raw=body, content_type=content_type)
    _organisations(call)
    _people_and_posts(call)
    _households(base_url, token)


def _org(call: Any, org_id: str, kind: str, place: str, name: str, parent: str | None = None) -> str:
    call(
        "POST",
        "/organisations",
        {
            "org_id": org_id,
            "kind": kind,
            "place_code": place,
            "name": name,
            "parent_org_id": parent,
            "formed_on": "2021-05-01",
        },
    )
    return org_id


def _organisations(call: Any) -> None:
    _org(call, "demo-street-office", "street_office", STREET, "示范街道办事处")
    party = _org(call, "demo-party", "party_committee", COMMUNITY, "示范社区党委")
    residents = _org(call, "demo-residents", "residents_committee", COMMUNITY, "示范社区居民委员会")
    for n, name in enumerate(
        ("人民调解委员会", "治安保卫委员会", "公共卫生委员会", "环境和物业管理委员会"), start=1
    ):
        _org(call, f"demo-sub-{n}", "subcommittee", COMMUNITY, name, residents)
    for c, count in enumerate(BUILDINGS_PER_COMPOUND, start=1):
        name = COMPOUND_NAMES[c - 1]
        if c not in WITHOUT_BRANCH:
            branch = _org(call, f"demo-branch-{c}", "party_branch", _compound(c), f"{name}党支部", party)
            for b in range(1, count + 1):
                if (c, b) not in ((1, 7), (2, 7), (4, 6)):  # three buildings still without a party group
                    _org(
                        call,
                        f"demo-group-{c}-{b}",
                        "party_group",
                        _building(c, b),
                        f"{name}{b}栋党小组",
                        branch,
                    )
        assembly = _org(call, f"demo-assembly-{c}", "owners_assembly", _compound(c), f"{name}业主大会")
        if c not in WITHOUT_OWNERS_COMMITTEE | NOT_ELIGIBLE:
            _org(call, f"demo-owners-{c}", "owners_committee", _compound(c), f"{name}业主委员会", assembly)
        _org(call, f"demo-property-{c}", "property_company", _compound(c), f"{name}物业服务中心")


def _person(call: Any, person_id: str, name: str, party: bool, phone: str | None = None) -> str:
    body = {"person_id": person_id, "display_name": name, "community_code": COMMUNITY, "party_member": party}
    if phone:
        body["phone"] = phone
    call("POST", "/people", body)
    return person_id


def _post(
    call: Any, mid: str, person: str, org: str, post: str, basis: str = "election", **extra: Any
) -> None:
    reference = {
        "election": "2021年社区两委换届选举",
        "appointment": "街道党工委任命〔2021〕12号",
        "owners_assembly_vote": "2022年业主大会第1号决议",
    }[basis]
    call(
        "POST",
        "/memberships",
        {
            "membership_id": mid,
            "person_id": person,
            "org_id": org,
            "post": post,
            "start_date": "2021-05-01",
            "term_end_date": "2026-04-30",
            "basis": basis,
            "basis_reference": reference,
            **extra,
        },
    )


def _people_and_posts(call: Any) -> None:
    secretary = _person(call, "demo-p-secretary", "陈书记", True, "13900001111")
    _post(call, "demo-m-secretary", secretary, "demo-party", "secretary")
    _post(call, "demo-m-director", secretary, "demo-residents", "director")  # 一肩挑: secretary and director
    for n, name in enumerate(("刘", "黄", "周", "吴", "郑"), start=1):
        member = _person(call, f"demo-p-member-{n}", f"{name}委员", n <= 3)
        _post(call, f"demo-m-member-{n}", member, "demo-residents", "committee_member")
        if n <= 3:
            _post(call, f"demo-m-party-member-{n}", member, "demo-party", "committee_member")
    leader = _person(call, "demo-p-township", "孙副主任", True)
    grids = sorted(
        {_grid(c, b) for c, count in enumerate(BUILDINGS_PER_COMPOUND, 1) for b in range(1, count + 1)}
    )
    for n, grid in enumerate(grids, start=1):
        worker = _person(call, f"demo-p-grid-worker-{n}", f"网格员{n:02d}", n % 2 == 0)
        _post(
            call,
            f"demo-m-grid-worker-{n}",
            worker,
            "demo-residents",
            "grid_worker",
            "appointment",
            grid_id=grid,
        )
        _post(
            call,
            f"demo-m-grid-leader-{n}",
            worker if n > 6 else secretary if n == 1 else f"demo-p-member-{n - 1}",
            "demo-residents",
            "grid_leader",
            grid_id=grid,
        )
        _post(
            call,
            f"demo-m-township-{n}",
            leader,
            "demo-street-office",
            "grid_contact_leader",
            "appointment",
            grid_id=grid,
        )
    for c, count in enumerate(BUILDINGS_PER_COMPOUND, start=1):
        if c not in WITHOUT_BRANCH:
            branch_secretary = _person(call, f"demo-p-branch-{c}", f"{COMPOUND_NAMES[c - 1]}支书", True)
            _post(call, f"demo-m-branch-{c}", branch_secretary, f"demo-branch-{c}", "secretary")
        for b in range(1, count + 1):
            head = _person(call, f"demo-p-head-{c}-{b}", f"楼栋长{c}-{b}", b % 3 == 0)
            _post(
                call,
                f"demo-m-head-{c}-{b}",
                head,
                "demo-residents",
                "building_head",
                building_code=_building(c, b),
            )
    chair = _person(call, "demo-p-owners-chair-1", "紫阳苑业委会主任", True)
    _post(
        call,
        "demo-m-owners-chair-1",
        chair,
        "demo-owners-1",
        "owners_committee_chair",
        "owners_assembly_vote",
    )
    _post(
        call,
        "demo-m-part-time-1",
        chair,
        "demo-party",
        "part_time_committee_member",
        drawn_from_org_id="demo-owners-1",
    )
    member = "demo-p-member-1"
    _post(call, "demo-m-cross-1", member, "demo-owners-2", "owners_committee_member", "owners_assembly_vote")


# -- households -----------------------------------------------------------------------------------------
HOUSEHOLD_HEADER = (
    "building_code,entrance,unit_number,exclusive_area_m2,owner_person_ids,owner_names,"
    "resident_person_ids,representative_person_id"
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)


def _area(code: str) -> str:
    """The unit's exclusive area: 55.00 to 144.99 m², the same for a code on every run."""
    digest = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16)
    return f"{55 + (digest % 9000) / 100:.2f}"


OWNERS_WITH_POSTS = {"1-1-1-101": "demo-p-head-1-1"}
"""Units owned by a person of the demo's posts: 楼栋长1-1 (the notifications demo member) owns and lives in
紫阳苑 1栋1单元101, so they vote on the phone in 紫阳苑's open vote (deploy/stack/demo_deliberation.py)."""


def household_rows(c: int) -> list[str]:
    """The household roster of compound ``c`` (CSV lines without the header), deterministic.

    Two entrances per building, two units per floor (101, 102, 201...). Most units have one owner who
    lives there; every 4th is co-owned by a couple; every 29th belongs to the owner of the unit before
    (a second unit, let: no residents); every 97th has no owner on record (unsold). The owner of each
    entrance's first unit is the residents' representative who keeps in touch with the entrance."""
    lines: list[str] = []
    index = sum(
        _households_in(cc, bb) for cc in range(1, c) for bb in range(1, BUILDINGS_PER_COMPOUND[cc - 1] + 1)
    )
    previous_owner = ""
    for b in range(1, BUILDINGS_PER_COMPOUND[c - 1] + 1):
        count = _households_in(c, b)
        per_entrance = -(-count // ENTRANCES_PER_BUILDING)
        representative = ""
        for i in range(count):
            index += 1
            entrance, place = i // per_entrance + 1, i % per_entrance
            unit = f"{place // 2 + 1}{place % 2 + 1:02d}"
            code = f"{_building(c, b)}-U{entrance}-{unit}"
            owner = OWNERS_WITH_POSTS.get(f"{c}-{b}-{entrance}-{unit}", f"demo-o-{c}-{b}-{entrance}-{unit}")
            name = f"{SURNAMES[index % len(SURNAMES)]}业主{index:04d}"
            owners: list[str]
            names: list[str]
            residents: list[str]
            if index % 97 == 0:
                owners, names, residents = [], [], []
            elif index % 29 == 0 and previous_owner:
                owners, names, residents = [previous_owner], [""], []
            elif index % 4 == 0:
                owners = [owner, owner + "-2"]
                names = [name, f"{SURNAMES[(index + 7) % len(SURNAMES)]}业主{index:04d}乙"]
                residents = owners
            else:
                owners, names, residents = [owner], [name], [owner]
            if place == 0 and owners:
                representative = owners[0]
            if owners and names[0]:
                previous_owner = owners[0]
            lines.append(
                f"{_building(c, b)},{entrance},{unit},{_area(code)},{';'.join(owners)},"
                f"{';'.join(names) if any(names) else ''},{';'.join(residents)},{representative}"
            )
    return lines


def _households(base_url: str, token: str) -> None:
    """One household roster import per compound: 9 files of ~500 rows, each a few batched writes (3-9 s
    for all 4,453 households and their 5,320 owners on the 2-core development machine, depending on its
    load; three imports at a time measured no faster there)."""
    for c in range(1, len(BUILDINGS_PER_COMPOUND) + 1):
        content = ("\n".join([HOUSEHOLD_HEADER, *household_rows(c)]) + "\n").encode()
        body, content_type = _multipart(f"households-{c}.csv", content)
        _call(base_url, token, "POST", "/imports/households", raw=body, content_type=content_type)
