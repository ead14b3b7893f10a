"""Households: units of a building's entrances (单元), their owners with the unit's exclusive floor area
(专有部分面积), the persons living there and the residents' representative who keeps in touch with them
(代表联系户).

Codes continue the place codes: an entrance is ``<building>-U<entrance>`` and a household
``<building>-U<entrance>-<unit>``, e.g. ``420106002003-C01-B07-U2-1203``, so a region prefix covers them.

The totals of a set of households are the denominators of owners' decisions (Civil Code art. 278 and the
Supreme People's Court's interpretation on building co-ownership, art. 8-9): the area is the sum of the
units' exclusive areas; the owners' headcount counts one per owned unit, except that units held by the
same owner or owners count once together. Units with no owner on record are counted apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from civicgrid_orggraph.domain.codes import community_of
from civicgrid_runtime.errors import InvalidInput

LOCAL_PART = r"[0-9A-Za-z]{1,8}"
_HOUSEHOLD = re.compile(
    rf"^(?P<building>.+-B{LOCAL_PART})-U(?P<entrance>{LOCAL_PART})-(?P<unit>{LOCAL_PART})$"
)
_NUMBER = re.compile(rf"^{LOCAL_PART}$")
MAX_AREA_M2 = Decimal("100000")
MAX_PEOPLE_PER_HOUSEHOLD = 50
MOTION_SHARE = Decimal("0.05")
PARTICIPATION_SHARE = Decimal(2) / Decimal(3)


def check_number(field: str, value: str) -> str:
    """An entrance or unit number: 1-8 letters or digits."""
    value = value.strip()
    if not _NUMBER.fullmatch(value):
        raise InvalidInput(f"{field} is 1-8 letters or digits, got {value!r}", field=field)
    return value


def entrance_code(building_code: str, entrance: str) -> str:
    return f"{building_code}-U{check_number('entrance', entrance)}"


def household_code(building_code: str, entrance: str, unit_number: str) -> str:
    return f"{entrance_code(building_code, entrance)}-{check_number('unit_number', unit_number)}"


def parse_household_code(code: str) -> tuple[str, str, str]:
    """(building code, entrance number, unit number) of a household code; ``InvalidInput`` if malformed."""
    found = _HOUSEHOLD.fullmatch(code)
    if found is None:
        raise InvalidInput(
            "a household code is the building code, '-U' and the entrance number, '-' and the unit number, "
            f"e.g. 420106002003-C01-B07-U2-1203; got {code!r}",
            field="household_code",
        )
    return found["building"], found["entrance"], found["unit"]


def check_area(value: Any, field: str = "exclusive_area_m2") -> float:
    """A unit's exclusive area in m²: a number from 0 to 100,000, rounded half up to two decimals."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a number of square metres", field=field)
    try:
        area = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number of square metres", field=field) from None
    if not area.is_finite() or area < 0 or area > MAX_AREA_M2:
        raise InvalidInput(f"{field} must be between 0 and {MAX_AREA_M2} m²", field=field)
    return float(area.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def check_people(field: str, person_ids: Sequence[str]) -> tuple[str, ...]:
    """A list of person ids: each once, at most 50."""
    seen: list[str] = []
    for person_id in person_ids:
        if person_id in seen:
            raise InvalidInput(f"{field} names person {person_id} twice", field=field)
        seen.append(person_id)
    if len(seen) > MAX_PEOPLE_PER_HOUSEHOLD:
        raise InvalidInput(f"{field} names more than {MAX_PEOPLE_PER_HOUSEHOLD} persons", field=field)
    return tuple(seen)


def compound_of(building_parent_code: str | None) -> str | None:
    """The compound of a building: its parent when that is a compound (a code below a community's)."""
    if building_parent_code is None or re.fullmatch(r"\d{12}", building_parent_code):
        return None
    return building_parent_code


@dataclass(frozen=True)
class Household:
    code: str
    building_code: str
    compound_code: str | None
    entrance: str
    unit_number: str
    exclusive_area_m2: float
    owner_ids: tuple[str, ...] = ()
    resident_ids: tuple[str, ...] = ()
    representative_id: str | None = None
    version: int = 1
    active: bool = True

    @property
    def community_code(self) -> str:
        return community_of(self.code)

    @property
    def entrance_code(self) -> str:
        return f"{self.building_code}-U{self.entrance}"

    def person_ids(self) -> set[str]:
        people = {*self.owner_ids, *self.resident_ids}
        if self.representative_id:
            people.add(self.representative_id)
        return people

    def same_state(self, other: Household) -> bool:
        """Same area and people (the order of owners and residents does not matter)."""
        return (
            self.exclusive_area_m2 == other.exclusive_area_m2
            and set(self.owner_ids) == set(other.owner_ids)
            and set(self.resident_ids) == set(other.resident_ids)
            and self.representative_id == other.representative_id
            and self.compound_code == other.compound_code
        )

    def changed(self, **changes: Any) -> Household:
        """The next version with ``changes`` applied (unknown names are a programming error)."""
        return replace(self, **changes, version=self.version + 1)

    def state(self) -> dict[str, Any]:
        """The full state as the contract's household facts carry it (ids only)."""
        return {
            "household_code": self.code,
            "compound_code": self.compound_code,
            "building_code": self.building_code,
            "entrance_code": self.entrance_code,
            "unit_number": self.unit_number,
            "exclusive_area_m2": self.exclusive_area_m2,
            "owners": [{"person_id": p} for p in self.owner_ids],
            "resident_person_ids": list(self.resident_ids),
            "representative_person_id": self.representative_id,
            "version": self.version,
        }


def _ceil(value: Decimal, places: str = "1") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_CEILING)


@dataclass(frozen=True)
class Totals:
    households: int
    area_m2: float
    owned_households: int
    households_without_owners: int
    owner_persons: int
    owner_headcount: int

    def as_dict(self) -> dict[str, Any]:
        area = Decimal(str(self.area_m2))
        heads = Decimal(self.owner_headcount)
        return {
            "households": self.households,
            "area_m2": self.area_m2,
            "owned_households": self.owned_households,
            "households_without_owners": self.households_without_owners,
            "owner_persons": self.owner_persons,
            "owner_headcount": self.owner_headcount,
            "motion_5_percent": {
                "area_m2": float(_ceil(area * MOTION_SHARE, "0.01")),
                "owners": int(_ceil(heads * MOTION_SHARE)),
            },
            "participation_two_thirds": {
                "area_m2": float(_ceil(area * PARTICIPATION_SHARE, "0.01")),
                "owners": int(_ceil(heads * PARTICIPATION_SHARE)),
            },
        }


def totals(households: Iterable[tuple[float, Sequence[str]]]) -> Totals:
    """Totals of (exclusive area, owner ids) pairs: see the module's docstring for how owners count."""
    count = owned = 0
    area = Decimal(0)
    persons: set[str] = set()
    owner_sets: set[frozenset[str]] = set()
    for unit_area, owners in households:
        count += 1
        area += Decimal(str(unit_area))
        if owners:
            owned += 1
            persons.update(owners)
            owner_sets.add(frozenset(owners))
    return Totals(count, float(area), owned, count - owned, len(persons), len(owner_sets))
