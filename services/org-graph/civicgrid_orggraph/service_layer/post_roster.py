"""Bulk import of a post roster: people and their terms, in one transaction, all rows or none.

Each row registers its person (idempotent by person_id) and appoints them with a membership id
derived from the row's content, so re-importing the same file writes nothing. Every rule of a
single appointment applies (shapes, single holders, cross-appointment policy); each broken rule is
reported with its row number and the whole file is rolled back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from civicgrid_orggraph.domain.cross_appointments import RuleMode
from civicgrid_orggraph.domain.post_roster import PostRow
from civicgrid_orggraph.domain.posts import post_id
from civicgrid_orggraph.domain.roster import RosterRejected, RowProblem
from civicgrid_orggraph.service_layer import memberships, people
from civicgrid_orggraph.service_layer.common import fingerprint, idempotency_scope, require_org
from civicgrid_orggraph.service_layer.ports import GraphTx, Locks, Result, UnitOfWork
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import CivicGridError


def membership_id_of(row: PostRow) -> str:
    scope = row.grid_id or row.building_code or ""
    digest = hashlib.sha256(f"{row.person_id}|{row.org_id}|{row.post}|{scope}|{row.start_date}".encode())
    return "imp-" + digest.hexdigest()[:24]


def _appointment(row: PostRow) -> memberships.Appoint:
    return memberships.Appoint(
        row.person_id,
        row.org_id,
        row.post,
        row.start_date,
        row.basis,
        row.basis_reference,
        row.term_end_date,
        row.grid_id,
        row.building_code,
        row.drawn_from_org_id,
        membership_id_of(row),
    )


async def _write(g: GraphTx, principal: Principal, rows: Sequence[PostRow], salt: str, policy: Any) -> Result:
    await g.lock(Locks.union(memberships.appointment_locks(_appointment(row)) for row in rows))
    problems: list[RowProblem] = []
    people_created = appointed = 0
    for row in rows:
        try:
            principal.ensure_can_manage(row.community_code)
            org = await require_org(g, row.org_id)
            principal.ensure_can_manage(org.ref.place.code)
            prepared = people.prepare(
                people.RegisterPerson(
                    row.display_name, row.community_code, row.party_member, row.phone, None, row.person_id
                ),
                salt,
            )
            _, created = await people.register_in(g, prepared, principal.subject)
            people_created += created
            pid = post_id(row.org_id, row.post, row.grid_id or row.building_code)
            held = await g.holders_of_post(pid, row.start_date)
            if any(h.person_id == row.person_id and h.start_date == row.start_date for h in held):
                continue  # this term is already recorded (e.g. the file is an export)
            _, started = await memberships.appoint_in(g, _appointment(row), principal, policy)
            appointed += started
        except CivicGridError as error:
            rule = error.details.get("rule")
            reason = f"{rule}: {error.message}" if rule else error.message
            problems.append(RowProblem(row.row, "-", reason))
    if problems:
        raise RosterRejected(problems)
    return {
        "rows": len(rows),
        "people_registered": people_created,
        "terms_started": appointed,
        "changed": bool(people_created or appointed),
    }


async def import_posts(
    uow: UnitOfWork,
    principal: Principal,
    rows: Sequence[PostRow],
    salt: str,
    policy: Mapping[str, RuleMode],
    *,
    dry_run: bool = False,
    key: str | None = None,
) -> Result:
    async def work(g: GraphTx) -> Result:
        return {**await _write(g, principal, rows, salt, policy), "dry_run": dry_run}

    return await uow.run(
        work,
        idempotency_key=None if dry_run else idempotency_scope(principal, "import_posts", key),
        fingerprint=fingerprint([r.__dict__ for r in rows]),
        dry_run=dry_run,
    )
