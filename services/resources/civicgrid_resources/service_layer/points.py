"""Service hours and points (积分制): an append-only ledger, one document per award.

An award's id is derived from what earned it, so the same task never pays twice.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from civicgrid_resources.adapters.aggregation import grouped_sums
from civicgrid_resources.adapters.documents import public
from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import points_for, redemption_rules, request_award_id
from civicgrid_resources.domain.requests import ServiceRequest
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ids import new_id
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import Conflict, InvalidInput, PermissionDenied

Document = dict[str, Any]
AWARD = "award"
REDEMPTION = "redemption"
BALANCE_LEASE = "point_balances"
EARNED: Document = {"points": {"$gt": 0}}
"""Rankings and service reports count what was earned; redemptions (negative entries) only lower
the balance."""


async def award(
    ctx: Context, *, award_id: str, resource_id: str, hours: float, reason: str, reference_id: str | None
) -> Document:
    """Points for service hours (a completed need)."""
    resource = await ctx.store.resources.get(resource_id)
    amount = points_for(hours, ctx.points_per_hour)
    return await _record(
        ctx,
        award_id=award_id,
        resource=resource,
        points=amount,
        hours=hours,
        reason=reason,
        reference_id=reference_id,
    )


async def _record(
    ctx: Context,
    *,
    award_id: str,
    resource: Document,
    points: int,
    hours: float,
    reason: str,
    reference_id: str | None,
) -> Document:
    resource_id = resource["_id"]
    events = ctx.outbox.translate(
        [
            ev.PointsAwarded(
                community_code=resource["community_code"],
                award_id=award_id,
                resource_id=resource_id,
                points=points,
                reason=reason,
                reference_id=reference_id,
            )
        ]
    )
    fields = {
        "kind": AWARD,
        "resource_id": resource_id,
        "person_id": resource.get("person_id"),
        "unit_id": resource.get("unit_id"),
        "community_code": resource["community_code"],
        "grid_ids": resource.get("grid_ids", []),
        "points": points,
        "hours": hours,
        "reason": reason,
        "reference_id": reference_id,
        "at": ctx.now(),
    }
    # Already awarded? The ledger is append-only and keyed by what earned the points.
    with contextlib.suppress(Conflict):
        await ctx.store.points.insert(award_id, fields, events)
    ctx.notify_relay()
    return public(await ctx.store.points.get(award_id))


async def award_for_request(ctx: Context, request: ServiceRequest) -> list[Document]:
    """Points for the people who handled a resolved request: each assignee that is a resource with
    a person earns ``points_per_request`` once per resolution (keyed ``<request>.<resource>.<n>``).

    Called after the resolution and again after the evaluation that closes it as resolved: the
    second call adds nothing, but completes the awards if the process died between the two writes."""
    if ctx.points_per_request <= 0:
        return []
    awarded = []
    for assignee in request.point_earners():
        resource = await ctx.store.resources.find(assignee.assignee_id)
        if resource is None or not resource.get("person_id"):
            continue  # a grid desk or a tier's office, not a resource with a person
        awarded.append(
            await _record(
                ctx,
                award_id=request_award_id(
                    request.request_id, assignee.assignee_id, request.resolution_round()
                ),
                resource=resource,
                points=ctx.points_per_request,
                hours=0.0,
                reason=f"request resolved: {request.category}"[:200],
                reference_id=request.request_id,
            )
        )
    return awarded


async def redeem(
    ctx: Context,
    principal: Principal,
    resource_id: str,
    points: int,
    item: str,
    redemption_id: str | None,
) -> Document:
    """积分兑换: a negative ledger entry, only from what the balance holds.

    The balance is the ledger's sum, read and debited under the resource's balance lease
    (``locks/point_balances:<resource>``): two redemptions of one resource run one after the other,
    each seeing the other's entry, so together they never overdraw (FerretDB 1.24 would not isolate
    two conditional updates of one document). Awards may run meanwhile: they only add."""
    resource = await ctx.store.resources.get(resource_id)
    principal.ensure_can_manage(resource["community_code"])
    redemption_id = redemption_id or new_id("redeem")
    async with ctx.store.locks.hold(BALANCE_LEASE, resource_id):
        existing = await ctx.store.points.find(redemption_id)
        if existing is not None:
            if existing.get("resource_id") != resource_id or existing.get("kind") != REDEMPTION:
                raise Conflict(f"ledger entry {redemption_id} already exists for something else")
            return public(existing)  # the same call again: nothing more is taken
        balance = await _net_points(ctx, resource_id)
        after = redemption_rules(balance, points)
        events = ctx.outbox.translate(
            [
                ev.PointsRedeemed(
                    community_code=resource["community_code"],
                    redemption_id=redemption_id,
                    resource_id=resource_id,
                    points=points,
                    item=item,
                    balance_after=after,
                )
            ]
        )
        fields = {
            "kind": REDEMPTION,
            "resource_id": resource_id,
            "person_id": resource.get("person_id"),
            "unit_id": resource.get("unit_id"),
            "community_code": resource["community_code"],
            "grid_ids": [],
            "points": -points,
            "hours": 0.0,
            "item": item,
            "reason": f"redeemed: {item}"[:200],
            "reference_id": None,
            "balance_after": after,
            "by": principal.person_id or principal.subject,
            "at": ctx.now(),
        }
        await ctx.store.points.insert(redemption_id, fields, events)
    ctx.notify_relay()
    return public(await ctx.store.points.get(redemption_id))


async def _net_points(ctx: Context, resource_id: str) -> int:
    sums = await grouped_sums(
        ctx.store.points.collection, {"resource_id": resource_id}, None, {"points": "$points"}
    )
    return int(sums.get(None, {"points": 0})["points"])


async def balance(ctx: Context, principal: Principal, resource_id: str) -> Document:
    resource = await ctx.store.resources.get(resource_id)
    person = resource.get("person_id")
    if not principal.can_manage(resource["community_code"]) and not (person and principal.is_person(person)):
        raise PermissionDenied(f"{principal.subject} may not see the points of {resource_id}")
    sums = await grouped_sums(
        ctx.store.points.collection,
        {"resource_id": resource_id},
        "kind",
        {"points": "$points", "hours": "$hours"},
    )
    earned = sum(row["points"] for kind, row in sums.items() if kind != REDEMPTION)
    redeemed = -sums.get(REDEMPTION, {"points": 0})["points"]
    hours = sum(row["hours"] for row in sums.values())
    entries = (
        ctx.store.points.collection.find({"resource_id": resource_id}, {"outbox": 0})
        .sort("at", -1)
        .limit(100)
    )
    return {
        "resource_id": resource_id,
        "points": int(earned - redeemed),
        "earned": int(earned),
        "redeemed": int(redeemed),
        "hours": float(hours),
        "entries": [public(e) async for e in entries],
    }


async def ranking(
    ctx: Context, principal: Principal, community_code: str | None, grid_id: str | None, limit: int
) -> Document:
    if (community_code is None) == (grid_id is None):
        raise InvalidInput("rank either a community (community_code) or a grid (grid_id)")
    scope = community_code or grid_id
    assert scope is not None
    principal.ensure_can_manage(scope)
    match: Document = {"community_code": community_code} if community_code else {"grid_ids": grid_id}
    match.update(EARNED)
    # One accumulator per $group (FerretDB 1.24 computes only the first): rank by points, then
    # fetch the hours of the ranked people.
    pipeline: list[Document] = [
        {"$match": match},
        {"$group": {"_id": "$resource_id", "points": {"$sum": "$points"}}},
        {"$sort": {"points": -1, "_id": 1}},
        {"$limit": limit},
    ]
    rows = await (await ctx.store.points.collection.aggregate(pipeline)).to_list(None)
    ids = [r["_id"] for r in rows]
    hours = await grouped_sums(
        ctx.store.points.collection,
        {**match, "resource_id": {"$in": ids}},
        "resource_id",
        {"hours": "$hours"},
    )
    return {
        "scope": scope,
        "ranking": [
            {
                "rank": i + 1,
                "resource_id": r["_id"],
                "points": int(r["points"]),
                "hours": float(hours.get(r["_id"], {}).get("hours", 0.0)),
            }
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
) -> Document:
    """The record of service that goes back to the employer: per person (resource) or per unit."""
    if (resource_id is None) == (unit_id is None):
        raise InvalidInput("report on either a resource or a unit")
    match: Document = {"resource_id": resource_id} if resource_id else {"unit_id": unit_id}
    resources = [d async for d in ctx.store.resources.collection.find(match, {"outbox": 0})]
    visible = [d for d in resources if principal.can_manage(d["community_code"])]
    if not visible:
        raise PermissionDenied("no resource of this report lies in the caller's region")
    ids = [d["_id"] for d in visible]
    rows = await grouped_sums(
        ctx.store.points.collection,
        {"resource_id": {"$in": ids}, "at": {"$gte": since, "$lt": until}, **EARNED},
        "resource_id",
        {"points": "$points", "hours": "$hours", "tasks": 1},
    )
    people = []
    for doc in visible:
        row = rows.get(doc["_id"], {})
        people.append(
            {
                "resource_id": doc["_id"],
                "display_name": doc["display_name"],
                "community_code": doc["community_code"],
                "status": doc["status"],
                "grids": doc.get("grid_ids", []),
                "tasks": int(row.get("tasks", 0)),
                "hours": float(row.get("hours", 0.0)),
                "points": int(row.get("points", 0)),
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
