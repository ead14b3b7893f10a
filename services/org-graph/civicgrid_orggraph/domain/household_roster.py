"""The household roster (户册 / 业主名册): one row per household, validated row by row.

Columns: household_code (optional on import: checked against the three after it), building_code,
entrance, unit_number, exclusive_area_m2, owner_person_ids, owner_names, resident_person_ids,
representative_person_id. Lists are separated by ``;``. ``owner_names`` is optional and lines up with
``owner_person_ids``: an owner id not registered yet is registered with that name in the household's
community (the roster is how owners usually arrive); a registered owner keeps the name they have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from civicgrid_orggraph.domain.households import (
    Household,
    check_area,
    check_number,
    check_people,
    household_code,
)
from civicgrid_orggraph.domain.roster import RosterRejected, RowProblem
from civicgrid_orggraph.domain.text import control_character, id_problem, name_problem
from civicgrid_runtime.errors import CivicGridError

HOUSEHOLD_COLUMNS = (
    "household_code",
    "building_code",
    "entrance",
    "unit_number",
    "exclusive_area_m2",
    "owner_person_ids",
    "owner_names",
    "resident_person_ids",
    "representative_person_id",
)
_REQUIRED = ("building_code", "entrance", "unit_number", "exclusive_area_m2")
_SEPARATOR = re.compile(r"\s*[;；]\s*")
_BUILDING = re.compile(r"^\d{12}(-C[0-9A-Za-z]{1,8})?-B[0-9A-Za-z]{1,8}$")


@dataclass(frozen=True)
class HouseholdRow:
    row: int
    household: Household
    owner_names: tuple[str | None, ...]
    """Aligned with ``household.owner_ids``: the name to register an unknown owner with, if given."""


def _list(raw: Mapping[str, str], column: str) -> list[str]:
    value = (raw.get(column) or "").strip()
    return [v for v in _SEPARATOR.split(value) if v] if value else []


def parse_household_row(number: int, raw: Mapping[str, str]) -> tuple[HouseholdRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(column: str, reason: str) -> None:
        problems.append(RowProblem(number, column, reason))

    for column in HOUSEHOLD_COLUMNS:
        found = control_character(raw.get(column) or "")
        if found is not None:
            problem(column, f"control characters are not allowed (found {found})")
    for column in _REQUIRED:
        if not (raw.get(column) or "").strip():
            problem(column, "is required")
    if problems:
        return None, problems
    building = raw["building_code"].strip()
    if not _BUILDING.fullmatch(building):
        problem("building_code", f"must be a building's code (…-B01), got {building!r}")
    numbers: dict[str, str] = {}
    for column in ("entrance", "unit_number"):
        try:
            numbers[column] = check_number(column, raw[column])
        except CivicGridError as error:
            problem(column, error.message)
    area = 0.0
    try:
        area = check_area(raw["exclusive_area_m2"])
    except CivicGridError as error:
        problem("exclusive_area_m2", error.message)
    people: dict[str, list[str]] = {}
    for column in ("owner_person_ids", "resident_person_ids", "representative_person_id"):
        people[column] = _list(raw, column)
        for person_id in people[column]:
            if (reason := id_problem(person_id)) is not None:
                problem(column, reason)
                break
    if len(people["representative_person_id"]) > 1:
        problem("representative_person_id", "one representative per household")
    names: list[str | None] = [n or None for n in _list(raw, "owner_names")]
    if names and len(names) != len(people["owner_person_ids"]):
        problem("owner_names", "give one name per owner id (separated by ;), or none")
    for name in names:
        if name is not None and (reason := name_problem(name)) is not None:
            problem("owner_names", reason)
            break
    for column in ("owner_person_ids", "resident_person_ids"):
        try:
            check_people(column, people[column])
        except CivicGridError as error:
            problem(column, error.message)
    if problems:
        return None, problems
    code = household_code(building, numbers["entrance"], numbers["unit_number"])
    given = (raw.get("household_code") or "").strip()
    if given and given != code:
        problem("household_code", f"is {given} but building, entrance and unit make {code}")
        return None, problems
    household = Household(
        code=code,
        building_code=building,
        compound_code=None,  # from the graph: the building's parent
        entrance=numbers["entrance"],
        unit_number=numbers["unit_number"],
        exclusive_area_m2=area,
        owner_ids=tuple(people["owner_person_ids"]),
        resident_ids=tuple(people["resident_person_ids"]),
        representative_id=next(iter(people["representative_person_id"]), None),
    )
    aligned = tuple(names) if names else tuple(None for _ in household.owner_ids)
    return HouseholdRow(number, household, aligned), []


def parse_household_roster(
    header: Sequence[str], rows: Sequence[tuple[int, Mapping[str, str]]]
) -> list[HouseholdRow]:
    """Validate every row, then the rows against each other; ``RosterRejected`` lists every problem."""
    missing = [c for c in _REQUIRED if c not in header]
    unknown = [c for c in header if c and c not in HOUSEHOLD_COLUMNS]
    if missing or unknown:
        problems = [RowProblem(1, c, "required column is missing") for c in missing]
        problems += [
            RowProblem(1, c, f"unknown column (expected: {', '.join(HOUSEHOLD_COLUMNS)})") for c in unknown
        ]
        raise RosterRejected(problems)
    if not rows:
        raise RosterRejected([RowProblem(1, "-", "the file has no data rows")])
    parsed: list[HouseholdRow] = []
    problems = []
    for number, raw in rows:
        row, row_problems = parse_household_row(number, raw)
        problems += row_problems
        if row is not None:
            parsed.append(row)
    first: dict[str, int] = {}
    names: dict[str, tuple[str, int]] = {}
    for r in parsed:
        code = r.household.code
        if code in first:
            problems.append(RowProblem(r.row, "unit_number", f"{code} is also on row {first[code]}"))
        first.setdefault(code, r.row)
        for person_id, name in zip(r.household.owner_ids, r.owner_names, strict=True):
            if name is None:
                continue
            seen = names.setdefault(person_id, (name, r.row))
            if seen[0] != name:
                problems.append(
                    RowProblem(r.row, "owner_names", f"{person_id} is named differently on row {seen[1]}")
                )
    if problems:
        raise RosterRejected(sorted(problems, key=lambda p: p.row))
    return parsed
