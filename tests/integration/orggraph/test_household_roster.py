"""The household roster (CSV, XLSX): import registers households and unknown owners, all rows or none;
the export re-imports as it is and changes nothing; an edited file updates only what changed."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from civicgrid_contracts.catalogue import parse_payload
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.households import HouseholdRegistered, HouseholdUpdated
from civicgrid_runtime.auth import Role
from tests.integration.orggraph.builders import person
from tests.integration.orggraph.conftest import Api, Community, NewCommunity, build_compound

pytestmark = pytest.mark.integration
HEADER = [
    "building_code",
    "entrance",
    "unit_number",
    "exclusive_area_m2",
    "owner_person_ids",
    "owner_names",
    "resident_person_ids",
    "representative_person_id",
]


def as_csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def upload(api: Api, name: str, content: bytes, token: str | None = None, **params: str) -> Any:
    return await api.client.post(
        "/imports/households", files={"file": (name, content)}, params=params, headers=api.headers(token)
    )


async def household_events(neo4j_driver: Any, community: str) -> list[CloudEvent]:
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $code AND o.event CONTAINS 'org.household.' "
        "RETURN o.event AS event ORDER BY o.created_at, o.seq",
        code=community,
    )
    events = [CloudEvent.model_validate_json(r["event"]) for r in records]
    return [e for e in events if e.partitionkey == community]


def rows_of(c: Community, rep: str, known: str, tag: str) -> list[list[str]]:
    b1, b2 = c.building(1, 1), c.building(1, 2)
    return [
        [b1, "1", "101", "88.5", f"{tag}-o1", "业主一", f"{tag}-o1", rep],
        [b1, "1", "102", "90", f"{tag}-o1;{tag}-o2", "业主一;业主二", "", rep],
        [b2, "2", "301", "120.25", known, "", known, ""],
    ]


async def test_a_household_roster_round_trips_through_export_and_reimport_changes_nothing(
    api: Api, new_community: NewCommunity, neo4j_driver: Any, unique: str
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=2)
    rep, known = await person(api, c, "代表"), await person(api, c, "老业主")
    first = await upload(api, "households.csv", as_csv(rows_of(c, rep, known, f"o{unique}")))
    assert first.status_code == 200, first.text
    assert first.json() == {
        "rows": 3,
        "households_registered": 3,
        "households_updated": 0,
        "people_registered": 2,
        "changed": True,
        "dry_run": False,
    }
    listed = await api.ok("GET", f"/compounds/{c.compound(1)}/households")
    assert listed["totals"]["area_m2"] == 298.75
    assert listed["totals"]["owner_headcount"] == 3

    exported = await api.get("/exports/households", region=c.code)
    assert exported.status_code == 200
    text = exported.content.decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["household_code"] for line in lines] == [
        f"{c.building(1, 1)}-U1-101",
        f"{c.building(1, 1)}-U1-102",
        f"{c.building(1, 2)}-U2-301",
    ]
    assert lines[1]["owner_names"] == "业主一;业主二"
    assert lines[2]["owner_names"] == "老业主"
    assert lines[0]["exclusive_area_m2"] == "88.50"

    before = len(await household_events(neo4j_driver, c.code))
    again = await upload(api, "households.csv", exported.content)
    assert again.status_code == 200, again.text
    assert again.json()["changed"] is False
    xlsx = await api.get("/exports/households", region=c.code, format="xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [cell.value for cell in next(sheet.iter_rows(max_row=1))][:2] == [
        "household_code",
        "building_code",
    ]
    assert (await upload(api, "households.xlsx", xlsx.content)).json()["changed"] is False
    assert len(await household_events(neo4j_driver, c.code)) == before == 3


async def test_an_edited_roster_updates_only_the_households_that_changed_at_their_next_version(
    api: Api, new_community: NewCommunity, neo4j_driver: Any, unique: str
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=2)
    rep, known = await person(api, c, "代表"), await person(api, c, "老业主")
    rows = rows_of(c, rep, known, f"o{unique}")
    await upload(api, "households.csv", as_csv(rows))
    rows[2][3] = "121"
    rows[0][7] = ""
    result = (await upload(api, "households.csv", as_csv(rows))).json()
    assert (result["households_registered"], result["households_updated"]) == (0, 2)
    events = [parse_payload(e) for e in await household_events(neo4j_driver, c.code)]
    latest = {e.household_code: e for e in events if isinstance(e, HouseholdRegistered | HouseholdUpdated)}
    assert latest[f"{c.building(1, 2)}-U2-301"].version == 2
    assert latest[f"{c.building(1, 1)}-U1-101"].representative_person_id is None
    assert latest[f"{c.building(1, 1)}-U1-101"].version == 2
    assert latest[f"{c.building(1, 1)}-U1-102"].version == 1


async def test_a_roster_with_bad_rows_is_rejected_row_by_row_and_nothing_is_written(
    api: Api, new_community: NewCommunity, unique: str
) -> None:
    c = await new_community()
    await build_compound(api, c, buildings=1)
    b1 = c.building(1, 1)
    rows = [
        [b1, "1", "101", "-3", "", "", "", ""],
        [b1, "1", "102", "80", f"nobody-{unique}", "", "", ""],
        [b1, "1号", "103", "80", "", "", "", ""],
        [f"{c.code}-C01-B99", "1", "104", "80", "", "", "", ""],
        [b1, "1", "105", "80", f"n-{unique}", "新业主", "", ""],
    ]
    response = await upload(api, "households.csv", as_csv(rows))
    assert response.status_code == 422
    problems = [(p["row"], p["column"]) for p in response.json()["problems"]]
    assert problems == [(2, "exclusive_area_m2"), (4, "entrance")]
    del rows[2], rows[0]
    response = await upload(api, "households.csv", as_csv(rows))
    assert response.status_code == 422
    problems = [(p["row"], p["column"]) for p in response.json()["problems"]]
    assert problems == [(2, "owner_person_ids"), (3, "building_code")]
    assert (await api.get(f"/households/{b1}-U1-105")).status_code == 404
    assert (await api.get(f"/people/n-{unique}")).status_code == 404


async def test_a_coordinator_may_import_and_export_households_only_in_their_region(
    api: Api, new_community: NewCommunity
) -> None:
    c, elsewhere = await new_community(), await new_community()
    await build_compound(api, c, buildings=1)
    stranger = api.token(Role.COORDINATOR, region=elsewhere.code)
    rows = [[c.building(1, 1), "1", "101", "80", "", "", "", ""]]
    refused = await upload(api, "households.csv", as_csv(rows), stranger)
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["column"] == "building_code"
    assert "outside your region" in refused.text
    assert (await api.get("/exports/households", stranger, region=c.code)).status_code == 403
    own = api.token(Role.COORDINATOR, region=c.code)
    assert (await upload(api, "households.csv", as_csv(rows), own)).status_code == 200
