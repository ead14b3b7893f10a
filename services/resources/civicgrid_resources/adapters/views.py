"""The read model: stored documents as the API shows them, and the sums behind points and reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from civicgrid_resources.adapters.aggregation import grouped_sums
from civicgrid_resources.adapters.documents import Document, public
from civicgrid_resources.adapters.mongo import MongoStore
from civicgrid_resources.domain.points import EntryKind
from civicgrid_resources.service_layer.ports import PointsSums, RankRow, RequestQuery, ServiceSums, View

EARNED: Document = {"points": {"$gt": 0}}
"""Rankings and service reports count what was earned; redemptions (negative entries) only lower
the balance."""
LISTED: Document = {"outbox": 0, "timeline": 0}


class MongoViews:
    def __init__(self, store: MongoStore) -> None:
        self._store = store

    async def request(self, request_id: str) -> View:
        return public(await self._store.requests.get(request_id))

    async def requests(self, query: RequestQuery, limit: int) -> list[View]:
        match = {key: value for key, value in vars(query).items() if value is not None}
        cursor = self._store.requests.collection.find(match, LISTED).sort("received_at", -1).limit(limit)
        return [public(d) async for d in cursor]

    async def resource(self, resource_id: str) -> View:
        return public(await self._store.resources.get(resource_id))

    async def resources(
        self, community_code: str, kind: str | None, grid_id: str | None, limit: int
    ) -> list[View]:
        match: Document = {"community_code": community_code}
        if kind:
            match["kind"] = kind
        if grid_id:
            match["grid_ids"] = grid_id
        cursor = self._store.resources.collection.find(match, {"outbox": 0}).sort("_id", 1).limit(limit)
        return [public(d) async for d in cursor]

    async def team(self, team_id: str) -> View | None:
        doc = await self._store.teams.find(team_id)
        return None if doc is None else public(doc)

    async def need(self, need_id: str) -> View:
        doc = dict(await self._store.needs.get(need_id))
        on_list = doc.pop("list", "needs")
        return {**public(doc), "on_list": on_list}

    async def needs(self, community_code: str, projects: bool = False) -> list[View]:
        # Filtered here, not in the query: needs stored before the projects list have no "list"
        # (and FerretDB reads the collection for this query anyway).
        cursor = self._store.needs.collection.find({"community_code": community_code}, {"outbox": 0})
        found = []
        async for d in cursor.sort("_id", 1):
            on_list = d.pop("list", "needs")
            if (on_list == "projects") == projects:
                found.append({**public(d), "on_list": on_list})
        return found

    async def offer(self, offer_id: str) -> View:
        return public(await self._store.offers.get(offer_id))

    async def offers_in_street(self, street_code: str) -> list[View]:
        match = {"community_code": {"$gte": street_code, "$lt": street_code + "z"}}
        return [public(d) async for d in self._store.offers.collection.find(match, {"outbox": 0})]

    async def points_entry(self, entry_id: str) -> View:
        return public(await self._store.points.get(entry_id))

    async def points_of(self, resource_id: str, entries: int) -> PointsSums:
        ledger = self._store.points.collection
        sums = await grouped_sums(
            ledger, {"resource_id": resource_id}, "kind", {"points": "$points", "hours": "$hours"}
        )
        redemption = EntryKind.REDEMPTION.value
        cursor = ledger.find({"resource_id": resource_id}, {"outbox": 0}).sort("at", -1).limit(entries)
        return PointsSums(
            earned=int(sum(row["points"] for kind, row in sums.items() if kind != redemption)),
            redeemed=int(-sums.get(redemption, {"points": 0})["points"]),
            hours=float(sum(row["hours"] for row in sums.values())),
            entries=[public(e) async for e in cursor],
        )

    async def ranking(self, community_code: str | None, grid_id: str | None, limit: int) -> list[RankRow]:
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
        ledger = self._store.points.collection
        rows = await (await ledger.aggregate(pipeline)).to_list(None)
        ids = [r["_id"] for r in rows]
        hours = await grouped_sums(
            ledger, {**match, "resource_id": {"$in": ids}}, "resource_id", {"hours": "$hours"}
        )
        return [
            RankRow(r["_id"], int(r["points"]), float(hours.get(r["_id"], {}).get("hours", 0.0)))
            for r in rows
        ]

    async def service_sums(
        self, resource_ids: Sequence[str], since: datetime, until: datetime
    ) -> Mapping[str, ServiceSums]:
        rows = await grouped_sums(
            self._store.points.collection,
            {"resource_id": {"$in": list(resource_ids)}, "at": {"$gte": since, "$lt": until}, **EARNED},
            "resource_id",
            {"points": "$points", "hours": "$hours", "tasks": 1},
        )
        return {
            key: ServiceSums(
                int(row.get("tasks", 0)), float(row.get("hours", 0.0)), int(row.get("points", 0))
            )
            for key, row in rows.items()
        }
