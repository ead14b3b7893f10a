"""Bulk import of a building roster: validate everything, then write it in one transaction (or nothing).

Re-importing the same file finds nothing to change and writes nothing (no events either).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from civicgrid_orggraph.domain.codes import community_of
from civicgrid_orggraph.domain.events import DomainEvent, building_assigned
from civicgrid_orggraph.domain.roster import RosterRejected, RosterRow, RowProblem
from civicgrid_orggraph.domain.vocabulary import BASE_UNITS, PlaceKind
from civicgrid_orggraph.service_layer.common import fingerprint, idempotency_scope
from civicgrid_orggraph.service_layer.ports import (
    GraphTx,
    GridRecord,
    Locks,
    PlaceRecord,
    Result,
    UnitOfWork,
)
from civicgrid_runtime.auth import Principal


def _wanted_places(rows: Sequence[RosterRow]) -> dict[str, tuple[RosterRow, PlaceRecord]]:
    wanted: dict[str, tuple[RosterRow, PlaceRecord]] = {}
    for r in rows:
        if r.compound_code and r.compound_code not in wanted:
            eligible = r.owners_committee_eligible
            compound_attrs: dict[str, Any] = (
                {} if eligible is None else {"owners_committee_eligible": eligible}
            )
            place = PlaceRecord(
                r.compound_code,
                PlaceKind.COMPOUND,
                r.compound_name or "",
                r.community_code,
                True,
                compound_attrs,
            )
            wanted[r.compound_code] = (r, place)
        attrs: dict[str, Any] = {} if r.households is None else {"households": r.households}
        wanted[r.building_code] = (
            r,
            PlaceRecord(r.building_code, PlaceKind.BUILDING, r.building_name, r.building_parent, True, attrs),
        )
    return wanted


async def _check_against_graph(
    g: GraphTx, rows: Sequence[RosterRow], wanted: dict[str, tuple[RosterRow, PlaceRecord]]
) -> tuple[dict[str, PlaceRecord], dict[str, GridRecord]]:
    communities = sorted({r.community_code for r in rows})
    existing = await g.get_places([*communities, *wanted])
    grids = await g.get_grids(sorted({r.grid_id for r in rows if r.grid_id}))
    problems: list[RowProblem] = []
    for r in rows:
        community = existing.get(r.community_code)
        if community is None or community.kind not in BASE_UNITS or not community.active:
            problems.append(
                RowProblem(r.row, "community_code", f"{r.community_code} is not a registered community")
            )
        elif r.compound_code and community.kind is PlaceKind.VILLAGE:
            problems.append(RowProblem(r.row, "compound_code", "a village's buildings have no compound"))
        if r.grid_id and r.grid_id in grids and not grids[r.grid_id].active:
            problems.append(RowProblem(r.row, "grid_id", f"grid {r.grid_id} has been dissolved"))
    for code, (r, place) in wanted.items():
        found = existing.get(code)
        column = "compound_code" if place.kind is PlaceKind.COMPOUND else "building_code"
        if found is None:
            continue
        if found.kind is not place.kind or found.parent_code != place.parent_code:
            problems.append(
                RowProblem(
                    r.row, column, f"{code} is already registered as a {found.kind} in {found.parent_code}"
                )
            )
        elif not found.active:
            problems.append(RowProblem(r.row, column, f"{code} has been dissolved"))
    if problems:
        raise RosterRejected(sorted(problems, key=lambda p: p.row))
    return existing, grids


async def _write(g: GraphTx, rows: Sequence[RosterRow], actor: str) -> Result:
    wanted = _wanted_places(rows)
    existing, grids = await _check_against_graph(g, rows, wanted)
    new = [place for code, (_, place) in wanted.items() if code not in existing]
    await g.create_places(new, actor)
    for place in new:
        g.emit(
            DomainEvent(
                "place.registered",
                community_of(place.code),
                f"place/{place.code}",
                {
                    "kind": place.kind.value,
                    "code": place.code,
                    "name": place.name,
                    "parent_code": place.parent_code,
                    "attributes": place.attributes,
                },
            )
        )
    updated = 0
    for code, (_, place) in wanted.items():
        found = existing.get(code)
        if found is None:
            continue
        changed = {k: v for k, v in place.attributes.items() if found.attributes.get(k) != v}
        name = place.name if place.name != found.name else None
        if changed or name:
            updated += 1
            await g.update_place(code, name, changed)
            g.emit(
                DomainEvent(
                    "place.updated",
                    community_of(code),
                    f"place/{code}",
                    {"code": code, "name": name, "attributes": changed},
                )
            )
    current = await g.grids_of_buildings([r.building_code for r in rows])
    new_grids: dict[str, list[str]] = {}
    for r in rows:
        if r.grid_id and r.grid_id not in grids:
            members = new_grids.setdefault(r.grid_id, [])
            if r.building_code not in current:
                members.append(r.building_code)
    for grid_id, members in new_grids.items():
        name = next(r.grid_name for r in rows if r.grid_id == grid_id) or grid_id
        await g.create_grid(GridRecord(grid_id, name, community_of(grid_id), True), "buildings", actor)
        g.emit(
            DomainEvent(
                "grid.defined",
                community_of(grid_id),
                f"grid/{grid_id}",
                {"grid_id": grid_id, "name": name, "building_codes": members},
            )
        )
        for b in members:
            g.emit(building_assigned(b, grid_id, None))  # none of them had a grid
        current.update({b: grid_id for b in members})
        await g.set_building_grids([(b, grid_id) for b in members])
    moves = [
        (r.building_code, r.grid_id) for r in rows if r.grid_id and current.get(r.building_code) != r.grid_id
    ]
    await g.set_building_grids([(b, grid) for b, grid in moves if grid])
    for building, grid in moves:
        before = current.get(building)
        g.emit(building_assigned(building, grid, before))
        if before is None:
            g.emit(
                DomainEvent(
                    "place.updated",
                    community_of(building),
                    f"place/{building}",
                    {"code": building, "attributes": {"grid_id": grid}},
                )
            )
        else:
            g.emit(
                DomainEvent(
                    "grid.building_moved",
                    community_of(building),
                    f"place/{building}",
                    {"building_code": building, "from_grid_id": before, "to_grid_id": grid},
                )
            )
    return {
        "rows": len(rows),
        "places_created": len(new),
        "places_updated": updated,
        "grids_defined": len(new_grids),
        "buildings_moved_or_assigned": len(moves),
        "changed": bool(new or updated or new_grids or moves),
    }


async def import_roster(
    uow: UnitOfWork,
    principal: Principal,
    rows: Sequence[RosterRow],
    *,
    dry_run: bool = False,
    key: str | None = None,
) -> Result:
    denied = [r for r in rows if not principal.can_manage(r.community_code)]
    if denied:
        raise RosterRejected(
            [
                RowProblem(r.row, "community_code", f"{r.community_code} is outside your region")
                for r in denied
            ]
        )

    async def work(g: GraphTx) -> Result:
        await g.lock(
            Locks.of(
                grids=[r.grid_id for r in rows],
                places=[code for r in rows for code in (r.community_code, r.compound_code, r.building_code)],
            )
        )
        return {**await _write(g, rows, principal.subject), "dry_run": dry_run}

    return await uow.run(
        work,
        idempotency_key=None if dry_run else idempotency_scope(principal, "import_roster", key),
        fingerprint=fingerprint([r.__dict__ for r in rows]),
        dry_run=dry_run,
    )


def export_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Roster rows from the graph in the import's own columns (so an export re-imports as-is)."""
    return [
        {
            "community_code": r["community_code"],
            "compound_code": r.get("compound_code") or "",
            "compound_name": r.get("compound_name") or "",
            "owners_committee_eligible": ""
            if r.get("eligible") is None
            else str(bool(r["eligible"])).lower(),
            "building_code": r["building_code"],
            "building_name": r["building_name"],
            "households": "" if r.get("households") is None else str(r["households"]),
            "grid_id": r.get("grid_id") or "",
            "grid_name": r.get("grid_name") or "",
        }
        for r in rows
    ]
