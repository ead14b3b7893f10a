"""Input rules without servers: personal data and control characters in text and imported rows, what a
reused Idempotency-Key reports, exports of odd data, and an OpenAPI answer described for every route."""

from __future__ import annotations

import io
from pathlib import Path
from typing import get_args

import pytest
from openpyxl import load_workbook

from civicgrid_orggraph.adapters.tabular import read_table, write_csv, write_xlsx
from civicgrid_orggraph.adapters.unit_of_work import _differing_fields
from civicgrid_orggraph.bootstrap import create_app
from civicgrid_orggraph.domain.coverage import GAP_METRICS
from civicgrid_orggraph.domain.post_roster import POST_COLUMNS, parse_post_row
from civicgrid_orggraph.domain.roster import COLUMNS, parse_row
from civicgrid_orggraph.domain.text import control_character, id_problem, name_problem
from civicgrid_orggraph.entrypoints.http_reads import GapMetric
from civicgrid_orggraph.service_layer.common import fingerprint
from civicgrid_orggraph.settings import OrgGraphSettings

RUNTIME_ROUTES = {"/healthz", "/readyz"}  # the runtime's health checks, not org-graph's
PHONE = "13987654321"
ID_CARD = "42010619900307123X"


@pytest.mark.parametrize("text", [f"联系{PHONE}", f"身份证 {ID_CARD}", f"{PHONE}"])
def test_a_name_with_a_clear_phone_or_id_card_number_is_refused_without_repeating_it(text: str):
    reason = name_problem(text)
    assert reason is not None
    assert "phone" in reason
    assert PHONE not in reason
    assert ID_CARD not in reason


def test_a_name_with_a_masked_phone_or_a_long_code_is_fine():
    assert name_problem("联系139****4321") is None
    assert name_problem("420106002003-C01-B07 楼长") is None


@pytest.mark.parametrize("text", ["a\u0000b", "a\u001bb", "a\nb", "a\u0085b", "   "])
def test_a_name_is_one_line_without_control_characters(text: str):
    assert name_problem(text) is not None


def test_control_characters_are_named_by_code_point_and_line_breaks_pass_in_multi_line_text():
    assert control_character("a\u0000b") == "U+0000"
    assert control_character("a\tb\nc", multiline=True) is None
    assert control_character("a\tb") == "U+0009"


def test_an_id_that_is_a_phone_or_id_card_number_is_refused_but_a_random_one_passes():
    assert id_problem(f"p-{PHONE}") is not None
    assert id_problem(ID_CARD) is not None
    assert id_problem("p-d0d6a17840194694") is None


def _roster_row(**changes: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        community_code="420106002003",
        compound_code="420106002003-C01",
        compound_name="花园",
        building_code="420106002003-C01-B01",
        building_name="1栋",
    )
    return {**row, **changes}


@pytest.mark.parametrize("column", ["compound_name", "building_name", "grid_name"])
def test_a_roster_row_with_personal_data_in_a_name_names_the_column(column: str):
    row = {**_roster_row(grid_id="420106002003001", grid_name="一网格"), column: f"电话{PHONE}"}
    parsed, problems = parse_row(2, row)
    assert parsed is None
    assert [p.column for p in problems] == [column]
    assert PHONE not in problems[0].reason


def test_a_roster_row_with_a_control_character_names_the_column():
    _, problems = parse_row(3, _roster_row(building_name="1\u0000栋"))
    assert [(p.row, p.column) for p in problems] == [(3, "building_name")]
    assert "U+0000" in problems[0].reason


def _post_row(**changes: str) -> dict[str, str]:
    row = dict.fromkeys(POST_COLUMNS, "")
    row.update(
        person_id="p-1",
        display_name="王五",
        community_code="420106002003",
        org_id="org-1",
        post="committee_member",
        start_date="2024-01-01",
        basis="election",
        basis_reference="换届",
    )
    return {**row, **changes}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("display_name", f"王五{PHONE}"),
        ("basis_reference", f"身份证{ID_CARD}"),
        ("person_id", f"p-{PHONE}"),
        ("org_id", ID_CARD),
        ("grid_id", "not-a-grid"),
        ("building_code", "a b"),
    ],
)
def test_a_post_roster_row_with_a_bad_value_names_the_column(column: str, value: str):
    parsed, problems = parse_post_row(2, _post_row(**{column: value}))
    assert parsed is None
    assert [p.column for p in problems] == [column]


def test_a_reused_idempotency_key_names_the_fields_that_differ_and_keeps_no_values():
    first = fingerprint({"code": "420106002003-C01", "name": "花园", "reason": None})
    second = fingerprint({"code": "420106002003-C01", "name": "花园小区", "reason": None})
    assert _differing_fields(first, second) == ["name"]
    assert "花园" not in first
    rows = fingerprint([{"row": 2, "name": "a"}, {"row": 3, "name": "b"}])
    assert _differing_fields(rows, fingerprint([{"row": 2, "name": "a"}, {"row": 3, "name": "c"}])) == [
        "row 3"
    ]


def test_an_old_style_fingerprint_differs_without_naming_fields():
    assert _differing_fields("0" * 64, fingerprint({"a": 1})) == []


def test_exports_replace_characters_a_file_cannot_carry():
    rows = [{"a": "x\u0000y\u001b\ud800z", "b": 5}]
    _, read = read_table("r.xlsx", write_xlsx(["a", "b"], rows, "roster-420106"))
    assert read == [(2, {"a": "x\ufffdy\ufffd\ufffdz", "b": "5"})]
    assert "x\ufffdy" in write_csv(["a", "b"], rows).decode("utf-8")
    assert load_workbook(io.BytesIO(write_xlsx(["a"], [], "t\u0000")), read_only=True).sheetnames == [
        "t\ufffd"
    ]


def test_the_gap_metrics_of_the_route_are_the_domains():
    assert get_args(GapMetric) == GAP_METRICS


def test_every_route_describes_its_answer_in_the_openapi_document(tmp_path: Path):
    app = create_app(OrgGraphSettings(keys_dir=tmp_path, run_background_workers=False, environment="test"))
    document = app.openapi()
    undescribed = []
    for path, operations in document["paths"].items():
        if path in RUNTIME_ROUTES:
            continue
        for method, operation in operations.items():
            answers = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
            contents = [c for answer in answers.values() for c in answer.get("content", {}).values()]
            schemas = [c.get("schema", {}) for c in contents]
            if not schemas or not all("$ref" in s or s.get("type") == "string" for s in schemas):
                undescribed.append(f"{method.upper()} {path}")
    assert undescribed == []


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_an_exported_text_a_spreadsheet_would_run_as_a_formula_is_text_in_xlsx_and_reads_back_unchanged():
    rows = [{"name": text, "n": -5} for text in FORMULAS]
    content = write_xlsx(["name", "n"], rows, "roster")
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [c.data_type for c in sheet["A"][1:]] == ["s"] * len(FORMULAS)
    assert [c.value for c in sheet["B"][1:]] == [-5] * len(FORMULAS)  # numbers stay numbers
    _, read = read_table("r.xlsx", content)
    assert [r["name"] for _, r in read] == [t.strip() for t in FORMULAS]


def test_an_exported_csv_cell_that_starts_like_a_formula_is_quoted_and_the_import_takes_the_quote_off():
    content = write_csv(["name"], [{"name": text} for text in [*FORMULAS, "'plain", "王=五"]])
    lines = content.decode("utf-8-sig").splitlines()[1:]
    assert all(line.lstrip('"').startswith("'") for line in lines[: len(FORMULAS)])
    _, read = read_table("r.csv", content)
    assert [r["name"] for _, r in read] == [*(t.strip() for t in FORMULAS), "'plain", "王=五"]
