"""Use cases: register, change and remove households; list a place's households with their totals.

Every write locks the building (a place) and then the household, after places in the canonical order of
``Locks``, and publishes the household's whole state (ids only) through the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.households import (
    Household,
    check_area,
    check_people,
    compound_of,
    household_code,
    parse_household_code,
    totals,
)
from civicgrid_orggraph.domain.vocabulary import PlaceKind
from civicgrid_orggraph.service_layer.common import fingerprint, idempotency_scope, require_place
from civicgrid_orggraph.service_layer.ports import GraphTx, Locks, PlaceRecord, Result, UnitOfWork
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation

LIST_KINDS = (PlaceKind.BUILDING, PlaceKind.COMPOUND, PlaceKind.COMMUNITY, PlaceKind.VILLAGE)
PEOPLE_FIELDS = {
    "owner_ids": "owner_person_ids",
    "resident_ids": "resident_person_ids",
    "representative_id": "representative_person_id",
}


@dataclass(frozen=True)
class RegisterHousehold:
    building_code: str
    entrance: str
    unit_number: str
    exclusive_area_m2: float
    owner_ids: tuple[str, ...] = ()
    resident_ids: tuple[str, ...] = ()
    representative_id: str | None = None

    def household(self, compound_code: str | None = None) -> Household:
        """Checked and normalised (codes, area to two decimals, each person once)."""
        code = household_code(self.building_code, self.entrance, self.unit_number)
        try:
            building, entrance, unit = parse_household_code(code)
        except InvalidInput:
            raise InvalidInput(
                f"building_code must be a building's code (…-B<1-8 letters or digits>), "
                f"got {self.building_code!r}",
                field="building_code",
            ) from None
        return Household(
            code=code,
            building_code=building,
            compound_code=compound_code,
            entrance=entrance,
            unit_number=unit,
            exclusive_area_m2=check_area(self.exclusive_area_m2),
            owner_ids=check_people("owner_person_ids", self.owner_ids),
            resident_ids=check_people("resident_person_ids", self.resident_ids),
            representative_id=self.representative_id,
        )


def household_view(h: Household) -> dict[str, Any]:
    return {
        "household_code": h.code,
        "community_code": h.community_code,
        "compound_code": h.compound_code,
        "building_code": h.building_code,
        "entrance_code": h.entrance_code,
        "entrance": h.entrance,
        "unit_number": h.unit_number,
        "exclusive_area_m2": h.exclusive_area_m2,
        "owner_person_ids": list(h.owner_ids),
        "resident_person_ids": list(h.resident_ids),
        "representative_person_id": h.representative_id,
        "version": h.version,
        "active": h.active,
    }


def registered(h: Household) -> DomainEvent:
    return DomainEvent("household.registered", h.community_code, f"household/{h.code}", h.state())


def updated(h: Household) -> DomainEvent:
    return DomainEvent("household.updated", h.community_code, f"household/{h.code}", h.state())


def removed(h: Household) -> DomainEvent:
    data = {"household_code": h.code, "building_code": h.building_code, "version": h.version}
    return DomainEvent("household.removed", h.community_code, f"household/{h.code}", data)


async def require_building(g: GraphTx, code: str) -> PlaceRecord:
    place = await require_place(g, code)
    if place.kind is not PlaceKind.BUILDING:
        raise RuleViolation(
            "household_in_building", f"households are registered in buildings; {code} is a {place.kind}"
        )
    return place


async def check_people_exist(g: GraphTx, households: Sequence[Household]) -> None:
    """Every person named must be registered: a 422 naming the field and the unknown id."""
    wanted = {p for h in households for p in h.person_ids()}
    missing = wanted - await g.existing_people(sorted(wanted))
    if not missing:
        return
    for h in households:
        for attribute, field in PEOPLE_FIELDS.items():
            value = getattr(h, attribute)
            named = set(value) if isinstance(value, tuple) else {value} - {None}
            unknown = sorted(named & missing)
            if unknown:
                raise InvalidInput(
                    f"{field}: no person with id {', '.join(unknown)} (register them first: POST /people)",
                    field=field,
                    household_code=h.code,
                )


async def register_in(g: GraphTx, new: Household, actor: str) -> tuple[Household, bool]:
    """Register inside an open transaction whose locks are taken; returns the household and whether
    anything was written. The same state again is a repeat; another state is a 409 (use PATCH)."""
    existing = (await g.get_households([new.code])).get(new.code)
    if existing is not None and existing.active:
        if existing.same_state(new):
            return existing, False
        raise Conflict(
            f"household {new.code} is already registered with other data; change it with "
            f"PATCH /households/{new.code}",
            rule="household_already_registered",
            household_code=new.code,
        )
    household = replace(new, version=existing.version + 1 if existing else 1, active=True)
    await check_people_exist(g, [household])
    await g.save_households([household], actor)
    g.emit(registered(household))
    return household, True


async def register_household(
    uow: UnitOfWork, principal: Principal, cmd: RegisterHousehold, key: str | None = None
) -> Result:
    draft = cmd.household()
    principal.ensure_can_manage(draft.building_code)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(places=[draft.building_code], households=[draft.code]))
        building = await require_building(g, draft.building_code)
        household, created = await register_in(
            g, replace(draft, compound_code=compound_of(building.parent_code)), principal.subject
        )
        return {**household_view(household), "created": created}

    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "register_household", key),
        fingerprint=fingerprint(cmd),
    )


def checked_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Changes to a household by attribute name (``exclusive_area_m2``, ``owner_ids``, ``resident_ids``,
    ``representative_id``), checked and normalised."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "exclusive_area_m2":
            checked[name] = check_area(value)
        elif name in ("owner_ids", "resident_ids"):
            checked[name] = check_people(PEOPLE_FIELDS[name], tuple(value))
        elif name == "representative_id":
            checked[name] = value
        else:
            raise InvalidInput(f"{name} cannot be changed", field=name)
    if not checked:
        raise InvalidInput("nothing to change: give at least one field", field="body")
    return checked


async def change_household(
    uow: UnitOfWork,
    principal: Principal,
    code: str,
    changes: dict[str, Any],
    action: str = "update_household",
    key: str | None = None,
) -> Result:
    building_code, _entrance, _unit = parse_household_code(code)
    principal.ensure_can_manage(building_code)
    checked = checked_changes(changes)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(places=[building_code], households=[code]))
        current = await require_household(g, code)
        await require_building(g, building_code)
        candidate = current.changed(**checked)
        if candidate.same_state(current):
            return {**household_view(current), "changed": False}
        await check_people_exist(g, [candidate])
        await g.save_households([candidate], principal.subject)
        g.emit(updated(candidate))
        return {**household_view(candidate), "changed": True}

    body = {"household_code": code, **checked}
    return await uow.run(
        work, idempotency_key=idempotency_scope(principal, action, key), fingerprint=fingerprint(body)
    )


async def remove_household(
    uow: UnitOfWork, principal: Principal, code: str, key: str | None = None
) -> Result:
    building_code, _entrance, _unit = parse_household_code(code)
    principal.ensure_can_manage(building_code)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(places=[building_code], households=[code]))
        current = await require_household(g, code, active=False)
        if not current.active:
            return {**household_view(current), "changed": False}
        gone = replace(current, version=current.version + 1, active=False, owner_ids=(), resident_ids=())
        gone = replace(gone, representative_id=None)
        await g.remove_household(gone)
        g.emit(removed(gone))
        return {**household_view(gone), "changed": True}

    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "remove_household", key),
        fingerprint=fingerprint({"household_code": code}),
    )


async def require_household(g: GraphTx, code: str, *, active: bool = True) -> Household:
    household = (await g.get_households([code])).get(code)
    if household is None or (active and not household.active):
        raise NotFound(f"no household with code {code}")
    return household


# reads ------------------------------------------------------------------------------------------------


class HouseholdReader(Protocol):
    async def place(self, code: str) -> dict[str, Any] | None: ...
    async def household(self, code: str) -> Household | None: ...
    async def households_under(self, code: str, kind: PlaceKind) -> list[Household]: ...
    async def household_roster(self, prefix: str) -> list[Household]: ...
    async def person_names(self, person_ids: Sequence[str]) -> dict[str, str]: ...
    async def person(self, person_id: str) -> dict[str, Any] | None: ...
    async def households_of_person(self, person_id: str) -> list[tuple[str, Household]]: ...


PERSON_LINKS = {"OWNS": "owns", "RESIDES_IN": "resides_in", "KEEPS_IN_TOUCH_WITH": "keeps_in_touch_with"}
"""The graph's links from a person to a household, as the answer names them."""


def _can_read(principal: Principal, code: str) -> None:
    if not principal.can_manage(code):
        raise PermissionDenied(f"{principal.subject} may not read {code}: outside the caller's region")


async def get_household(reader: HouseholdReader, principal: Principal, code: str) -> Result:
    building_code, _entrance, _unit = parse_household_code(code)
    _can_read(principal, building_code)
    household = await reader.household(code)
    if household is None or not household.active:
        raise NotFound(f"no household with code {code}")
    return household_view(household)


async def list_households(
    reader: HouseholdReader,
    principal: Principal,
    code: str,
    kinds: Sequence[PlaceKind],
    offset: int = 0,
    limit: int = 1000,
) -> Result:
    """A place's households (a page of them) and the totals of all of them: households, exclusive area,
    owners (persons and the legal headcount), and the 5 % motion and two-thirds participation figures."""
    _can_read(principal, code)
    place = await reader.place(code)
    if place is None:
        raise NotFound(f"no place with code {code}")
    kind = PlaceKind(place["kind"])
    if kind not in kinds:
        wanted = " or ".join(k.value for k in kinds)
        raise RuleViolation("households_of_kind", f"{code} is a {kind}, not a {wanted}")
    households = await reader.households_under(code, kind)
    summed = totals((h.exclusive_area_m2, h.owner_ids) for h in households)
    return {
        "place_code": code,
        "kind": kind.value,
        "totals": summed.as_dict(),
        "offset": offset,
        "households": [household_view(h) for h in households[offset : offset + limit]],
    }


async def person_households(reader: HouseholdReader, principal: Principal, person_id: str) -> Result:
    """The households a person owns, lives in, and keeps in touch with as a residents' representative
    (代表联系户). The person themself sees all of them; a coordinator only the person of their region, and
    of that person's households only those in their region."""
    person = await reader.person(person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    themself = principal.has_role(Role.MEMBER) and principal.is_person(person_id)
    if not themself:
        _can_read(principal, str(person["community_code"]))
    answer: dict[str, Any] = {"person_id": person_id, **{name: [] for name in PERSON_LINKS.values()}}
    for link, household in await reader.households_of_person(person_id):
        if themself or principal.can_manage(household.building_code):
            answer[PERSON_LINKS[link]].append(household_view(household))
    return answer
