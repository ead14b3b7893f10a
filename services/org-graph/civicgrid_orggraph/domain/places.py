"""Places: kinds, parents and the attributes the standards need."""

from __future__ import annotations

import re
from typing import Any

from civicgrid_orggraph.domain.vocabulary import PARENT_KIND, PlaceKind
from civicgrid_runtime.errors import InvalidInput, RuleViolation

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INTS = {"residents", "households", "floors", "party_members"}
_NUMBERS = {"service_area_m2", "area_km2", "area_m2"}
_BOOLS = {"owners_committee_eligible", "urban"}
_NON_NEGATIVE = _INTS | _NUMBERS


def check_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Validate attribute names and the types of the ones the standards use; null removes one."""
    for key, value in attributes.items():
        if not _KEY.fullmatch(key):
            raise InvalidInput(f"attribute name {key!r} must be lower_snake_case (a-z, 0-9, _)")
        if value is None:
            continue
        if key in _INTS and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInput(f"attribute {key} must be a whole number")
        if key in _NUMBERS and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInput(f"attribute {key} must be a number")
        if key in _BOOLS and not isinstance(value, bool):
            raise InvalidInput(f"attribute {key} must be true or false")
        if key in _NON_NEGATIVE and value < 0:
            raise InvalidInput(f"attribute {key} must not be negative")
        if not isinstance(value, str | int | float | bool):
            raise InvalidInput(f"attribute {key} must be text, a number or true/false")
        if isinstance(value, str) and len(value) > 2000:
            raise InvalidInput(f"attribute {key} is longer than 2000 characters")
    return attributes


def check_parent_kind(kind: PlaceKind, parent_kind: PlaceKind | None) -> None:
    allowed = PARENT_KIND[kind]
    if not allowed:
        return
    if parent_kind not in allowed:
        names = " or ".join(a.value for a in allowed)
        raise RuleViolation(
            "place_hierarchy", f"a {kind} lies in a {names}, not in a {parent_kind or 'missing place'}"
        )
