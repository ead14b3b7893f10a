"""Helpers shared by the use cases: lookups that raise the right error, idempotency keys, views."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from civicgrid_orggraph.service_layer.ports import GraphTx, GridRecord, OrgRecord, PersonRecord, PlaceRecord
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import NotFound, PermissionDenied, RuleViolation
from civicgrid_runtime.regions import region_prefix


def ensure_manages(principal: Principal, code: str, what: str) -> None:
    """The other side of a relation must be the caller's too (a person appointed, a successor, a parent):
    a 403 naming ``what`` but not where it is (the caller may not read it)."""
    if not principal.can_manage(code):
        raise PermissionDenied(f"{what} is outside the caller's region", rule="outside_region")


def ensure_may_attach_to(principal: Principal, parent_code: str, child_code: str, what: str) -> None:
    """Attaching something at ``child_code`` under something at ``parent_code``: allowed when the caller
    manages the parent's place, or when that place encloses the child's (an organisation of the street or
    district above, which a coordinator may point to but not change)."""
    if principal.can_manage(parent_code) or encloses(parent_code, child_code):
        return
    raise PermissionDenied(f"{what} is outside the caller's region", rule="outside_region")


def encloses(outer: str, inner: str) -> bool:
    """True when place ``outer`` contains place ``inner`` (or is it)."""
    if outer == inner:
        return True
    if outer.isdigit() and len(outer) == 12:
        return inner.startswith(region_prefix(outer)) and inner != outer
    return inner.startswith(outer + "-")


def idempotency_scope(principal: Principal, action: str, key: str | None) -> str | None:
    """Keys are per caller and per action, so two coordinators never collide."""
    return f"{principal.subject}|{action}|{key}" if key else None


def fingerprint(body: Any) -> str:
    """A request's fingerprint for its Idempotency-Key: a JSON object of one digest per field (per row for
    a list of rows), so a reused key can be answered with the names of the fields that differ, without
    keeping the values themselves (they may be personal data)."""
    return json.dumps({name: _digest(value) for name, value in _fields(body).items()}, sort_keys=True)


def _fields(body: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(body) and not isinstance(body, type):
        return {f.name: getattr(body, f.name) for f in dataclasses.fields(body)}
    if isinstance(body, Mapping):
        return {str(k): v for k, v in body.items()}
    if isinstance(body, list | tuple):
        named: dict[str, Any] = {}
        for number, item in enumerate(body, start=1):
            fields = _fields(item)
            named[f"row {fields.get('row', number)}"] = fields
        return named
    return {"body": body}


def _digest(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = _fields(value)
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


async def require_place(g: GraphTx, code: str, *, active: bool = True) -> PlaceRecord:
    place = await g.get_place(code)
    if place is None:
        raise NotFound(f"no place with code {code}")
    if active and not place.active:
        raise RuleViolation("place_active", f"place {code} ({place.name}) has been dissolved")
    return place


async def require_org(g: GraphTx, org_id: str, *, active: bool = True) -> OrgRecord:
    org = await g.get_org(org_id)
    if org is None:
        raise NotFound(f"no organisation with id {org_id}")
    if active and not org.active:
        raise RuleViolation("organisation_active", f"organisation {org_id} ({org.name}) has been dissolved")
    return org


async def require_grid(g: GraphTx, grid_id: str) -> GridRecord:
    grid = await g.get_grid(grid_id)
    if grid is None:
        raise NotFound(f"no grid with id {grid_id}")
    if not grid.active:
        raise RuleViolation("grid_active", f"grid {grid_id} has been dissolved")
    return grid


async def require_person(g: GraphTx, person_id: str) -> PersonRecord:
    person = await g.get_person(person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    return person


def place_view(p: PlaceRecord) -> dict[str, Any]:
    return {
        "code": p.code,
        "kind": p.kind.value,
        "name": p.name,
        "parent_code": p.parent_code,
        "active": p.active,
        "attributes": p.attributes,
    }


def org_view(o: OrgRecord) -> dict[str, Any]:
    return {
        "org_id": o.ref.org_id,
        "kind": o.ref.kind.value,
        "name": o.name,
        "place_code": o.ref.place.code,
        "parent_org_id": o.parent_org_id,
        "active": o.active,
    }


def person_view(p: PersonRecord) -> dict[str, Any]:
    return {
        "person_id": p.person_id,
        "display_name": p.display_name,
        "party_member": p.party_member,
        "phone": p.phone,
        "community_code": p.community_code,
    }
