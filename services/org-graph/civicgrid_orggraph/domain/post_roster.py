"""The post roster: who holds which post since when, one row per term (the cadre lists kept today).

Columns: person_id, display_name, community_code, party_member, phone, org_id, post, grid_id,
building_code, start_date, term_end_date, basis, basis_reference, drawn_from_org_id.
ID-card numbers are deliberately not a column: files travel, and the hash is made only at the API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from civicgrid_orggraph.domain.roster import RosterRejected, RowProblem
from civicgrid_orggraph.domain.text import control_character, id_problem, name_problem
from civicgrid_orggraph.domain.vocabulary import AppointmentBasis, PostKind

POST_COLUMNS = (
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
)
_REQUIRED = (
    "person_id",
    "display_name",
    "community_code",
    "org_id",
    "post",
    "start_date",
    "basis",
    "basis_reference",
)
_GRID = re.compile(r"^\d{15}$")
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$")


@dataclass(frozen=True)
class PostRow:
    row: int
    person_id: str
    display_name: str
    community_code: str
    party_member: bool
    phone: str | None
    org_id: str
    post: PostKind
    grid_id: str | None
    building_code: str | None
    start_date: date
    term_end_date: date | None
    basis: AppointmentBasis
    basis_reference: str
    drawn_from_org_id: str | None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def parse_post_row(number: int, raw: Mapping[str, str]) -> tuple[PostRow | None, list[RowProblem]]:
    text = {k: (raw.get(k) or "").strip() or None for k in POST_COLUMNS}
    problems = [
        RowProblem(number, c, f"control characters are not allowed (found {found})")
        for c in POST_COLUMNS
        if (found := control_character(raw.get(c) or "")) is not None
    ]
    problems += [RowProblem(number, c, "is required") for c in _REQUIRED if text[c] is None]
    if problems:
        return None, problems
    for column in ("person_id", "org_id", "drawn_from_org_id"):
        value = text[column]
        if value and (reason := id_problem(value)) is not None:
            problems.append(RowProblem(number, column, reason))
    for column in ("display_name", "basis_reference"):
        if (reason := name_problem(text[column] or "")) is not None:
            problems.append(RowProblem(number, column, reason))
    grid_id, building = text["grid_id"], text["building_code"]
    if grid_id and not _GRID.fullmatch(grid_id):
        problems.append(RowProblem(number, "grid_id", "must be the 15-digit grid id"))
    if building and not _CODE.fullmatch(building):
        problems.append(RowProblem(number, "building_code", "must be a code like 420106002003-C01-B07"))
    if not re.fullmatch(r"\d{12}", text["community_code"] or ""):
        problems.append(RowProblem(number, "community_code", "must be the 12-digit community code"))
    try:
        post = PostKind(text["post"] or "")
    except ValueError:
        post = PostKind.COMMITTEE_MEMBER
        problems.append(RowProblem(number, "post", f"must be one of: {', '.join(p.value for p in PostKind)}"))
    try:
        basis = AppointmentBasis(text["basis"] or "")
    except ValueError:
        basis = AppointmentBasis.ELECTION
        problems.append(RowProblem(number, "basis", "must be election, appointment or owners_assembly_vote"))
    dates: dict[str, date | None] = {}
    for column in ("start_date", "term_end_date"):
        try:
            dates[column] = _date(text[column])
        except ValueError:
            problems.append(RowProblem(number, column, "must be a date like 2025-06-30"))
    party = (text["party_member"] or "false").lower()
    if party not in {"true", "false", "yes", "no", "1", "0", "是", "否"}:
        problems.append(RowProblem(number, "party_member", "must be true/false (yes/no, 1/0, 是/否)"))
    start, end = dates.get("start_date"), dates.get("term_end_date")
    if start and end and end < start:
        problems.append(RowProblem(number, "term_end_date", "must not be before start_date"))
    if problems or start is None:
        return None, problems
    return (
        PostRow(
            number,
            text["person_id"] or "",
            text["display_name"] or "",
            text["community_code"] or "",
            party in {"true", "yes", "1", "是"},
            text["phone"],
            text["org_id"] or "",
            post,
            text["grid_id"],
            text["building_code"],
            start,
            end,
            basis,
            text["basis_reference"] or "",
            text["drawn_from_org_id"],
        ),
        [],
    )


def parse_post_roster(header: Sequence[str], rows: Sequence[tuple[int, Mapping[str, str]]]) -> list[PostRow]:
    missing = [c for c in _REQUIRED if c not in header]
    unknown = [c for c in header if c and c not in POST_COLUMNS]
    if missing or unknown:
        problems = [RowProblem(1, c, "required column is missing") for c in missing]
        problems += [
            RowProblem(1, c, f"unknown column (expected: {', '.join(POST_COLUMNS)})") for c in unknown
        ]
        raise RosterRejected(problems)
    if not rows:
        raise RosterRejected([RowProblem(1, "-", "the file has no data rows")])
    parsed, problems = [], []
    for number, raw in rows:
        row, row_problems = parse_post_row(number, raw)
        problems += row_problems
        if row is not None:
            parsed.append(row)
    if problems:
        raise RosterRejected(problems)
    return parsed
