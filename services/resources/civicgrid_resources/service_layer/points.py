"""Service hours and points (积分制): an append-only ledger, one entry per award or redemption.

An award's id is derived from what earned it, so the same task never pays twice.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from civicgrid_resources.domain.deployment import points_for, request_award_id
from civicgrid_resources.domain.points import EntryKind, PointsEntry
from civicgrid_resources.domain.requests import ServiceRequest
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ids import new_id
from civicgrid_resources.service_layer.ports import View
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, InvalidInput, PermissionDenied


async def award(
    ctx: Context, *, award_id: str, resource_id: str, hours: float, reason: str, reference_id: str | None
) -> View:
    """Points for service hours (a completed need)."""
    resource = await ctx.uow.resources.get(resource_id)
    entry = PointsEntry.award(
        award_id, resource, points_for(hours, ctx.points_per_hour), hours, reason, reference_id, ctx.now()
    )
    await _record(ctx, entry)
    return await ctx.views.points_entry(award_id)


async def _record(ctx: Context, entry: PointsEntry) -> None:
    # Already awarded? The ledger is append-only and keyed by what earned the points.
    with contextlib.suppress(Conflict):
        await ctx.uow.add(entry)


async def award_for_request(ctx: Context, request: ServiceRequest) -> list[str]:
    """Points for the people who handled a resolved request: each earner that is a resource with a
    person earns ``points_per_request`` once per resolution (keyed ``<request>.<resource>.<n>``).

    Called after the resolution and again after the evaluation that closes it as resolved: the
    second call adds nothing, but completes the awards if the process died between the two writes.
    Returns the award ids."""
    if ctx.points_per_request <= 0:
        return []
    awarded = []
    for assignee in request.point_earners():
        resource = await ctx.uow.resources.find(assignee.assignee_id)
        if resource is None or not resource.person_id:
            continue  # a grid desk or a tier's office, not a resource with a person
        award_id = request_award_id(request.request_id, assignee.assignee_id, request.resolution_round())
        entry = PointsEntry.award(
            award_id,
            resource,
            ctx.points_per_request,
            0.0,
            f"request resolved: {request.category}",
            request.request_id,
            ctx.now(),
        )
        await _record(ctx, entry)
        awarded.append(award_id)
    return awarded


async def redeem(
    ctx: Context,
    principal: Principal,
    resource_id: str,
    points: int,
    item: str,
    redemption_id: str | None,
) -> View:
    """积分兑换: a negative ledger entry, only from what the balance holds.

    The balance is read and debited while the resource's balance changes take turns
    (``PointsLedger.exclusive``): two redemptions of one resource never overdraw it together.
    Awards may run meanwhile: they only add."""
    resource = await ctx.uow.resources.get(resource_id)
    principal.ensure_can_manage(resource.community_code)
    redemption_id = redemption_id or new_id("redeem")
    async with ctx.uow.points.exclusive(resource_id):
        existing = await ctx.uow.points.find(redemption_id)
        if existing is not None:
            if existing.resource_id != resource_id or existing.kind is not EntryKind.REDEMPTION:
                raise Conflict(f"ledger entry {redemption_id} already exists for something else")
            return await ctx.views.points_entry(redemption_id)  # the same call again: nothing more
        balance = await ctx.uow.points.balance(resource_id)
        by = principal.person_id or principal.subject
        entry = PointsEntry.redemption(redemption_id, resource, balance, points, item, by, ctx.now())
        await ctx.uow.add(entry)
    return await ctx.views.points_entry(redemption_id)


async def balance(ctx: Context, principal: Principal, resource_id: str) -> View:
    resource = await ctx.uow.resources.get(resource_id)
    if not principal.can_manage(resource.community_code) and not (
        resource.person_id and principal.is_person(resource.person_id)
    ):
        raise PermissionDenied(f"{principal.subject} may not see the points of {resource_id}")
    sums = await ctx.views.points_of(resource_id, 100)
    return {
        "resource_id": resource_id,
        "points": sums.earned - sums.redeemed,
        "earned": sums.earned,
        "redeemed": sums.redeemed,
        "hours": sums.hours,
        "entries": sums.entries,
    }


async def ranking(
    ctx: Context, principal: Principal, community_code: str | None, grid_id: str | None, limit: int
) -> View:
    if (community_code is None) == (grid_id is None):
        raise InvalidInput("rank either a community (community_code) or a grid (grid_id)")
    scope = community_code or grid_id
    assert scope is not None
    principal.ensure_can_manage(scope)
    rows = await ctx.views.ranking(community_code, grid_id, limit)
    return {
        "scope": scope,
        "ranking": [
            {"rank": i + 1, "resource_id": r.resource_id, "points": r.points, "hours": r.hours}
            for i, r in enumerate(rows)
        ],
    }


async def service_report(
    ctx: Context,
    principal: Principal,
    *,
    resource_id: str | None,
    unit_id: str | None,
    since: datetime,
    until: datetime,
) -> View:
    """The record of service that goes back to the employer: per person (resource) or per unit."""
    if (resource_id is None) == (unit_id is None):
        raise InvalidInput("report on either a resource or a unit")
    if resource_id is not None:
        found = await ctx.uow.resources.find(resource_id)
        resources = [found] if found is not None else []
    else:
        assert unit_id is not None
        resources = await ctx.uow.resources.of_unit(unit_id)
    visible = [r for r in resources if principal.can_manage(r.community_code)]
    if not visible:
        raise PermissionDenied("no resource of this report lies in the caller's region")
    sums = await ctx.views.service_sums([r.resource_id for r in visible], since, until)
    people = []
    for resource in visible:
        row = sums.get(resource.resource_id)
        people.append(
            {
                "resource_id": resource.resource_id,
                "display_name": resource.display_name,
                "community_code": resource.community_code,
                "status": resource.status.value,
                "grids": resource.current_grid_ids(),
                "tasks": row.tasks if row else 0,
                "hours": row.hours if row else 0.0,
                "points": row.points if row else 0,
            }
        )
    return {
        "resource_id": resource_id,
        "unit_id": unit_id,
        "since": since,
        "until": until,
        "total_hours": sum(p["hours"] for p in people),
        "total_points": sum(p["points"] for p in people),
        "resources": people,
    }
