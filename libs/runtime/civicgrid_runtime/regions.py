"""12-digit statistical division codes: province(2) city(2) county(2) township(3) village(3)."""

from __future__ import annotations

import re

_LEVEL_ENDS = (2, 4, 6, 9, 12)
_CODE = re.compile(r"^\d{12}$")


def normalise_region_code(code: str) -> str:
    """Accept a full 12-digit code or a prefix of level length (2, 4, 6, 9) and return 12 digits."""
    code = code.strip()
    if len(code) in _LEVEL_ENDS and code.isdigit():
        return code.ljust(12, "0")
    raise ValueError(f"region code {code!r} is not 2, 4, 6, 9 or 12 digits")


def region_prefix(code: str) -> str:
    """The significant prefix of a division code: 420106002000 (a street) -> 420106002."""
    full = normalise_region_code(code)
    for end in _LEVEL_ENDS:
        if set(full[end:]) <= {"0"}:
            return full[:end]
    return full


def region_covers(region_code: str, code: str) -> bool:
    """True when ``code`` (a community, grid or building code) lies inside ``region_code``."""
    return code.startswith(region_prefix(region_code))


def is_division_code(code: str) -> bool:
    return bool(_CODE.match(code))
