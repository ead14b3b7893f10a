"""Use cases: appoint a person to a post and end a term, applying the cross-appointment policy."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from civicgrid_orggraph.domain.codes import community_of, region_prefix_of
from civicgrid_orggraph.domain.cross_appointments import (
    Appointment,
    Finding,
    RuleMode,
    evaluate,
    is_cross_appointment,
)
from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.posts import check_post_fits, post_id
from civicgrid_orggraph.domain.vocabulary import (
    SINGLE_HOLDER_POSTS,
    AppointmentBasis,
    EndReason,
    PlaceKind,
    PostKind,
)
from civicgrid_orggraph.service_layer.common import (
    ensure_manages,
    fingerprint,
    idempotency_scope,
    require_grid,
    require_org,
    require_person,
    require_place,
)
from civicgrid_orggraph.service_layer.ports import (
    GraphTx,
    Locks,
    NewMembership,
    OrgRecord,
    Result,
    UnitOfWork,
)
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, InvalidInput, NotFound, RuleViolation

Policy = Mapping[str, RuleMode]


@dataclass(frozen=True)
class Appoint:
    person_id: str
    org_id: str
    post: PostKind
    start_date: date
    basis: AppointmentBasis
    basis_reference: str
    term_end_date: date | None = None
    grid_id: str | None = None
    building_code: str | None = None
    drawn_from_org_id: str | None = None
    membership_id: str | None = None

    @property
    def scope(self) -> str | None:
        return self.grid_id or self.building_code


def appointment_locks(cmd: Appoint) -> Locks:
    """An appointment locks its post, its organisation, the person, and what the post covers."""
    return Locks.of(
        posts=[post_id(cmd.org_id, cmd.post, cmd.scope)],
        organisations=[cmd.org_id],
        people=[cmd.person_id],
        grids=[cmd.grid_id],
        places=[cmd.building_code],
    )


def _check_dates(cmd: Appoint) -> None:
    if cmd.term_end_date is not None and cmd.term_end_date < cmd.start_date:
        raise InvalidInput("term_end_date: must not be before start_date")
    if not cmd.basis_reference.strip():
        raise InvalidInput("basis_reference: name the election, decision or vote the post rests on")


async def _check_scope(g: GraphTx, cmd: Appoint, org: OrgRecord) -> None:
    area = region_prefix_of(community_of(org.ref.place.code))
    if cmd.grid_id is not None:
        grid = await require_grid(g, cmd.grid_id)
        if not grid.grid_id.startswith(area):
            raise RuleViolation(
                "post_scope_in_organisation_area", f"grid {grid.grid_id} is outside {org.name}'s area"
            )
    if cmd.building_code is not None:
        building = await require_place(g, cmd.building_code)
        if building.kind is not PlaceKind.BUILDING or not building.code.startswith(area):
            raise RuleViolation(
                "post_scope_in_organisation_area",
                f"{cmd.building_code} is not a building in {org.name}'s area",
            )


def membership_view(m: NewMembership, flags: list[Finding]) -> Result:
    return {
        "membership_id": m.membership_id,
        "person_id": m.person_id,
        "post_id": m.post_id,
        "post": m.post.value,
        "org_id": m.org_id,
        "scope_code": m.scope_code,
        "start_date": m.start_date.isoformat(),
        "term_end_date": m.term_end_date.isoformat() if m.term_end_date else None,
        "basis": m.basis.value,
        "basis_reference": m.basis_reference,
        "cross_appointment": m.cross_appointment,
        "flags": [{"rule": f.rule, "details": f.message} for f in flags],
    }


async def appoint_in(g: GraphTx, cmd: Appoint, principal: Principal, policy: Policy) -> tuple[Result, bool]:
    """Appoint inside an open transaction. Both sides of the relation must be the caller's: the
    organisation (and what the post covers) and the person (and the body a part-time member is drawn
    from): a coordinator of one street cannot appoint a person of another, even to a post of their own."""
    found = await require_org(g, cmd.org_id, active=False)
    principal.ensure_can_manage(found.ref.place.code)
    if cmd.scope:
        principal.ensure_can_manage(cmd.scope)
    membership_id = cmd.membership_id or f"m-{uuid.uuid4().hex[:16]}"
    if cmd.membership_id is not None and (existing := await g.get_membership(cmd.membership_id)):
        stored = {
            "person_id": existing.person_id,
            "org_id": existing.org_id,
            "post": existing.post,
            "post_id": existing.post_id,
            "start_date": existing.start_date,
        }
        wanted = {
            "person_id": cmd.person_id,
            "org_id": cmd.org_id,
            "post": cmd.post,
            "post_id": post_id(cmd.org_id, cmd.post, cmd.scope),
            "start_date": cmd.start_date,
        }
        differing = [k for k in stored if stored[k] != wanted[k]]
        if differing:
            raise Conflict(
                f"membership {cmd.membership_id} already exists with another {', '.join(differing)}",
                rule="membership_id_taken",
                differing_fields=differing,
            )
        return {
            "membership_id": existing.membership_id,
            "person_id": existing.person_id,
            "post_id": existing.post_id,
            "post": existing.post.value,
            "org_id": existing.org_id,
            "start_date": existing.start_date.isoformat(),
            "basis": existing.basis.value,
        }, False
    person = await require_person(g, cmd.person_id)
    ensure_manages(principal, person.community_code, f"person {person.person_id}")
    org = await require_org(g, cmd.org_id)
    check_post_fits(cmd.post, org.ref, cmd.grid_id, cmd.building_code)
    await _check_scope(g, cmd, org)
    pid = post_id(org.ref.org_id, cmd.post, cmd.scope)
    await g.ensure_post(pid, org.ref.org_id, cmd.post, cmd.scope)
    # The new term is open-ended: it overlaps every term held on its start date or starting later.
    holders = await g.holders_of_post(pid, cmd.start_date, onwards=True)
    if any(h.person_id == person.person_id for h in holders):
        raise Conflict(
            f"{person.display_name} already holds {pid} on or after {cmd.start_date}",
            rule="person_already_holds_post",
        )
    if cmd.post in SINGLE_HOLDER_POSTS and holders:
        held = holders[0]
        since = max(held.start_date, cmd.start_date)
        raise RuleViolation(
            "single_holder_post",
            f"{pid} is held by {held.person_id} from {since}; end that term first",
            holder_membership_id=held.membership_id,
        )
    holdings = await g.holdings_of(person.person_id, cmd.start_date)
    drawn = await require_org(g, cmd.drawn_from_org_id) if cmd.drawn_from_org_id else None
    if drawn is not None:
        ensure_manages(principal, drawn.ref.place.code, f"organisation {drawn.ref.org_id}")
    appointment = Appointment(
        person.person_id,
        person.party_member,
        cmd.post,
        org.ref,
        cmd.basis,
        cmd.basis_reference,
        drawn.ref if drawn else None,
    )
    findings = evaluate(policy, appointment, holdings)
    rejected = [f for f in findings if f.mode is RuleMode.REJECT]
    if rejected:
        raise RuleViolation(
            rejected[0].rule,
            rejected[0].message,
            broken_rules=[{"rule": f.rule, "details": f.message} for f in rejected],
        )
    membership = NewMembership(
        membership_id=membership_id,
        person_id=person.person_id,
        post_id=pid,
        post=cmd.post,
        org_id=org.ref.org_id,
        scope_code=cmd.scope,
        community_code=community_of(cmd.scope or org.ref.place.code),
        start_date=cmd.start_date,
        term_end_date=cmd.term_end_date,
        basis=cmd.basis,
        basis_reference=cmd.basis_reference.strip(),
        cross_appointment=is_cross_appointment(appointment, holdings),
        recorded_by=principal.subject,
    )
    await g.create_membership(membership)
    g.emit(_started(membership, cmd))
    for flag in findings:
        ids = [*flag.membership_ids, membership_id]
        await g.record_flag(flag.rule, person.person_id, ids, flag.message)
        g.emit(
            DomainEvent(
                "cross_appointment.flagged",
                person.community_code,
                f"person/{person.person_id}",
                {
                    "rule": flag.rule,
                    "person_id": person.person_id,
                    "membership_ids": ids,
                    "details": flag.message,
                },
            )
        )
    return membership_view(membership, findings), True


def _started(m: NewMembership, cmd: Appoint) -> DomainEvent:
    data: dict[str, Any] = {
        "membership_id": m.membership_id,
        "person_id": m.person_id,
        "post": m.post.value,
        "org_id": m.org_id,
        "grid_id": cmd.grid_id,
        "place_code": cmd.scope or m.community_code,
        "start_date": m.start_date.isoformat(),
        "term_end_date": m.term_end_date.isoformat() if m.term_end_date else None,
        "basis": m.basis.value,
        "basis_reference": m.basis_reference,
        "cross_appointment": m.cross_appointment,
    }
    return DomainEvent("membership.started", m.community_code, f"membership/{m.membership_id}", data)


async def appoint(
    uow: UnitOfWork, principal: Principal, cmd: Appoint, policy: Policy, key: str | None = None
) -> Result:
    _check_dates(cmd)

    async def work(g: GraphTx) -> Result:
        await g.lock(appointment_locks(cmd))
        view, created = await appoint_in(g, cmd, principal, policy)
        return {**view, "created": created}

    return await uow.run(
        work, idempotency_key=idempotency_scope(principal, "appoint", key), fingerprint=fingerprint(cmd)
    )


async def end_membership(
    uow: UnitOfWork,
    principal: Principal,
    membership_id: str,
    end: date,
    reason: EndReason,
    note: str | None,
    key: str | None = None,
) -> Result:
    async def work(g: GraphTx) -> Result:
        found = await g.get_membership(membership_id)
        if found is None:
            raise NotFound(f"no membership with id {membership_id}")
        principal.ensure_can_manage(found.community_code)
        await g.lock(Locks.of(posts=[found.post_id]))
        m = await g.get_membership(membership_id) or found  # what committed while this waited
        view: Result = {"membership_id": membership_id, "end_date": end.isoformat(), "reason": reason.value}
        if m.end_date is not None:
            if m.end_date == end:
                return {**view, "changed": False}
            raise Conflict(
                f"membership {membership_id} already ended on {m.end_date.isoformat()}",
                rule="membership_already_ended",
                end_date=m.end_date.isoformat(),
            )
        if end < m.start_date:
            raise InvalidInput(f"end_date: must not be before the start date {m.start_date.isoformat()}")
        await g.end_membership(membership_id, end, reason, note)
        g.emit(
            DomainEvent(
                "membership.ended",
                m.community_code,
                f"membership/{membership_id}",
                {
                    "membership_id": membership_id,
                    "end_date": end.isoformat(),
                    "reason": reason.value,
                    "note": note,
                },
            )
        )
        return {**view, "changed": True}

    body = {"id": membership_id, "end": end, "reason": reason, "note": note}
    return await uow.run(
        work,
        idempotency_key=idempotency_scope(principal, "end_membership", key),
        fingerprint=fingerprint(body),
    )
