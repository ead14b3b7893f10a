"""Use cases: register, update and dissolve places."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from civicgrid_orggraph.domain.codes import check_place_code, community_of, division_parent
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.places import check_attributes, check_parent_kind
from civicgrid_orggraph.domain.vocabulary import DIVISIONS, PlaceKind
from civicgrid_orggraph.service_layer.common import (
    ensure_manages,
    fingerprint,
    idempotency_scope,
    place_view,
    require_place,
)
from civicgrid_orggraph.service_layer.ports import GraphTx, Locks, PlaceRecord, Result, UnitOfWork
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, RuleViolation


@dataclass(frozen=True)
class RegisterPlace:
    kind: PlaceKind
    code: str
    name: str
    parent_code: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def normalised(self) -> RegisterPlace:
        parent = self.parent_code
        if parent is None and (
            self.kind in DIVISIONS or self.kind in (PlaceKind.COMMUNITY, PlaceKind.VILLAGE)
        ):
            parent = division_parent(self.code, self.kind)
        attributes = {k: v for k, v in check_attributes(dict(self.attributes)).items() if v is not None}
        return RegisterPlace(self.kind, self.code, self.name.strip(), parent, attributes)


async def register_in(g: GraphTx, cmd: RegisterPlace, actor: str) -> tuple[Result, bool]:
    """Register inside an open transaction; returns the view and whether anything was written."""
    existing = await g.get_place(cmd.code)
    if existing is not None:
        same = (existing.kind, existing.name, existing.parent_code, existing.attributes) == (
            cmd.kind,
            cmd.name,
            cmd.parent_code,
            cmd.attributes,
        )
        if not same:
            raise Conflict(
                f"place {cmd.code} is already registered ({existing.name}) with other data; "
                f"change it with PATCH /places/{cmd.code}",
                rule="place_already_registered",
                place_code=cmd.code,
            )
        return place_view(existing), False
    parent = await require_place(g, cmd.parent_code) if cmd.parent_code else None
    check_parent_kind(cmd.kind, parent.kind if parent else None)
    place = PlaceRecord(cmd.code, cmd.kind, cmd.name, cmd.parent_code, True, cmd.attributes)
    await g.create_place(place, actor)
    g.emit(
        DomainEvent(
            "place.registered",
            community_of(cmd.code),
            f"place/{cmd.code}",
            {
                "kind": cmd.kind.value,
                "code": cmd.code,
                "name": cmd.name,
                "parent_code": cmd.parent_code,
                "attributes": cmd.attributes,
            },
        )
    )
    return place_view(place), True


async def register_place(
    uow: UnitOfWork, principal: Principal, cmd: RegisterPlace, key: str | None = None
) -> Result:
    check_place_code(cmd.kind, cmd.code, cmd.parent_code)
    cmd = cmd.normalised()
    principal.ensure_can_manage(cmd.code)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(places=[cmd.parent_code, cmd.code]))
        view, created = await register_in(g, cmd, principal.subject)
        return {**view, "created": created}

    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "register_place", key),
        fingerprint=fingerprint(cmd),
    )


async def update_place(
    uow: UnitOfWork,
    principal: Principal,
    code: str,
    name: str | None,
    attributes: dict[str, Any],
    key: str | None = None,
) -> Result:
    principal.ensure_can_manage(code)
    check_attributes(attributes)

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(places=[code]))
        place = await require_place(g, code)
        changed = {k: v for k, v in attributes.items() if place.attributes.get(k) != v}
        new_name = name.strip() if name and name.strip() != place.name else None
        if not changed and new_name is None:
            return {**place_view(place), "changed": False}
        await g.update_place(code, new_name, changed)
        g.emit(
            DomainEvent(
                "place.updated",
                community_of(code),
                f"place/{code}",
                {"code": code, "name": new_name, "attributes": changed},
            )
        )
        merged = {k: v for k, v in {**place.attributes, **changed}.items() if v is not None}
        updated = PlaceRecord(code, place.kind, new_name or place.name, place.parent_code, True, merged)
        return {**place_view(updated), "changed": True}

    body = {"code": code, "name": name, "attributes": attributes}
    return await uow.run(
        work, idempotency_key=idempotency_scope(principal, "update_place", key), fingerprint=fingerprint(body)
    )


async def dissolve_place(
    uow: UnitOfWork,
    principal: Principal,
    code: str,
    merged_into: str | None,
    reason: str | None,
    key: str | None = None,
) -> Result:
    principal.ensure_can_manage(code)
    if merged_into is not None:
        ensure_manages(principal, merged_into, f"place {merged_into}")

    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(places=[code]))
        place = await require_place(g, code, active=False)
        if not place.active:
            return {**place_view(place), "changed": False}
        dependants = await g.active_dependants(code)
        if dependants:
            raise RuleViolation(
                "place_has_active_dependants",
                f"dissolve or move what is in {code} first: {', '.join(dependants)}",
                dependants=dependants,
            )
        if merged_into is not None:
            target = await require_place(g, merged_into)
            if target.kind is not place.kind:
                raise RuleViolation(
                    "merge_same_kind", f"a {place.kind} can merge only into another {place.kind}"
                )
        await g.dissolve_place(code, merged_into, reason)
        g.emit(
            DomainEvent(
                "place.dissolved",
                community_of(code),
                f"place/{code}",
                {"code": code, "merged_into": merged_into, "reason": reason},
            )
        )
        return {**place_view(place), "active": False, "changed": True}

    body = {"code": code, "merged_into": merged_into, "reason": reason}
    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "dissolve_place", key),
        fingerprint=fingerprint(body),
    )
