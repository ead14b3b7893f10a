"""Use cases: define a grid over buildings; move a building from one grid to another."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from civicgrid_orggraph.domain.codes import check_grid_id, community_of
from civicgrid_orggraph.domain.events import DomainEvent, building_assigned
from civicgrid_orggraph.domain.vocabulary import BASE_UNITS, EndReason, PlaceKind
from civicgrid_orggraph.service_layer.common import (
    fingerprint,
    idempotency_scope,
    require_grid,
    require_place,
)
from civicgrid_orggraph.service_layer.ports import GraphTx, GridRecord, Locks, Result, UnitOfWork
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, InvalidInput, NotFound, RuleViolation


class GridCovers(StrEnum):
    RESIDENTS_GROUP = "residents_group"
    COMPOUND = "compound"
    BUILDINGS = "buildings"


@dataclass(frozen=True)
class DefineGrid:
    grid_id: str
    name: str
    covers: GridCovers
    building_codes: tuple[str, ...] = field(default_factory=tuple)


async def define_in(g: GraphTx, cmd: DefineGrid, actor: str) -> tuple[Result, bool]:
    community_code = community_of(cmd.grid_id)
    existing = await g.get_grid(cmd.grid_id)
    if existing is not None:
        members = [b for b in cmd.building_codes if await g.grid_of_building(b) == cmd.grid_id]
        if existing.name == cmd.name and len(members) == len(cmd.building_codes):
            return _view(existing, cmd), False
        raise Conflict(
            f"grid {cmd.grid_id} is already defined with other data; move buildings with "
            "POST /buildings/{code}/grid",
            rule="grid_already_defined",
            grid_id=cmd.grid_id,
        )
    community = await require_place(g, community_code)
    if community.kind not in BASE_UNITS:
        raise RuleViolation(
            "grid_in_community", f"a grid belongs to a community or village, not a {community.kind}"
        )
    for code in cmd.building_codes:
        building = await require_place(g, code)
        if building.kind is not PlaceKind.BUILDING or community_of(code) != community_code:
            raise RuleViolation(
                "grid_buildings_in_community", f"{code} is not a building of community {community_code}"
            )
        current = await g.grid_of_building(code)
        if current is not None:
            raise RuleViolation(
                "building_in_one_grid",
                f"building {code} already belongs to grid {current}; move it with "
                f"POST /buildings/{code}/grid",
            )
    grid = GridRecord(cmd.grid_id, cmd.name, community_code, True)
    await g.create_grid(grid, cmd.covers.value, actor)
    for code in cmd.building_codes:
        await g.set_building_grid(code, cmd.grid_id)
    g.emit(
        DomainEvent(
            "grid.defined",
            community_code,
            f"grid/{cmd.grid_id}",
            {"grid_id": cmd.grid_id, "name": cmd.name, "building_codes": list(cmd.building_codes)},
        )
    )
    for code in cmd.building_codes:
        g.emit(building_assigned(code, cmd.grid_id, None))  # each had no grid (checked above)
    return _view(grid, cmd), True


def _view(grid: GridRecord, cmd: DefineGrid) -> Result:
    return {
        "grid_id": grid.grid_id,
        "name": grid.name,
        "community_code": grid.community_code,
        "covers": cmd.covers.value,
        "building_codes": list(cmd.building_codes),
    }


async def define_grid(
    uow: UnitOfWork, principal: Principal, cmd: DefineGrid, key: str | None = None
) -> Result:
    check_grid_id(cmd.grid_id, community_of(cmd.grid_id))
    if len(set(cmd.building_codes)) != len(cmd.building_codes):
        raise InvalidInput("building_codes: a building is listed twice")
    principal.ensure_can_manage(cmd.grid_id)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(grids=[cmd.grid_id], places=[community_of(cmd.grid_id), *cmd.building_codes]))
        view, created = await define_in(g, cmd, principal.subject)
        return {**view, "created": created}

    return await uow.run(
        work, idempotency_key=idempotency_scope(principal, "define_grid", key), fingerprint=fingerprint(cmd)
    )


async def move_in(g: GraphTx, building_code: str, to_grid_id: str) -> tuple[Result, bool]:
    building = await require_place(g, building_code)
    if building.kind is not PlaceKind.BUILDING:
        raise InvalidInput(f"{building_code} is a {building.kind}, not a building")
    target = await require_grid(g, to_grid_id)
    if target.community_code != community_of(building_code):
        raise RuleViolation(
            "grid_buildings_in_community",
            f"grid {to_grid_id} is in community {target.community_code}; building {building_code} is not",
        )
    current = await g.grid_of_building(building_code)
    view: Result = {"building_code": building_code, "grid_id": to_grid_id, "from_grid_id": current}
    if current == to_grid_id:
        return view, False
    await g.set_building_grid(building_code, to_grid_id)
    if current is not None:
        g.emit(
            DomainEvent(
                "grid.building_moved",
                target.community_code,
                f"place/{building_code}",
                {"building_code": building_code, "from_grid_id": current, "to_grid_id": to_grid_id},
            )
        )
    else:
        g.emit(
            DomainEvent(
                "place.updated",
                target.community_code,
                f"place/{building_code}",
                {"code": building_code, "attributes": {"grid_id": to_grid_id}},
            )
        )
    g.emit(building_assigned(building_code, to_grid_id, current))
    return view, True


async def move_building(
    uow: UnitOfWork, principal: Principal, building_code: str, to_grid_id: str, key: str | None = None
) -> Result:
    principal.ensure_can_manage(building_code)
    principal.ensure_can_manage(to_grid_id)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(grids=[to_grid_id], places=[building_code]))
        view, changed = await move_in(g, building_code, to_grid_id)
        return {**view, "changed": changed}

    body = {"building_code": building_code, "to_grid_id": to_grid_id}
    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "move_building", key),
        fingerprint=fingerprint(body),
    )


async def rename_grid(
    uow: UnitOfWork, principal: Principal, grid_id: str, name: str, key: str | None = None
) -> Result:
    principal.ensure_can_manage(grid_id)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(grids=[grid_id]))
        grid = await require_grid(g, grid_id)
        view: Result = {"grid_id": grid_id, "name": name, "community_code": grid.community_code}
        if grid.name == name:
            return {**view, "changed": False}
        await g.rename_grid(grid_id, name)
        g.emit(
            DomainEvent(
                "grid.updated", grid.community_code, f"grid/{grid_id}", {"grid_id": grid_id, "name": name}
            )
        )
        return {**view, "changed": True}

    body = {"grid_id": grid_id, "name": name}
    return await uow.run(
        work, idempotency_key=idempotency_scope(principal, "rename_grid", key), fingerprint=fingerprint(body)
    )


async def dissolve_grid(
    uow: UnitOfWork, principal: Principal, grid_id: str, on: date, reason: str | None, key: str | None = None
) -> Result:
    """A grid is dissolved once its buildings have moved; the open terms of its grid posts end."""
    principal.ensure_can_manage(grid_id)

    async def work(g: GraphTx) -> Result:
        posts = [m.post_id for m in await g.open_memberships_of_grid(grid_id)]
        await g.lock(Locks.of(posts=posts, grids=[grid_id]))
        grid = await g.get_grid(grid_id)
        if grid is None:
            raise NotFound(f"no grid with id {grid_id}")
        if not grid.active:
            return {"grid_id": grid_id, "active": False, "changed": False, "ended_memberships": []}
        buildings = await g.buildings_in_grid(grid_id)
        if buildings:
            raise RuleViolation(
                "grid_has_buildings",
                f"move the buildings of grid {grid_id} to another grid first: {', '.join(buildings)}",
            )
        ended = []
        for m in await g.open_memberships_of_grid(grid_id):
            end = max(on, m.start_date)
            await g.end_membership(m.membership_id, end, EndReason.ORGANISATION_DISSOLVED, "grid dissolved")
            ended.append(m.membership_id)
            g.emit(
                DomainEvent(
                    "membership.ended",
                    m.community_code,
                    f"membership/{m.membership_id}",
                    {
                        "membership_id": m.membership_id,
                        "end_date": end.isoformat(),
                        "reason": EndReason.ORGANISATION_DISSOLVED.value,
                        "note": "grid dissolved",
                    },
                )
            )
        await g.dissolve_grid(grid_id, reason)
        g.emit(
            DomainEvent(
                "grid.dissolved",
                grid.community_code,
                f"grid/{grid_id}",
                {"grid_id": grid_id, "reason": reason},
            )
        )
        return {"grid_id": grid_id, "active": False, "changed": True, "ended_memberships": ended}

    body = {"grid_id": grid_id, "on": on, "reason": reason}
    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "dissolve_grid", key),
        fingerprint=fingerprint(body),
    )
