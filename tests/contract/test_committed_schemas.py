"""The committed schema files are exactly what the models generate, and the models stay compatible."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from civicgrid_contracts import all_specs, schema_urn
from civicgrid_contracts.cli import (
    CONTRACTS_DIR,
    SCHEMAS_DIR,
    check,
    committed_schemas,
    export,
    generated_files,
    main,
    schemas_at_ref,
)
from civicgrid_contracts.compat import Kind
from civicgrid_contracts.examples import example_payloads
from civicgrid_contracts.schemas import ENVELOPE_FILE, file_name


def _committed(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONTRACTS_DIR / SCHEMAS_DIR / name).read_text(encoding="utf-8"))
    return loaded


def test_every_committed_file_equals_what_the_models_generate() -> None:
    stale = [
        relative
        for relative, text in generated_files().items()
        if not (CONTRACTS_DIR / relative).exists()
        or (CONTRACTS_DIR / relative).read_text(encoding="utf-8") != text
    ]
    assert stale == [], "models changed without re-export: run `python -m civicgrid_contracts export`"


def test_no_schema_file_is_committed_for_a_type_the_catalogue_no_longer_lists() -> None:
    expected = {file_name(spec.type) for spec in all_specs()} | {ENVELOPE_FILE}
    assert set(committed_schemas(CONTRACTS_DIR)) == expected


def test_every_event_type_in_the_catalogue_has_a_schema_file() -> None:
    missing = [
        spec.type
        for spec in all_specs()
        if not (CONTRACTS_DIR / SCHEMAS_DIR / file_name(spec.type)).is_file()
    ]
    assert missing == []


def test_the_models_are_compatible_with_the_committed_schemas() -> None:
    problems, _ = check(committed_schemas(CONTRACTS_DIR), CONTRACTS_DIR)
    assert [str(p) for p in problems] == []


def test_the_check_command_passes_on_the_committed_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    assert "compatible" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(committed_schemas(CONTRACTS_DIR)))
def test_every_committed_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = _committed(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.type)
def test_each_schema_id_is_the_dataschema_urn_of_its_type(spec: Any) -> None:
    assert (
        _committed(file_name(spec.type))["$id"]
        == schema_urn(spec.type)
        == f"urn:civicgrid:schema:{spec.type}"
    )


@pytest.mark.parametrize(("event_type", "payload"), sorted(example_payloads().items()))
def test_the_example_of_each_type_validates_against_its_committed_schema(
    event_type: str, payload: Any
) -> None:
    validator = jsonschema.Draft202012Validator(_committed(file_name(event_type)))
    assert [e.message for e in validator.iter_errors(payload.model_dump(mode="json"))] == []


def test_the_committed_schemas_reject_what_the_models_reject() -> None:
    data = example_payloads()["cn.civicgrid.municipal.hotline12345.request.submitted.v1"].model_dump(
        mode="json"
    )
    validator = jsonschema.Draft202012Validator(
        _committed("cn.civicgrid.municipal.hotline12345.request.submitted.v1.json")
    )
    assert validator.is_valid(data)
    assert not validator.is_valid({**data, "caller_phone": "13812345678"})
    assert not validator.is_valid({**data, "description": "call me on 13812345678"})
    assert not validator.is_valid({**data, "community_code": "4201020010"})
    assert not validator.is_valid({**data, "urgency": "whenever"})


def test_the_envelope_schema_accepts_a_structured_event() -> None:
    from civicgrid_contracts import new_event

    event = new_event(example_payloads()["cn.civicgrid.org.grid.defined.v1"], source="/civicgrid/org-graph")
    validator = jsonschema.Draft202012Validator(_committed(ENVELOPE_FILE))
    assert validator.is_valid(event.model_dump(mode="json"))
    assert not validator.is_valid({k: v for k, v in event.model_dump(mode="json").items() if k != "type"})


def test_exporting_twice_yields_identical_bytes(tmp_path: Path) -> None:
    export(tmp_path / "a")
    export(tmp_path / "b")
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in sorted((tmp_path / "a").rglob("*.json"))}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in sorted((tmp_path / "b").rglob("*.json"))}
    assert first == second
    assert len(first) == len(all_specs()) + 2  # every type, the envelope, asyncapi.json
    assert export(tmp_path / "a") == []


def test_export_removes_the_schema_of_a_type_no_longer_in_the_catalogue(tmp_path: Path) -> None:
    export(tmp_path)
    stray = tmp_path / SCHEMAS_DIR / "cn.civicgrid.org.thing.happened.v1.json"
    stray.write_text("{}", encoding="utf-8")
    assert export(tmp_path) == [f"removed {SCHEMAS_DIR}/{stray.name}"]
    assert not stray.exists()


def test_check_fails_with_a_readable_report_when_the_models_break_a_committed_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export(tmp_path)
    path = tmp_path / SCHEMAS_DIR / "cn.civicgrid.org.membership.started.v1.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    committed["properties"]["legacy_ref"] = {"type": "string"}  # as if the model had dropped this field
    committed["properties"]["post"] = {"type": "string"}  # as if the model had narrowed it
    path.write_text(json.dumps(committed), encoding="utf-8")

    assert main(["--dir", str(tmp_path), "check"]) == 1
    report = capsys.readouterr().err
    assert "incompatible change(s)" in report
    assert "cn.civicgrid.org.membership.started.v1 $.legacy_ref: removed_field" in report
    assert "$.post: narrowed_constraint" in report


def test_check_reports_a_removed_event_type(tmp_path: Path) -> None:
    export(tmp_path)
    baseline = committed_schemas(tmp_path)
    baseline["cn.civicgrid.org.thing.happened.v1.json"] = {"type": "object"}
    problems, _ = check(baseline, tmp_path)
    assert [(p.path, p.kind) for p in problems] == [
        ("cn.civicgrid.org.thing.happened.v1", Kind.REMOVED_EVENT_TYPE)
    ]


def test_check_notes_new_types_and_out_of_date_files_without_failing(tmp_path: Path) -> None:
    export(tmp_path)
    baseline = committed_schemas(tmp_path)
    del baseline["cn.civicgrid.org.grid.defined.v1.json"]
    (tmp_path / "asyncapi.json").write_text("{}", encoding="utf-8")
    problems, notes = check(baseline, tmp_path)
    assert problems == []
    assert "new event type cn.civicgrid.org.grid.defined.v1 (additive)" in notes
    assert any(note.startswith("asyncapi.json is out of date") for note in notes)


CANDIDATES: list[object] = [
    "", "x", "x" * 201, "x" * 8001, "13812345678", "138****5678", "420102001001", "420102001001003",
    "420102001002003", "42010219900101123X", "a b", "grid", "street", "emergency", "election", "2025-01-01",
    None, 0, -1, 1, 6, 10001, 1.5, True, [], ["a"], {}, {"k": 1}, {"Bad Key": 1},
]  # fmt: skip


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.type)
def test_the_committed_schema_and_the_model_accept_and_reject_the_same_field_values(spec: Any) -> None:
    """Models may be stricter only through cross-field rules (a grid in the community, say), which a JSON
    Schema cannot state. ``date-time`` fields are left out: in draft 2020-12 ``format`` only annotates."""
    schema = _committed(file_name(spec.type))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    base = example_payloads()[spec.type].model_dump(mode="json")
    fields = [name for name in base if schema["properties"][name].get("format") != "date-time"]
    variants = [{k: v for k, v in base.items() if k != name} for name in fields]
    variants += [{**base, name: value} for name in fields for value in CANDIDATES]
    disagreements = []
    for data in variants:
        try:
            spec.payload_model.model_validate_json(json.dumps(data), strict=True)
            model_errors: list[Any] = []
        except ValidationError as error:
            model_errors = error.errors()
        model_accepts = not model_errors
        schema_accepts = validator.is_valid(data)
        only_cross_field = all(e["loc"] == () for e in model_errors)
        if model_accepts != schema_accepts and not (schema_accepts and only_cross_field):
            changed = {k: str(v)[:30] for k, v in data.items() if base.get(k) != v} or set(base) - set(data)
            disagreements.append(f"model {'accepts' if model_accepts else 'rejects'} {changed}")
    assert disagreements == []


def test_check_can_compare_with_the_schemas_committed_at_a_git_ref(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In CI a pull request that changes a model and re-exports its schema must still be checked against
    the target branch, not against its own re-exported files."""
    root = tmp_path / "contracts"
    export(root)
    path = root / SCHEMAS_DIR / "cn.civicgrid.org.grid.defined.v1.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    committed["properties"]["legacy_ref"] = {"type": "string"}
    path.write_text(json.dumps(committed), encoding="utf-8")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "baseline"], check=True)
    export(root)  # the working tree now matches the models again

    assert schemas_at_ref(root, "HEAD")["cn.civicgrid.org.grid.defined.v1.json"] == committed
    assert main(["--dir", str(root), "check"]) == 0
    assert main(["--dir", str(root), "check", "--base-ref", "HEAD"]) == 1
    assert "$.legacy_ref: removed_field" in capsys.readouterr().err
