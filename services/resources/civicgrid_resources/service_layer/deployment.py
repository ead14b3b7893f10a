"""Use cases for resources sinking down: report-in, confirmation, joining grids, a person's grids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from civicgrid_resources.domain.deployment import ReportInBasis, Resource, ResourceKind, TimeSlot
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ids import new_id
from civicgrid_resources.service_layer.ports import View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import PermissionDenied, RuleViolation


@dataclass(frozen=True)
class ReportIn:
    community_code: str
    kind: ResourceKind
    display_name: str
    basis: ReportInBasis = ReportInBasis.PAIRED
    person_id: str | None = None
    unit_id: str | None = None
    employer: str | None = None
    skills: list[str] = field(default_factory=list)
    availability: list[TimeSlot] = field(default_factory=list)
    contact_preference: str | None = None
    resource_id: str | None = None


def can_see(principal: Principal, resource: Resource) -> bool:
    """Coordinators of its community, and the person themselves."""
    return principal.can_manage(resource.community_code) or bool(
        resource.person_id and principal.is_person(resource.person_id)
    )


async def report_in(ctx: Context, principal: Principal, new: ReportIn) -> View:
    """A coordinator records a report-in; a member may report themselves in (双报到)."""
    reports_self = Role.MEMBER in principal.roles and new.person_id and principal.is_person(new.person_id)
    if not principal.can_manage(new.community_code) and not reports_self:
        raise PermissionDenied(
            f"{principal.subject} may not report in to {new.community_code}: a member reports in "
            "only themselves; a coordinator only within their region"
        )
    if not await ctx.places.community_known(new.community_code):
        raise RuleViolation(
            "community_known",
            f"community {new.community_code} is unknown: org-graph has not published it (yet)",
        )
    resource = Resource.report_in(
        resource_id=new.resource_id or new_id("res"),
        community_code=new.community_code,
        kind=new.kind,
        display_name=new.display_name,
        basis=new.basis,
        reported_at=ctx.now(),
        person_id=new.person_id,
        unit_id=new.unit_id,
        employer=new.employer,
        skills=list(new.skills),
        availability=list(new.availability),
        contact_preference=new.contact_preference,
    )
    await ctx.uow.add(resource)
    return await ctx.views.resource(resource.resource_id)


async def _store(ctx: Context, resource: Resource) -> View:
    await ctx.uow.save(resource)
    return await ctx.views.resource(resource.resource_id)


async def confirm(ctx: Context, principal: Principal, resource_id: str) -> View:
    resource = await ctx.uow.resources.get(resource_id)
    principal.ensure_can_manage(resource.community_code)
    resource.confirm(principal.person_id or principal.subject, ctx.now())
    return await _store(ctx, resource)


async def join_grid(
    ctx: Context,
    principal: Principal,
    resource_id: str,
    grid_id: str,
    role: str,
    start: date,
    end: date | None,
) -> View:
    resource = await ctx.uow.resources.get(resource_id)
    principal.ensure_can_manage(grid_id)
    if await ctx.places.grid(grid_id) is None:
        raise RuleViolation(
            "grid_known", f"grid {grid_id} is unknown here: org-graph has not published it (yet)"
        )
    resource.join_grid(grid_id, role, start, end)
    return await _store(ctx, resource)


async def leave_grid(
    ctx: Context, principal: Principal, resource_id: str, grid_id: str, end: date, reason: str | None
) -> View:
    resource = await ctx.uow.resources.get(resource_id)
    principal.ensure_can_manage(grid_id)
    resource.leave_grid(grid_id, end, reason)
    return await _store(ctx, resource)


async def read(ctx: Context, principal: Principal, resource_id: str) -> View:
    resource = await ctx.uow.resources.get(resource_id)
    if not can_see(principal, resource):
        raise PermissionDenied(f"{principal.subject} may not see resource {resource_id}")
    return await ctx.views.resource(resource_id)


async def search(
    ctx: Context, principal: Principal, community_code: str, kind: str | None, grid_id: str | None
) -> list[View]:
    principal.ensure_can_manage(community_code)
    return await ctx.views.resources(community_code, kind, grid_id, 1000)


async def person_grids(ctx: Context, principal: Principal, person_id: str) -> list[View]:
    """A person's grids across every community they reported in to."""
    resources = await ctx.uow.resources.of_person(person_id)
    if not principal.is_person(person_id) and Role.ADMIN not in principal.roles:
        resources = [r for r in resources if principal.can_manage(r.community_code)]
        if not resources:
            raise PermissionDenied("a member may only read their own grids")
    today = ctx.now().date()
    return [
        {
            "resource_id": resource.resource_id,
            "community_code": resource.community_code,
            "grid_id": post.grid_id,
            "role": post.role,
            "period_start": post.period_start.isoformat(),
            "period_end": post.period_end.isoformat() if post.period_end else None,
            "active": post.active_on(today),
        }
        for resource in resources
        for post in resource.grids
    ]
