"""Bulk import of a building roster (CSV, XLSX): row-by-row validation, all or "
"nothing, re-import is a no-op."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from tests.integration.orggraph.conftest import Api, Community, NewCommunity

pytestmark = pytest.mark.integration
HEADER = [
    "community_code",
    "compound_code",
    "compound_name",
    "owners_committee_eligible",
    "building_code",
    "building_name",
    "households",
    "grid_id",
    "grid_name",
]


def roster(c: Community, compounds: int = 2, buildings: int = 3) -> list[list[str]]:
    rows = []
    for cp in range(1, compounds + 1):
        for b in range(1, buildings + 1):
            rows.append(
                [
                    c.code,
                    c.compound(cp),
                    f"花园{cp}期",
                    "yes",
                    c.building(cp, b),
                    f"{b}栋",
                    "72",
                    c.grid(cp),
                    f"第{cp}网格",
                ]
            )
    return rows


def as_csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def as_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append([int(v) if v.isdigit() and len(v) < 6 else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(api: Api, name: str, content: bytes, **params: str):
    return await api.client.post(
        "/imports/roster", files={"file": (name, content)}, params=params, headers=api.headers(None)
    )


async def pending_events(neo4j_driver, code: str) -> int:
    records, _, _ = await neo4j_driver.execute_query(
        "MATCH (o:OutboxEvent) WHERE o.event CONTAINS $code RETURN count(o) AS n", code=code
    )
    return int(records[0]["n"])


async def test_a_csv_roster_creates_compounds_buildings_and_grids_and_reimporting_changes_nothing(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    content = as_csv(roster(c))
    first = await upload(api, "roster.csv", content)
    assert first.status_code == 200, first.text
    assert first.json() | {"dry_run": False} == {
        "rows": 6,
        "places_created": 8,
        "places_updated": 0,
        "grids_defined": 2,
        "buildings_moved_or_assigned": 0,
        "changed": True,
        "dry_run": False,
    }
    events = await pending_events(neo4j_driver, f"{c.code}-C")
    again = await upload(api, "roster.csv", content)
    assert again.json()["changed"] is False
    assert await pending_events(neo4j_driver, f"{c.code}-C") == events
    grid = await api.ok("GET", f"/grids/{c.grid(2)}/members")
    assert sorted(b["code"] for b in grid["buildings"]) == [c.building(2, b) for b in (1, 2, 3)]


async def test_a_file_with_bad_rows_is_rejected_with_each_row_number_and_nothing_is_written(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    rows = roster(c)
    rows[2][6] = "七十二"
    rows[4][4] = "not-a-code"
    response = await upload(api, "roster.csv", as_csv(rows))
    assert response.status_code == 422
    problems = [(p["row"], p["column"]) for p in response.json()["problems"]]
    assert problems == [(4, "households"), (6, "building_code")]
    assert (await api.get(f"/places/{c.compound(1)}")).status_code == 404


async def test_a_row_that_contradicts_the_graph_rejects_the_whole_file(api: Api, new_community: NewCommunity):
    c = await new_community()
    await api.ok(
        "POST", "/places", {"kind": "compound", "code": c.compound(2), "parent_code": c.code, "name": "旧"}
    )
    await api.ok("POST", "/places/" + c.compound(2) + "/dissolve", {"reason": "合并"})
    response = await upload(api, "roster.csv", as_csv(roster(c)))
    assert response.status_code == 422
    body = response.json()
    assert body["problems"][0]["column"] == "compound_code"
    assert "dissolved" in body["problems"][0]["reason"]
    assert (await api.get(f"/places/{c.compound(1)}")).status_code == 404, "rows before it were not written"


async def test_an_xlsx_roster_imports_and_its_export_reimports_as_no_change(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    imported = await upload(api, "roster.xlsx", as_xlsx(roster(c, compounds=1, buildings=2)))
    assert imported.status_code == 200, imported.text
    assert imported.json()["places_created"] == 3
    exported = await api.client.get(
        "/exports/roster", params={"region": c.code, "format": "xlsx"}, headers=api.headers(None)
    )
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADER
    assert [r[4] for r in values[1:]] == [c.building(1, 1), c.building(1, 2)]
    again = await upload(api, "export.xlsx", exported.content)
    assert again.json()["changed"] is False


async def test_a_csv_export_lists_buildings_with_their_compound_and_grid(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await upload(api, "roster.csv", as_csv(roster(c, compounds=1, buildings=1)))
    exported = await api.client.get("/exports/roster", params={"region": c.code}, headers=api.headers(None))
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows == [
        {
            "community_code": c.code,
            "compound_code": c.compound(1),
            "compound_name": "花园1期",
            "owners_committee_eligible": "true",
            "building_code": c.building(1, 1),
            "building_name": "1栋",
            "households": "72",
            "grid_id": c.grid(1),
            "grid_name": "第1网格",
        }
    ]


async def test_a_dry_run_reports_the_changes_and_writes_nothing(api: Api, new_community: NewCommunity):
    c = await new_community()
    dry = await upload(api, "roster.csv", as_csv(roster(c)), dry_run="true")
    assert dry.json()["places_created"] == 8
    assert dry.json()["dry_run"] is True
    assert (await api.get(f"/places/{c.compound(1)}")).status_code == 404


async def test_moving_a_building_in_the_roster_moves_it_between_grids(api: Api, new_community: NewCommunity):
    c = await new_community()
    rows = roster(c, compounds=2, buildings=1)
    await upload(api, "roster.csv", as_csv(rows))
    rows[0][7], rows[0][8] = c.grid(2), "第2网格"
    changed = await upload(api, "roster.csv", as_csv(rows))
    assert changed.json()["buildings_moved_or_assigned"] == 1
    assert (await api.ok("GET", f"/places/{c.building(1, 1)}"))["grid_id"] == c.grid(2)


async def test_a_file_missing_a_required_column_is_rejected(api: Api, new_community: NewCommunity):
    c = await new_community()
    response = await upload(api, "roster.csv", as_csv([[c.code]], header=["community_code"]))
    assert response.status_code == 422
    assert {p["column"] for p in response.json()["problems"]} == {"building_code", "building_name"}
