"""Bulk import of a post roster: people and terms, every appointment rule per row, all rows or none."""

from __future__ import annotations

import csv
import io

import pytest

from civicgrid_orggraph.domain.post_roster import POST_COLUMNS
from tests.integration.orggraph.builders import community_orgs
from tests.integration.orggraph.conftest import Api, Community, NewCommunity, build_compound

pytestmark = pytest.mark.integration


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(POST_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


IDS = {"书记": "shuji", "楼长": "louzhang", "主任": "zhuren", "委员": "weiyuan"}


def row(c: Community, person: str, org: str, post: str, **extra: str) -> dict[str, str]:
    base = {
        "person_id": f"{IDS[person]}-{c.code}",
        "display_name": person,
        "community_code": c.code,
        "party_member": "true",
        "phone": "13700001234",
        "org_id": org,
        "post": post,
        "start_date": "2024-01-01",
        "basis": "election",
        "basis_reference": "2024年换届",
    }
    return {**base, **extra}


async def upload(api: Api, content: bytes):
    return await api.client.post(
        "/imports/posts", files={"file": ("posts.csv", content)}, headers=api.headers(None)
    )


async def test_a_post_roster_registers_people_and_terms_and_reimporting_changes_nothing(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    orgs = await community_orgs(api, c)
    rows = [
        row(c, "书记", orgs["party"], "secretary"),
        row(c, "楼长", orgs["residents"], "building_head", building_code=c.building(1, 1)),
        row(c, "主任", orgs["owners"], "owners_committee_chair", basis="owners_assembly_vote"),
    ]
    first = await upload(api, as_csv(rows))
    assert first.status_code == 200, first.text
    assert (first.json()["people_registered"], first.json()["terms_started"]) == (3, 3)
    again = await upload(api, as_csv(rows))
    assert again.json()["changed"] is False
    chain = await api.ok("GET", f"/buildings/{c.building(1, 1)}/responsibility-chain")
    assert {link["role"] for link in chain["chain"]} >= {"building_head", "community_secretary"}


async def test_a_post_roster_breaking_a_rule_is_rejected_with_the_row_and_nothing_is_written(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    orgs = await community_orgs(api, c)
    rows = [
        row(c, "委员", orgs["residents"], "committee_member"),
        row(c, "委员", orgs["owners"], "owners_committee_member", basis="appointment"),
    ]
    response = await upload(api, as_csv(rows))
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["row"] == 3
    assert problem["reason"].startswith("owners_committee_requires_assembly_vote")
    assert (await api.get(f"/people/weiyuan-{c.code}")).status_code == 404


async def test_an_exported_post_roster_reimports_as_no_change(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    orgs = await community_orgs(api, c)
    await upload(api, as_csv([row(c, "书记", orgs["party"], "secretary")]))
    exported = await api.client.get("/exports/posts", params={"region": c.code}, headers=api.headers(None))
    lines = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["display_name"], r["post"], r["phone"]) for r in lines] == [
        ("书记", "secretary", "137****1234")
    ]
    again = await upload(api, exported.content)
    assert again.status_code == 200, again.text
    assert again.json()["changed"] is False
