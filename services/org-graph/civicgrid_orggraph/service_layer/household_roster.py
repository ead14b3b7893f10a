"""Bulk import of a household roster: validate everything, then write it in one transaction (or nothing);
and its export in the same columns (an export re-imports as it is, changing nothing).

A household of the file that is new (or was removed) is registered; one whose area or people differ is
updated (its next version); one that is the same is left alone, with no event. Households that are not in
the file are left as they are: removing one is a deliberate act (``DELETE /households/{code}``). Owners not
registered yet are registered with the name the file gives them. Every write is a few batched statements,
whatever the number of rows (the demo community's 4,453 households are one file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from civicgrid_orggraph.domain.codes import region_prefix_of
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.household_roster import HouseholdRow
from civicgrid_orggraph.domain.households import Household, compound_of
from civicgrid_orggraph.domain.roster import RosterRejected, RowProblem
from civicgrid_orggraph.domain.vocabulary import PlaceKind
from civicgrid_orggraph.service_layer.common import fingerprint, idempotency_scope
from civicgrid_orggraph.service_layer.households import HouseholdReader, registered, updated
from civicgrid_orggraph.service_layer.ports import GraphTx, Locks, PersonRecord, Result, UnitOfWork
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import PermissionDenied

_PEOPLE_COLUMNS = (
    ("owner_ids", "owner_person_ids"),
    ("resident_ids", "resident_person_ids"),
    ("representative_id", "representative_person_id"),
)


def _named_owners(rows: Sequence[HouseholdRow]) -> dict[str, tuple[str, str]]:
    """Owner id -> (name, community) for every owner the file names."""
    named: dict[str, tuple[str, str]] = {}
    for r in rows:
        for person_id, name in zip(r.household.owner_ids, r.owner_names, strict=True):
            if name is not None:
                named.setdefault(person_id, (name, r.household.community_code))
    return named


async def _people_to_register(g: GraphTx, rows: Sequence[HouseholdRow]) -> list[PersonRecord]:
    """The owners to register; a ``RosterRejected`` for every person the graph and the file lack."""
    wanted = sorted({p for r in rows for p in r.household.person_ids()})
    known = await g.existing_people(wanted)
    named = _named_owners(rows)
    problems: list[RowProblem] = []
    for r in rows:
        for attribute, column in _PEOPLE_COLUMNS:
            value = getattr(r.household, attribute)
            ids = value if isinstance(value, tuple) else (value,) if value else ()
            unknown = [p for p in ids if p not in known and p not in named]
            if unknown:
                problems.append(
                    RowProblem(r.row, column, f"no person with id {', '.join(unknown)} (give owner_names)")
                )
    if problems:
        raise RosterRejected(problems)
    return [
        PersonRecord(person_id, name, False, None, community)
        for person_id, (name, community) in sorted(named.items())
        if person_id not in known
    ]


async def _households_to_write(
    g: GraphTx, rows: Sequence[HouseholdRow]
) -> tuple[list[Household], list[Household]]:
    """(to register, to update), each at its next version; unchanged households are in neither."""
    buildings = await g.get_places(sorted({r.household.building_code for r in rows}))
    problems: list[RowProblem] = []
    for r in rows:
        building = buildings.get(r.household.building_code)
        if building is None or building.kind is not PlaceKind.BUILDING:
            problems.append(
                RowProblem(r.row, "building_code", f"{r.household.building_code} is not a building")
            )
        elif not building.active:
            problems.append(RowProblem(r.row, "building_code", f"{building.code} has been dissolved"))
    if problems:
        raise RosterRejected(problems)
    existing = await g.get_households([r.household.code for r in rows])
    new: list[Household] = []
    changed: list[Household] = []
    for r in rows:
        wanted = replace(
            r.household, compound_code=compound_of(buildings[r.household.building_code].parent_code)
        )
        found = existing.get(wanted.code)
        if found is None or not found.active:
            new.append(replace(wanted, version=found.version + 1 if found else 1))
        elif not found.same_state(wanted):
            changed.append(replace(wanted, version=found.version + 1))
    return new, changed


async def _write(g: GraphTx, rows: Sequence[HouseholdRow], actor: str) -> Result:
    problems: list[RowProblem] = []
    people: list[PersonRecord] = []
    new: list[Household] = []
    changed: list[Household] = []
    try:
        people = await _people_to_register(g, rows)
    except RosterRejected as rejected:
        problems += rejected.problems
    try:
        new, changed = await _households_to_write(g, rows)
    except RosterRejected as rejected:
        problems += rejected.problems
    if problems:
        raise RosterRejected(sorted(problems, key=lambda p: p.row))
    await g.create_people(people, actor)
    for person in people:
        g.emit(
            DomainEvent(
                "person.registered",
                person.community_code,
                f"person/{person.person_id}",
                {
                    "person_id": person.person_id,
                    "display_name": person.display_name,
                    "party_member": False,
                    "phone": None,
                },
            )
        )
    await g.save_households([*new, *changed], actor)
    for household in new:
        g.emit(registered(household))
    for household in changed:
        g.emit(updated(household))
    return {
        "rows": len(rows),
        "households_registered": len(new),
        "households_updated": len(changed),
        "people_registered": len(people),
        "changed": bool(people or new or changed),
    }


async def import_households(
    uow: UnitOfWork,
    principal: Principal,
    rows: Sequence[HouseholdRow],
    *,
    dry_run: bool = False,
    key: str | None = None,
) -> Result:
    denied = [r for r in rows if not principal.can_manage(r.household.building_code)]
    if denied:
        raise RosterRejected(
            [
                RowProblem(r.row, "building_code", f"{r.household.building_code} is outside your region")
                for r in denied
            ]
        )

    async def work(g: GraphTx) -> Result:
        await g.lock(
            Locks.of(
                people=_named_owners(rows),
                places=[r.household.building_code for r in rows],
                households=[r.household.code for r in rows],
            )
        )
        return {**await _write(g, rows, principal.subject), "dry_run": dry_run}

    return await uow.run(
        work,
        idempotency_key=None if dry_run else idempotency_scope(principal, "import_households", key),
        fingerprint=fingerprint([r.__dict__ for r in rows]),
        dry_run=dry_run,
    )


def export_rows(households: Sequence[Household], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Household roster rows in the import's own columns (owner names from the graph)."""
    return [
        {
            "household_code": h.code,
            "building_code": h.building_code,
            "entrance": h.entrance,
            "unit_number": h.unit_number,
            "exclusive_area_m2": f"{h.exclusive_area_m2:.2f}",
            "owner_person_ids": ";".join(h.owner_ids),
            "owner_names": ";".join(names.get(p, "") for p in h.owner_ids),
            "resident_person_ids": ";".join(h.resident_ids),
            "representative_person_id": h.representative_id or "",
        }
        for h in households
    ]


async def export_households(
    reader: HouseholdReader, principal: Principal, region: str
) -> list[dict[str, Any]]:
    """The household roster of a region (2-12 digit code), for its coordinators."""
    prefix = region_prefix_of(region)
    if not principal.can_manage(prefix.ljust(12, "0")):
        raise PermissionDenied(f"{principal.subject} may not read {region}: outside the caller's region")
    households = await reader.household_roster(prefix)
    names = await reader.person_names(sorted({p for h in households for p in h.owner_ids}))
    return export_rows(households, names)
