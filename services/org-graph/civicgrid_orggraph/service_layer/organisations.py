"""Use cases: form and dissolve organisations, enforcing the shape rules of both hierarchies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from civicgrid_orggraph.domain.codes import community_of
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.shapes import OrgRef, check_organisation_shape, uniqueness_group
from civicgrid_orggraph.domain.vocabulary import EndReason, OrganisationKind
from civicgrid_orggraph.service_layer.common import (
    ensure_manages,
    ensure_may_attach_to,
    fingerprint,
    idempotency_scope,
    org_view,
    require_org,
    require_place,
)
from civicgrid_orggraph.service_layer.ports import GraphTx, Locks, OrgRecord, Result, UnitOfWork
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, RuleViolation


@dataclass(frozen=True)
class FormOrganisation:
    kind: OrganisationKind
    name: str
    place_code: str
    parent_org_id: str | None = None
    org_id: str | None = None
    formed_on: date | None = None


async def form_in(g: GraphTx, cmd: FormOrganisation, principal: Principal) -> tuple[Result, bool]:
    org_id = cmd.org_id or f"org-{uuid.uuid4().hex[:16]}"
    existing = await g.get_org(org_id)
    if existing is not None:
        same = (existing.ref.kind, existing.name, existing.ref.place.code, existing.parent_org_id) == (
            cmd.kind,
            cmd.name,
            cmd.place_code,
            cmd.parent_org_id,
        )
        if not same:
            raise Conflict(
                f"organisation {org_id} already exists with other data",
                rule="organisation_id_taken",
                org_id=org_id,
            )
        return org_view(existing), False
    place = await require_place(g, cmd.place_code)
    parent = await require_org(g, cmd.parent_org_id) if cmd.parent_org_id else None
    if parent is not None:
        ensure_may_attach_to(
            principal, parent.ref.place.code, place.code, f"parent organisation {parent.ref.org_id}"
        )
    check_organisation_shape(cmd.kind, place.ref, parent.ref if parent else None)
    group = uniqueness_group(cmd.kind, place.kind)
    if group is not None:
        rivals = [
            o for o in await g.active_orgs_at(place.code) if uniqueness_group(o.kind, place.kind) == group
        ]
        if rivals:
            raise RuleViolation(
                f"one_{group}_per_place",
                f"{place.name} ({place.code}) already has an active {group.replace('_', ' ')}: "
                f"{rivals[0].org_id}; dissolve it first",
                existing_org_id=rivals[0].org_id,
            )
    org = OrgRecord(OrgRef(org_id, cmd.kind, place.ref), cmd.name, cmd.parent_org_id, True)
    await g.create_org(org, cmd.formed_on or date.today(), principal.subject)
    g.emit(
        DomainEvent(
            "organisation.formed",
            community_of(place.code),
            f"organisation/{org_id}",
            {
                "org_id": org_id,
                "kind": cmd.kind.value,
                "name": cmd.name,
                "place_code": place.code,
                "parent_org_id": cmd.parent_org_id,
            },
        )
    )
    return org_view(org), True


async def form_organisation(
    uow: UnitOfWork, principal: Principal, cmd: FormOrganisation, key: str | None = None
) -> Result:
    principal.ensure_can_manage(cmd.place_code)

    async def work(g: GraphTx) -> Result:
        # the place's lock serialises forming two organisations of a one-per-place kind
        await g.lock(Locks.of(organisations=[cmd.org_id, cmd.parent_org_id], places=[cmd.place_code]))
        view, created = await form_in(g, cmd, principal)
        return {**view, "created": created}

    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "form_organisation", key),
        fingerprint=fingerprint(cmd),
    )


async def dissolve_organisation(
    uow: UnitOfWork,
    principal: Principal,
    org_id: str,
    on: date,
    reason: str | None,
    successor_org_id: str | None,
    key: str | None = None,
) -> Result:
    async def work(g: GraphTx) -> Result:
        posts = [m.post_id for m in await g.open_memberships_of_org(org_id)]
        await g.lock(Locks.of(posts=posts, organisations=[org_id]))
        org = await require_org(g, org_id, active=False)
        principal.ensure_can_manage(org.ref.place.code)
        if successor_org_id is not None:
            successor = await require_org(g, successor_org_id, active=False)
            ensure_manages(principal, successor.ref.place.code, f"successor organisation {successor_org_id}")
        if not org.active:
            return {**org_view(org), "changed": False, "ended_memberships": []}
        if successor_org_id is not None:
            await require_org(g, successor_org_id)
        children = await g.active_children_of_org(org_id)
        if children:
            raise RuleViolation(
                "organisation_has_active_children",
                f"dissolve or re-attach its sub-organisations first: {', '.join(children)}",
            )
        community = community_of(org.ref.place.code)
        ended = []
        for m in await g.open_memberships_of_org(org_id):
            end = max(on, m.start_date)
            await g.end_membership(m.membership_id, end, EndReason.ORGANISATION_DISSOLVED, None)
            ended.append(m.membership_id)
            g.emit(
                DomainEvent(
                    "membership.ended",
                    m.community_code,
                    f"membership/{m.membership_id}",
                    {
                        "membership_id": m.membership_id,
                        "end_date": end.isoformat(),
                        "reason": "organisation_dissolved",
                    },
                )
            )
        await g.dissolve_org(org_id, on, reason, successor_org_id)
        g.emit(
            DomainEvent(
                "organisation.dissolved",
                community,
                f"organisation/{org_id}",
                {"org_id": org_id, "successor_org_id": successor_org_id, "reason": reason},
            )
        )
        return {**org_view(org), "active": False, "changed": True, "ended_memberships": ended}

    body = {"org_id": org_id, "on": on, "reason": reason, "successor": successor_org_id}
    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "dissolve_organisation", key),
        fingerprint=fingerprint(body),
    )


async def rename_organisation(
    uow: UnitOfWork, principal: Principal, org_id: str, name: str, key: str | None = None
) -> Result:
    async def work(g: GraphTx) -> Result:
        await g.lock(Locks.of(organisations=[org_id]))
        org = await require_org(g, org_id)
        principal.ensure_can_manage(org.ref.place.code)
        if org.name == name:
            return {**org_view(org), "changed": False}
        await g.rename_org(org_id, name)
        g.emit(
            DomainEvent(
                "organisation.updated",
                community_of(org.ref.place.code),
                f"organisation/{org_id}",
                {"org_id": org_id, "name": name},
            )
        )
        return {**org_view(org), "name": name, "changed": True}

    body = {"org_id": org_id, "name": name}
    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "rename_organisation", key),
        fingerprint=fingerprint(body),
    )
