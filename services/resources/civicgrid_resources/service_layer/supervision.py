"""Supervision (全过程监督评价): overdue requests and response/resolution/satisfaction rates.

The rates come from the statistics the store keeps per community and grid (``Dashboards``), so a
city's dashboard reads a few thousand small documents, not a year of requests; the overdue figures
from the deadlines of open requests.
"""

from __future__ import annotations

from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.ports import Region, View
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import InvalidInput
from civicgrid_runtime.regions import region_prefix

GROUPS = ("grid", "community", "street", "district")
_LEVELS = {2: "province", 4: "city", 6: "district", 9: "street", 12: "community"}


def region_of(principal: Principal, region: str) -> Region:
    """A grid id (15 digits) or a region code, within the caller's scope."""
    if len(region) == 15 and region.isdigit():
        principal.ensure_can_manage(region)
        return Region("grid", region)
    try:
        prefix = region_prefix(region)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    principal.ensure_can_manage(prefix.ljust(12, "0") if len(prefix) < 12 else prefix)
    return Region(_LEVELS[len(prefix)], prefix)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def rates(ctx: Context, principal: Principal, region: str, group_by: str) -> View:
    if group_by not in GROUPS:
        raise InvalidInput(f"group_by must be one of {', '.join(GROUPS)}")
    scope = region_of(principal, region)
    sums = await ctx.dashboards.counters(scope, group_by)
    overdue = await ctx.dashboards.overdue_counts(scope, group_by, ctx.now())
    groups = []
    for key in sorted(sums, key=lambda k: (k is None, str(k))):
        row = sums[key]
        if row.total == 0:
            continue
        groups.append(
            {
                group_by: key,
                "total": row.total,
                "open": row.open,
                "overdue": overdue.get(key, 0),
                "escalated": row.escalated,
                "response_rate": _rate(row.responded, row.total),
                "resolution_rate": _rate(row.resolved, row.total),
                "satisfaction_rate": _rate(row.satisfied, row.evaluated),
                "average_rating": _rate(row.rating_sum, row.evaluated),
            }
        )
    return {"region": region, "group_by": group_by, "groups": groups}


async def overdue(ctx: Context, principal: Principal, region: str, limit: int) -> list[View]:
    """Open requests past their deadline, oldest deadline first."""
    return await ctx.dashboards.overdue(region_of(principal, region), ctx.now(), limit)


async def rebuild_statistics(ctx: Context) -> View:
    """Recompute the statistics from the request documents (a repair tool for hand-edited documents)."""
    return {"requests_read": await ctx.dashboards.rebuild()}


async def fold_statistics(ctx: Context) -> int:
    """The background step that keeps the statistics small to read; returns the request writes folded."""
    return await ctx.dashboards.fold()
