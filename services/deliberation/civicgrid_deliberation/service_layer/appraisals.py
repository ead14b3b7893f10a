"""Democratic appraisal of committee members by representatives; results published and disclosed
(the public page shows counts, not names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from civicgrid_deliberation.domain.appraisals import Appraisal, Grade
from civicgrid_deliberation.domain.disclosure import DisclosureItem, DisclosureKind, Figure
from civicgrid_deliberation.domain.forums import Forum, ForumLevel
from civicgrid_deliberation.service_layer.context import (
    Context,
    ensure_coordinator,
    fingerprint,
    new_id,
    person_of,
)
from civicgrid_deliberation.service_layer.ports import Fingerprint, View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import PermissionDenied

COMMITTEE_KINDS = ("residents_committee", "villagers_committee")
REPRESENTATIVE_KINDS = ("residents_group", "villagers_group")


@dataclass(frozen=True)
class OpenAppraisal:
    community_code: str
    title: str
    subject_person_ids: list[str] = field(default_factory=list)
    """Default: the holders of posts in the community's residents'/villagers' committee."""
    appraiser_person_ids: list[str] = field(default_factory=list)
    """Default: the representatives (of households and of residents' groups) of the community."""


def appraisal_view(a: Appraisal) -> View:
    return {
        "appraisal_id": a.appraisal_id,
        "community_code": a.community_code,
        "title": a.title,
        "subjects": a.subjects,
        "appraisers": len(a.appraisers),
        "graded": len(a.grades),
        "status": a.status.value,
        "results": a.results,
        "version": a.version,
    }


async def open_appraisal(
    ctx: Context, principal: Principal, cmd: OpenAppraisal, key: str | None
) -> tuple[View, bool]:
    Forum(ForumLevel.COMMUNITY, cmd.community_code)
    ensure_coordinator(principal, cmd.community_code)
    subjects = cmd.subject_person_ids or await ctx.directory.members_of(COMMITTEE_KINDS, cmd.community_code)
    appraisers = cmd.appraiser_person_ids or sorted(
        set(await ctx.households.representatives_of(cmd.community_code))
        | set(await ctx.directory.members_of(REPRESENTATIVE_KINDS, cmd.community_code))
    )
    appraisal = Appraisal.open(
        new_id("ap", principal, key), cmd.community_code, cmd.title, subjects, appraisers
    )
    stored, created = await ctx.uow.add(appraisal, fingerprint(key, cmd.__dict__))
    return appraisal_view(stored), created


async def grade(ctx: Context, principal: Principal, appraisal_id: str, grades: dict[str, Grade]) -> View:
    person = person_of(principal)
    appraisal, _ = await ctx.uow.change(Appraisal, appraisal_id, lambda a: a.grade(person, grades))
    return {"appraisal_id": appraisal_id, "graded": len(appraisal.grades)}


async def publish(ctx: Context, principal: Principal, appraisal_id: str) -> View:
    current = await ctx.uow.get(Appraisal, appraisal_id)
    ensure_coordinator(principal, current.community_code)
    appraisal, results = await ctx.uow.change(Appraisal, appraisal_id, lambda a: a.publish())
    competent = sum(1 for r in results if r.verdict == "competent")
    rates = [r.satisfaction for r in results]
    figures = [
        Figure("members appraised", Decimal(len(results))),
        Figure("representatives who graded", Decimal(len(appraisal.grades))),
        Figure("judged competent", Decimal(competent)),
        Figure("judged incompetent", Decimal(len(results) - competent)),
        Figure("average satisfaction", Decimal(str(round(float(sum(rates) / len(rates)), 4))), "ratio"),
    ]
    item = DisclosureItem.publish(
        f"ds-{appraisal_id}",
        appraisal.community_code,
        DisclosureKind.APPRAISAL,
        appraisal.title,
        "Democratic appraisal (民主评议) of the committee's members by the residents' representatives.",
        ctx.clock(),
        principal.subject,
        figures,
        appraisal_id,
    )
    await ctx.uow.add(item, Fingerprint("appraisal-published", appraisal_id))
    return appraisal_view(appraisal)


async def read(ctx: Context, principal: Principal, appraisal_id: str) -> View:
    appraisal = await ctx.uow.get(Appraisal, appraisal_id)
    if principal.has_role(Role.ADMIN, Role.COORDINATOR):
        ensure_coordinator(principal, appraisal.community_code)
    else:
        person = person_of(principal)
        if person not in appraisal.appraisers and person not in appraisal.subjects:
            raise PermissionDenied(
                "an appraisal is read by its representatives, its members and coordinators"
            )
    return appraisal_view(appraisal)
