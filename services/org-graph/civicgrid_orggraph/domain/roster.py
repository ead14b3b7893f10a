"""The building roster: the table communities keep today (one row per building), validated row by row.

Columns: community_code, compound_code, compound_name, owners_committee_eligible, building_code,
building_name, households, grid_id, grid_name. Buildings of a village leave the compound columns empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from civicgrid_orggraph.domain.codes import check_grid_id, check_place_code
from civicgrid_orggraph.domain.text import control_character, name_problem
from civicgrid_orggraph.domain.vocabulary import PlaceKind
from civicgrid_runtime.errors import CivicGridError

COLUMNS = (
    "community_code",
    "compound_code",
    "compound_name",
    "owners_committee_eligible",
    "building_code",
    "building_name",
    "households",
    "grid_id",
    "grid_name",
)
REQUIRED = ("community_code", "building_code", "building_name")
_TRUE = {"true", "yes", "y", "1", "是", "t"}
_FALSE = {"false", "no", "n", "0", "否", "f", ""}


@dataclass(frozen=True)
class RosterRow:
    row: int
    community_code: str
    compound_code: str | None
    compound_name: str | None
    owners_committee_eligible: bool | None
    building_code: str
    building_name: str
    households: int | None
    grid_id: str | None
    grid_name: str | None

    @property
    def building_parent(self) -> str:
        return self.compound_code or self.community_code


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    reason: str


class RosterRejected(CivicGridError):
    """The file was rejected; nothing of it was written. ``problems`` lists each bad row and why."""

    status_code = 422
    code = "import_rejected"

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        first = problems[0]
        super().__init__(
            f"{len(problems)} problem(s); nothing was imported. First: row {first.row}, {first.column}: "
            f"{first.reason}",
            problems=[p.__dict__ for p in problems[:500]],
            problem_count=len(problems),
        )
        self.problems = list(problems)


def _text(raw: Mapping[str, str], column: str) -> str | None:
    value = (raw.get(column) or "").strip()
    return value or None


def parse_row(number: int, raw: Mapping[str, str]) -> tuple[RosterRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(column: str, reason: str) -> None:
        problems.append(RowProblem(number, column, reason))

    for column in COLUMNS:
        found = control_character(raw.get(column) or "")
        if found is not None:
            problem(column, f"control characters are not allowed (found {found})")
    for column in REQUIRED:
        if _text(raw, column) is None:
            problem(column, "is required")
    if problems:
        return None, problems
    community = _text(raw, "community_code") or ""
    compound, compound_name = _text(raw, "compound_code"), _text(raw, "compound_name")
    building = _text(raw, "building_code") or ""
    checks: list[tuple[str, PlaceKind, str, str | None]] = [
        ("community_code", PlaceKind.COMMUNITY, community, None),
        ("building_code", PlaceKind.BUILDING, building, compound or community),
    ]
    if compound is not None:
        checks.insert(1, ("compound_code", PlaceKind.COMPOUND, compound, community))
        if compound_name is None:
            problem("compound_name", "is required when compound_code is given")
    for column, kind, code, parent in checks:
        try:
            check_place_code(kind, code, parent)
        except CivicGridError as error:
            problem(column, error.message)
    eligible_text = (_text(raw, "owners_committee_eligible") or "").lower()
    eligible: bool | None = None
    if eligible_text in _TRUE:
        eligible = True
    elif eligible_text in _FALSE:
        eligible = False if eligible_text else None
    else:
        problem("owners_committee_eligible", "must be true/false (yes/no, 1/0, 是/否)")
    households = _text(raw, "households")
    count: int | None = None
    if households is not None:
        if households.isdigit():
            count = int(households)
        else:
            problem("households", f"must be a whole number, got {households!r}")
    grid_id, grid_name = _text(raw, "grid_id"), _text(raw, "grid_name")
    if grid_id is not None:
        try:
            check_grid_id(grid_id, community)
        except CivicGridError as error:
            problem("grid_id", error.message)
        if grid_name is None:
            problem("grid_name", "is required when grid_id is given")
    for column in ("compound_name", "building_name", "grid_name"):
        value = _text(raw, column)
        if value is not None and (reason := name_problem(value)) is not None:
            problem(column, reason)
    if problems:
        return None, problems
    row = RosterRow(
        number,
        community,
        compound,
        compound_name,
        eligible,
        building,
        _text(raw, "building_name") or "",
        count,
        grid_id,
        grid_name,
    )
    return row, []


def parse_roster(header: Sequence[str], rows: Sequence[tuple[int, Mapping[str, str]]]) -> list[RosterRow]:
    """Validate every row, then the rows against each other; raise "
    "``RosterRejected`` listing every problem."""
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c and c not in COLUMNS]
    if missing or unknown:
        problems = [RowProblem(1, c, "required column is missing") for c in missing]
        problems += [RowProblem(1, c, f"unknown column (expected: {', '.join(COLUMNS)})") for c in unknown]
        raise RosterRejected(problems)
    if not rows:
        raise RosterRejected([RowProblem(1, "-", "the file has no data rows")])
    parsed: list[RosterRow] = []
    problems = []
    for number, raw in rows:
        row, row_problems = parse_row(number, raw)
        problems += row_problems
        if row is not None:
            parsed.append(row)
    problems += _cross_row_problems(parsed)
    if problems:
        raise RosterRejected(sorted(problems, key=lambda p: p.row))
    return parsed


def _cross_row_problems(rows: Sequence[RosterRow]) -> list[RowProblem]:
    problems: list[RowProblem] = []
    buildings: dict[str, int] = {}
    compounds: dict[str, tuple[str | None, bool | None, int]] = {}
    grids: dict[str, tuple[str | None, int]] = {}
    for r in rows:
        if r.building_code in buildings:
            problems.append(
                RowProblem(
                    r.row, "building_code", f"{r.building_code} is also on row {buildings[r.building_code]}"
                )
            )
        buildings.setdefault(r.building_code, r.row)
        if r.compound_code:
            first = compounds.setdefault(
                r.compound_code, (r.compound_name, r.owners_committee_eligible, r.row)
            )
            if first[:2] != (r.compound_name, r.owners_committee_eligible):
                problems.append(
                    RowProblem(
                        r.row,
                        "compound_name",
                        f"{r.compound_code} is described differently on row {first[2]}",
                    )
                )
        if r.grid_id:
            seen = grids.setdefault(r.grid_id, (r.grid_name, r.row))
            if seen[0] != r.grid_name:
                problems.append(
                    RowProblem(r.row, "grid_name", f"grid {r.grid_id} is named differently on row {seen[1]}")
                )
    return problems
