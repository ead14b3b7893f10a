"""Building organisations, people and posts through the HTTP API for tests."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.orggraph.conftest import Api, Community


async def form(api: Api, kind: str, place: str, parent: str | None = None, name: str | None = None) -> str:
    body: dict[str, Any] = {"kind": kind, "place_code": place, "name": name or f"{kind} {place}"}
    if parent:
        body["parent_org_id"] = parent
    return str((await api.ok("POST", "/organisations", body))["org_id"])


async def person(api: Api, c: Community, name: str, party_member: bool = False, **extra: Any) -> str:
    body = {"display_name": name, "community_code": c.code, "party_member": party_member, **extra}
    return str((await api.ok("POST", "/people", body))["person_id"])


async def appoint(
    api: Api,
    person_id: str,
    org_id: str,
    post: str,
    start: str = "2024-01-01",
    token: str | None = None,
    **extra: Any,
) -> Any:
    body = {
        "person_id": person_id,
        "org_id": org_id,
        "post": post,
        "start_date": start,
        "basis": extra.pop("basis", "election"),
        "basis_reference": extra.pop("basis_reference", f"第{uuid.uuid4().hex[:4]}次选举"),
        **extra,
    }
    return await api.post("/memberships", body, token)


async def community_orgs(api: Api, c: Community) -> dict[str, str]:
    """The two committees at the community, a compound branch, a building party group, owners' bodies."""
    orgs = {
        "party": await form(api, "party_committee", c.code, name="社区党委"),
        "residents": await form(api, "residents_committee", c.code, name="社区居委会"),
    }
    orgs["branch"] = await form(api, "party_branch", c.compound(1), orgs["party"], "小区党支部")
    orgs["group"] = await form(api, "party_group", c.building(1, 1), orgs["branch"], "1栋党小组")
    orgs["assembly"] = await form(api, "owners_assembly", c.compound(1), name="业主大会")
    orgs["owners"] = await form(api, "owners_committee", c.compound(1), orgs["assembly"], "业主委员会")
    orgs["property"] = await form(api, "property_company", c.compound(1), name="物业公司")
    return orgs
