"""Security-suite faults (issue 9): a code that is a phone or ID-card number is a 422 naming its field; no
error answer repeats a clear number a caller sent; a date is a strict ``YYYY-MM-DD``, never a number."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.orggraph.builders import person
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound

pytestmark = pytest.mark.integration

PHONE = "13987654321"
ID_CARD = "42010619900307123X"


def _refused_naming(response: Any, field: str, secret: str) -> None:
    assert response.status_code == 422, response.text
    fields = [problem["field"] for problem in response.json().get("problems", [])]
    assert any(name.endswith(field) for name in fields), response.text
    assert secret not in response.text


async def test_a_code_segment_that_is_a_phone_or_id_card_number_is_a_422_naming_the_field(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    for secret in (PHONE, ID_CARD):
        code = f"x-{secret}"
        grid = {"grid_id": c.grid(1), "name": "一网格", "building_codes": [code]}
        _refused_naming(await api.post("/grids", grid), "building_codes.0", secret)
        org = {"kind": "property_company", "place_code": code, "name": "物业"}
        _refused_naming(await api.post("/organisations", org), "place_code", secret)
        dissolve = await api.post(f"/places/{c.compound(1)}/dissolve", {"merged_into": code})
        _refused_naming(dissolve, "merged_into", secret)
        compound = {"kind": "compound", "code": c.compound(5), "parent_code": code, "name": "小区"}
        _refused_naming(await api.post("/places", compound), "parent_code", secret)
        _refused_naming(await api.get(f"/places/{code}"), "code", secret)
    assert (await api.get(f"/places/{c.compound(1)}")).json()["active"] is True


async def test_a_not_found_or_invalid_answer_masks_a_phone_number_the_caller_sent(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    code = f"x{PHONE}"  # not a segment of its own, so a well-formed code; the answer quotes it
    missing = await api.get(f"/places/{code}")
    assert missing.status_code == 404, missing.text
    assert PHONE not in missing.text
    assert "139****4321" in missing.text
    compound = {"kind": "compound", "code": code, "parent_code": c.code, "name": "小区"}
    invalid = await api.post("/places", compound)
    assert invalid.status_code == 422, invalid.text
    assert PHONE not in invalid.text
    assert "139****4321" in invalid.text


async def test_a_field_path_holding_a_caller_supplied_number_is_redacted_too(
    api: Api, new_community: NewCommunity
):
    c = await new_community()
    answer = await api.patch(f"/places/{c.code}", {"attributes": {ID_CARD: "a\u0007b"}})
    assert answer.status_code == 422, answer.text
    assert ID_CARD not in answer.text
    assert "attributes" in answer.text


BAD_DATES = ("6.2e-52", "0", "1700000000", "20250101", "2025-1-1", "2025-02-30")


async def test_every_date_parameter_is_a_strict_iso_date(api: Api, new_community: NewCommunity):
    c = await new_community()
    await build_compound(api, c, buildings=1)
    someone = await person(api, c, "张三")
    grid = c.grid(1)
    await api.ok("POST", "/grids", {"grid_id": grid, "name": "一网格", "building_codes": [c.building(1, 1)]})
    routes: tuple[tuple[str, dict[str, str]], ...] = (
        (f"/grids/{grid}/members", {}),
        (f"/buildings/{c.building(1, 1)}/responsibility-chain", {}),
        (f"/communities/{c.code}/two-committees", {}),
        (f"/people/{someone}/posts", {}),
        ("/posts/post-1/holders", {}),
        ("/exports/posts", {"region": c.code}),
    )
    for bad in BAD_DATES:
        for path, params in routes:
            answer = await api.get(path, on=bad, **params)
            assert answer.status_code == 422, (path, bad, answer.text)
            assert [p["field"] for p in answer.json()["problems"]] == ["query.on"], answer.text
    assert (await api.get(f"/grids/{grid}/members", on="2025-01-01")).status_code == 200


async def test_a_date_in_a_body_is_a_strict_iso_date_too(api: Api, new_community: NewCommunity):
    c = await new_community()
    grid = c.grid(1)
    await api.ok("POST", "/grids", {"grid_id": grid, "name": "一网格"})
    for bad in (6.2e-52, 0, "20250101", *BAD_DATES):
        answer = await api.post(f"/grids/{grid}/dissolve", {"on": bad})
        assert answer.status_code == 422, (bad, answer.text)
        assert [p["field"] for p in answer.json()["problems"]] == ["body.on"], answer.text
    assert (await api.get(f"/grids/{grid}/members")).json()["active"] is True
