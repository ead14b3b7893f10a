"""Input that used to crash or leak (issue 9): free text holding a phone or ID-card number, control
characters, odd stored data in exports, unbounded numbers. Each is a 422 naming the field (or a clean
export), never a 500, and the clear number is never echoed nor logged."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.integration.orggraph.builders import form, person
from tests.integration.orggraph.conftest import Api, Community, NewCommunity, build_compound
from tests.integration.orggraph.test_import_export import HEADER, as_csv

pytestmark = pytest.mark.integration

PHONE = "13987654321"
ID_CARD = "42010619900307123X"
POST_HEADER = [
    "person_id",
    "display_name",
    "community_code",
    "party_member",
    "phone",
    "org_id",
    "post",
    "grid_id",
    "building_code",
    "start_date",
    "term_end_date",
    "basis",
    "basis_reference",
    "drawn_from_org_id",
]


def _refused(response: Any, field: str, secret: str | None = None) -> None:
    assert response.status_code == 422, response.text
    assert field in response.text, response.text
    if secret is not None:
        assert secret not in response.text


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def test_free_text_with_a_phone_or_id_card_number_is_a_422_naming_the_field_in_every_write(
    api: Api, new_community: NewCommunity, log_lines: pytest.LogCaptureFixture
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    committee = await form(api, "residents_committee", c.code)
    someone = await person(api, c, "张三")
    grid = c.grid(1)
    await api.ok("POST", "/grids", {"grid_id": grid, "name": "一网格", "building_codes": [c.building(1, 1)]})
    for secret in (PHONE, ID_CARD):
        text = f"联系 {secret}"
        compound = {"kind": "compound", "code": c.compound(9), "parent_code": c.code, "name": text}
        _refused(await api.post("/places", compound), "name", secret)
        _refused(await api.patch(f"/places/{c.compound(1)}", {"name": text}), "name", secret)
        _refused(await api.patch(f"/places/{c.code}", {"attributes": {"note": text}}), "note", secret)
        _refused(await api.post("/grids", {"grid_id": c.grid(2), "name": text}), "name", secret)
        _refused(await api.patch(f"/grids/{grid}", {"name": text}), "name", secret)
        org = {"kind": "property_company", "place_code": c.compound(1), "name": text}
        _refused(await api.post("/organisations", org), "name", secret)
        _refused(await api.patch(f"/organisations/{committee}", {"name": text}), "name", secret)
        who = {"display_name": text, "community_code": c.code}
        _refused(await api.post("/people", who), "display_name", secret)
        _refused(
            await api.post(
                "/people", {"display_name": "李四", "community_code": c.code, "person_id": secret}
            ),
            "person_id",
            secret,
        )
        appointment = {
            "person_id": someone,
            "org_id": committee,
            "post": "committee_member",
            "start_date": "2024-01-01",
            "basis": "election",
            "basis_reference": text,
        }
        _refused(await api.post("/memberships", appointment), "basis_reference", secret)
        _refused(await api.post(f"/places/{c.compound(1)}/dissolve", {"reason": text}), "reason", secret)
        _refused(
            await api.post(f"/grids/{grid}/dissolve", {"on": "2025-01-01", "reason": text}), "reason", secret
        )
        _refused(
            await api.post(f"/organisations/{committee}/dissolve", {"on": "2025-01-01", "reason": text}),
            "reason",
            secret,
        )
    started = await api.post("/memberships", {**appointment, "basis_reference": "换届选举"})
    assert started.status_code == 201, started.text
    membership = started.json()["membership_id"]
    end = {"end_date": "2025-01-01", "reason": "resigned", "note": f"电话 {PHONE}"}
    _refused(await api.post(f"/memberships/{membership}/end", end), "note", PHONE)
    assert PHONE not in log_lines.text
    assert ID_CARD not in log_lines.text


async def test_an_id_that_is_a_phone_number_is_refused_in_paths_too(api: Api):
    response = await api.get(f"/people/{PHONE}")
    _refused(response, "person_id", PHONE)


def _post_roster(c: Community, committee: str, **changes: str) -> bytes:
    row = {
        "person_id": f"imp-{c.code}-1",
        "display_name": "王五",
        "community_code": c.code,
        "party_member": "true",
        "phone": "13812345678",
        "org_id": committee,
        "post": "committee_member",
        "grid_id": "",
        "building_code": "",
        "start_date": "2024-01-01",
        "term_end_date": "",
        "basis": "election",
        "basis_reference": "2024年换届",
        **changes,
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=POST_HEADER)
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue().encode("utf-8")


async def _import(api: Api, path: str, content: bytes, dry_run: bool, name: str = "f.csv") -> Any:
    params = {"dry_run": "true"} if dry_run else {}
    return await api.client.post(
        path, params=params, files={"file": (name, content)}, headers=api.headers(None)
    )


async def test_imported_rows_with_personal_data_are_refused_in_dry_run_and_for_real_alike(
    api: Api, new_community: NewCommunity, log_lines: pytest.LogCaptureFixture
):
    c = await new_community()
    committee = await form(api, "residents_committee", c.code)
    for dry_run in (True, False):
        for column in ("display_name", "basis_reference"):
            content = _post_roster(c, committee, **{column: f"电话{PHONE}"})
            _refused(await _import(api, "/imports/posts", content, dry_run), column, PHONE)
        content = _post_roster(c, committee, person_id=f"p-{PHONE}")
        _refused(await _import(api, "/imports/posts", content, dry_run), "person_id", PHONE)
        for column, index in (("compound_name", 2), ("building_name", 5), ("grid_name", 8)):
            row = [c.code, c.compound(1), "花园", "yes", c.building(1, 1), "1栋", "72", c.grid(1), "一网格"]
            row[index] = f"身份证{ID_CARD}"
            _refused(await _import(api, "/imports/roster", as_csv([row]), dry_run), column, ID_CARD)
    place = await api.get(f"/places/{c.compound(1)}")
    assert place.status_code == 404, "nothing of a refused file is written"
    assert PHONE not in log_lines.text
    assert ID_CARD not in log_lines.text


async def test_control_characters_are_refused_at_input(api: Api, new_community: NewCommunity):
    c = await new_community()
    compound = {"kind": "compound", "code": c.compound(1), "parent_code": c.code, "name": "a\u0000b"}
    _refused(await api.post("/places", compound), "name")
    _refused(await api.post("/places", {**compound, "name": "a\u001bb"}), "name")
    _refused(await api.post("/people", {"display_name": "x\u0007", "community_code": c.code}), "display_name")
    row = [c.code, c.compound(1), "花\u0000园", "yes", c.building(1, 1), "1栋", "72", "", ""]
    _refused(await _import(api, "/imports/roster", as_csv([row]), dry_run=False), "compound_name")
    note = await api.post(f"/places/{c.code}/dissolve", {"reason": "合并\n到邻近社区\t(决定)"})
    assert note.status_code == 200, "tabs and line breaks are fine in a reason"


async def test_exports_carry_odd_stored_names_instead_of_failing(
    api: Api, new_community: NewCommunity, neo4j_driver
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    await neo4j_driver.execute_query(
        "MATCH (p:Place {code: $code}) SET p.name = $name", code=c.compound(1), name="a\u0000b\u001bc"
    )
    for region in (c.code, c.street[:9], "420106"):
        xlsx = await api.get("/exports/roster", region=region, format="xlsx")
        assert xlsx.status_code == 200, xlsx.text
        sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
        names = [row[2] for row in sheet.iter_rows(values_only=True) if row[1] == c.compound(1)]
        assert names == ["a\ufffdb\ufffdc"]
        posts = await api.get("/exports/posts", region=region, format="xlsx")
        assert posts.status_code == 200
    plain = await api.get("/exports/roster", region=c.code, format="csv")
    assert plain.status_code == 200
    assert "a\ufffdb\ufffdc" in plain.content.decode("utf-8")


async def test_numeric_query_parameters_past_their_bounds_are_a_422(api: Api, new_community: NewCommunity):
    c = await new_community()
    gaps = f"/regions/{c.code}/coverage/gaps/buildings_without_grid"
    _refused(await api.get(gaps, offset="9223372036854775807"), "offset")
    _refused(await api.get(gaps, offset="-1"), "offset")
    _refused(await api.get(gaps, limit="100000"), "limit")
    _refused(await api.get(f"/regions/{c.code}/cross-appointment-flags", limit="0"), "limit")
    assert (await api.get(gaps, offset="1000000")).status_code == 200


async def test_an_xlsx_roster_with_control_characters_is_refused_not_crashed(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([c.code, c.compound(1), "花\u0085园", "yes", c.building(1, 1), "1栋", 72, "", ""])
    out = io.BytesIO()
    book.save(out)
    response = await _import(api, "/imports/roster", out.getvalue(), dry_run=True, name="r.xlsx")
    _refused(response, "compound_name")
