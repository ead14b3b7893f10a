"""Supervision (全过程监督评价): overdue requests and response/resolution/satisfaction rates.

The rates come from the pre-aggregated buckets (``adapters.statistics``: one small document per
community and grid, kept by every request write), so a city's dashboard reads a few thousand
documents, not a year of requests; the overdue figures from the ``deadlines`` side collection
(open requests only).
"""

from __future__ import annotations

from typing import Any

from civicgrid_resources.adapters.aggregation import grouped_sums
from civicgrid_resources.adapters.documents import public
from civicgrid_resources.adapters.statistics import COUNTERS
from civicgrid_resources.service_layer.context import Context
from civicgrid_runtime.auth import Principal
from civicgrid_runtime.errors import InvalidInput
from civicgrid_runtime.regions import region_prefix

Document = dict[str, Any]

# region scope → (filter field, prefix length); group level → grouping field
_SCOPE_FIELDS = {2: "city_code", 4: "city_code", 6: "district_code", 9: "street_code", 12: "community_code"}
GROUPS = {
    "grid": "grid_id",
    "community": "community_code",
    "street": "street_code",
    "district": "district_code",
}


def scope_filter(principal: Principal, region: str) -> Document:
    if len(region) == 15 and region.isdigit():
        principal.ensure_can_manage(region)
        return {"grid_id": region}
    try:
        prefix = region_prefix(region)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    principal.ensure_can_manage(prefix.ljust(12, "0") if len(prefix) < 12 else prefix)
    if len(prefix) == 2:
        return {"city_code": {"$gte": prefix, "$lt": prefix + "z"}}
    return {_SCOPE_FIELDS[len(prefix)]: prefix}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def rates(ctx: Context, principal: Principal, region: str, group_by: str) -> Document:
    if group_by not in GROUPS:
        raise InvalidInput(f"group_by must be one of {', '.join(GROUPS)}")
    match = scope_filter(principal, region)
    field = GROUPS[group_by]
    sums: dict[Any, dict[str, int]] = {}
    for bucket in await ctx.store.statistics.read(match):
        row = sums.setdefault(bucket.get(field), dict.fromkeys(COUNTERS, 0))
        for name, value in (bucket.get("c") or {}).items():
            if name in row:
                row[name] += int(value)
    overdue = await grouped_sums(
        ctx.store.deadlines.collection, {**match, "due_at": {"$lte": ctx.now()}}, field, {"n": 1}
    )
    groups = []
    for key in sorted(sums, key=lambda k: (k is None, str(k))):
        row = sums[key]
        if row["total"] == 0:
            continue
        total = row["total"]
        groups.append(
            {
                group_by: key,
                "total": total,
                "open": row["open"],
                "overdue": int(overdue.get(key, {}).get("n", 0)),
                "escalated": row["escalated"],
                "response_rate": _rate(row["responded"], total),
                "resolution_rate": _rate(row["resolved"], total),
                "satisfaction_rate": _rate(row["satisfied"], row["evaluated"]),
                "average_rating": _rate(row["rating_sum"], row["evaluated"]),
            }
        )
    return {"region": region, "group_by": group_by, "groups": groups}


async def overdue(ctx: Context, principal: Principal, region: str, limit: int) -> list[Document]:
    """Open requests past their deadline, oldest deadline first (from the ``deadlines`` entries)."""
    match = {**scope_filter(principal, region), "due_at": {"$lte": ctx.now()}}
    entries = ctx.store.deadlines.collection.find(match, {"_id": 1}).sort("due_at", 1).limit(limit)
    found = []
    async for entry in entries:
        doc = await ctx.store.requests.collection.find_one(
            {"_id": entry["_id"]}, {"outbox": 0, "timeline": 0}
        )
        if doc is not None and doc.get("open"):
            found.append(public(doc))
    return found


async def rebuild_statistics(ctx: Context) -> Document:
    """After a crash between a request's write and its bucket's (the bucket is then off by one)."""
    read = await ctx.store.statistics.rebuild(ctx.store.requests.collection)
    return {"requests_read": read}
