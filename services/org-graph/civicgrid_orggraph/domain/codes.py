"""Codes of places and grids, and the community each one belongs to.

Divisions, communities and villages use the 12-digit statistical code. Compounds and buildings get a
code that starts with the code of the place containing them, so a region prefix covers them too:
``420106002003-C01`` (a compound of community 420106002003), ``420106002003-C01-B07`` (one of its
buildings), ``420106002003-B12`` (a building directly in a village).
"""

from __future__ import annotations

import re

from civicgrid_orggraph.domain.vocabulary import PlaceKind
from civicgrid_runtime.errors import InvalidInput

_SIGNIFICANT = {
    PlaceKind.PROVINCE: 2,
    PlaceKind.CITY: 4,
    PlaceKind.DISTRICT: 6,
    PlaceKind.STREET: 9,
    PlaceKind.COMMUNITY: 12,
    PlaceKind.VILLAGE: 12,
}
_LOCAL_PART = r"[0-9A-Za-z]{1,8}"
_GRID = re.compile(r"^\d{15}$")


def check_place_code(kind: PlaceKind, code: str, parent_code: str | None) -> None:
    """Raise ``InvalidInput`` naming what is wrong with ``code`` for a place of ``kind``."""
    if kind in _SIGNIFICANT:
        digits = _SIGNIFICANT[kind]
        if not re.fullmatch(r"\d{12}", code):
            raise InvalidInput(f"a {kind} code is the 12-digit statistical code, got {code!r}")
        if set(code[digits:]) - {"0"}:
            raise InvalidInput(f"a {kind} code has {digits} significant digits followed by zeros: {code!r}")
        if kind in (PlaceKind.COMMUNITY, PlaceKind.VILLAGE) and code[9:] == "000":
            raise InvalidInput(f"a {kind} code ends with its own 3 digits, not 000: {code!r}")
        if parent_code is not None and division_parent(code, kind) != parent_code:
            raise InvalidInput(f"{code} lies in {division_parent(code, kind)}, not in {parent_code}")
        return
    if parent_code is None:
        raise InvalidInput(f"a {kind} needs parent_code (the place containing it)")
    marker = "C" if kind is PlaceKind.COMPOUND else "B"
    if not re.fullmatch(re.escape(parent_code) + "-" + marker + _LOCAL_PART, code):
        raise InvalidInput(
            f"a {kind} code is its parent's code, '-{marker}' and 1-8 letters or digits, "
            f"e.g. {parent_code}-{marker}01; got {code!r}"
        )


def division_parent(code: str, kind: PlaceKind) -> str | None:
    """The code of the division containing a division, community or village (None for a province)."""
    order = [PlaceKind.PROVINCE, PlaceKind.CITY, PlaceKind.DISTRICT, PlaceKind.STREET]
    if kind is PlaceKind.PROVINCE:
        return None
    parent_kind = PlaceKind.STREET if kind in (PlaceKind.COMMUNITY, PlaceKind.VILLAGE) else None
    if parent_kind is None:
        parent_kind = order[order.index(kind) - 1]
    return code[: _SIGNIFICANT[parent_kind]].ljust(12, "0")


def community_of(code: str) -> str:
    """The 12-digit code a place, grid or person-scope code is keyed by (its first 12 characters)."""
    return code[:12]


def check_grid_id(grid_id: str, community_code: str) -> None:
    if not _GRID.fullmatch(grid_id):
        raise InvalidInput(f"a grid id is the 12-digit community code and 3 digits, got {grid_id!r}")
    if not grid_id.startswith(community_code):
        raise InvalidInput(f"grid {grid_id} must start with its community code {community_code}")


def region_prefix_of(code: str) -> str:
    """The significant prefix of a region code given as 2/4/6/9/12 digits (or padded to 12)."""
    code = code.strip()
    if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
        raise InvalidInput(f"a region code has 2, 4, 6, 9 or 12 digits, got {code!r}")
    full = code.ljust(12, "0")
    for digits in (2, 4, 6, 9, 12):
        if set(full[digits:]) <= {"0"}:
            return full[:digits]
    return full
