"""Supervision figures from MongoDB: the statistics of requests by place, and the overdue entries."""

from __future__ import annotations

from datetime import datetime

from civicgrid_resources.adapters.aggregation import grouped_sums
from civicgrid_resources.adapters.documents import Document, public
from civicgrid_resources.adapters.mongo import MongoStore
from civicgrid_resources.adapters.statistics import COUNTERS
from civicgrid_resources.service_layer.ports import Counters, Region, View

LEVEL_FIELDS = {
    "grid": "grid_id",
    "community": "community_code",
    "street": "street_code",
    "district": "district_code",
    "city": "city_code",
}


def region_filter(region: Region) -> Document:
    if region.level == "province":  # its cities' codes start with it
        return {"city_code": {"$gte": region.code, "$lt": region.code + "z"}}
    return {LEVEL_FIELDS[region.level]: region.code}


class MongoDashboards:
    def __init__(self, store: MongoStore) -> None:
        self._store = store

    async def counters(self, region: Region, group_by: str) -> dict[str | None, Counters]:
        field = LEVEL_FIELDS[group_by]
        sums: dict[str | None, dict[str, int]] = {}
        for bucket in await self._store.statistics.read(region_filter(region)):
            row = sums.setdefault(bucket.get(field), dict.fromkeys(COUNTERS, 0))
            for name, value in (bucket.get("c") or {}).items():
                if name in row:
                    row[name] += int(value)
        return {key: Counters(**row) for key, row in sums.items()}

    async def overdue_counts(self, region: Region, group_by: str, now: datetime) -> dict[str | None, int]:
        match = {**region_filter(region), "due_at": {"$lte": now}}
        rows = await grouped_sums(self._store.deadlines.collection, match, LEVEL_FIELDS[group_by], {"n": 1})
        return {key: int(row["n"]) for key, row in rows.items()}

    async def overdue_by_tier(self, now: datetime) -> dict[str, int]:
        """Open requests past their deadline, counted by the tier handling them (for ``/metrics``)."""
        match = {"open": True, "due_at": {"$lte": now}}
        rows = await grouped_sums(self._store.requests.collection, match, "tier", {"n": 1})
        return {str(key or "none"): int(row["n"]) for key, row in rows.items()}

    async def overdue(self, region: Region, now: datetime, limit: int) -> list[View]:
        """Open requests past their deadline, oldest deadline first (from the ``deadlines`` entries)."""
        match = {**region_filter(region), "due_at": {"$lte": now}}
        entries = self._store.deadlines.collection.find(match, {"_id": 1}).sort("due_at", 1).limit(limit)
        found = []
        async for entry in entries:
            doc = await self._store.requests.collection.find_one(
                {"_id": entry["_id"]}, {"outbox": 0, "timeline": 0}
            )
            if doc is not None and doc.get("open"):
                found.append(public(doc))
        return found

    async def rebuild(self) -> int:
        return await self._store.statistics.rebuild()

    async def fold(self) -> int:
        return await self._store.statistics.fold()
