"""Pre-aggregated request statistics: what the supervisors' dashboards read.

One document per community and grid (``<community>:<grid>``, ``<community>:-`` for requests in no
grid) holding the sums of the requests' 0/1 counters (``open``, ``m_responded``…). Every write of a
request adds the difference between its new and its previous counters, under the bucket's lease
(FerretDB 1.24 does not isolate concurrent ``$inc``). A request moved to another grid leaves one
bucket and enters the other.

The dashboards then read a few thousand small documents for a whole city instead of a year of
requests. The request documents stay the truth: a crash between a request's write and its bucket's
leaves the bucket off by that one request until ``rebuild`` recomputes every bucket from the
documents (``POST /supervision/statistics/rebuild``, or the periodic reconciler when enabled).
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from civicgrid_resources.adapters.locks import DocumentLocks

Document = dict[str, Any]

# counter name → the request document's field (``None``: every request counts 1)
COUNTERS: dict[str, str | None] = {
    "total": None,
    "open": "open",
    "responded": "m_responded",
    "resolved": "m_resolved",
    "evaluated": "m_evaluated",
    "satisfied": "m_satisfied",
    "rating_sum": "m_rating",
    "escalated": "m_escalated",
}
PLACE_FIELDS = ("community_code", "grid_id", "street_code", "district_code", "city_code")


def bucket_of(request: Document) -> str:
    return f"{request['community_code']}:{request.get('grid_id') or '-'}"


def counters_of(request: Document | None) -> dict[str, int]:
    if request is None:
        return dict.fromkeys(COUNTERS, 0)
    return {name: 1 if field is None else int(request.get(field) or 0) for name, field in COUNTERS.items()}


def changes(previous: Document | None, current: Document) -> dict[str, tuple[Document, dict[str, int]]]:
    """``{bucket: (its place fields, counter increments)}`` for one request write; empty if nothing
    the dashboards count changed."""
    result: dict[str, tuple[Document, dict[str, int]]] = {}

    def add(request: Document, sign: int, counters: dict[str, int]) -> None:
        key = bucket_of(request)
        place = {field: request.get(field) for field in PLACE_FIELDS}
        _, increments = result.setdefault(key, (place, dict.fromkeys(COUNTERS, 0)))
        for name, value in counters.items():
            increments[name] += sign * value

    if previous is not None:
        add(previous, -1, counters_of(previous))
    add(current, 1, counters_of(current))
    return {key: (place, inc) for key, (place, inc) in result.items() if any(inc.values())}


class RequestStatistics:
    def __init__(self, collection: AsyncCollection[Document], locks: DocumentLocks) -> None:
        self.collection = collection
        self._locks = locks

    async def record(self, previous: Document | None, current: Document) -> None:
        for key, (place, increments) in changes(previous, current).items():
            await self._add(key, place, increments)

    async def _add(self, key: str, place: Document, increments: dict[str, int]) -> None:
        async with self._locks.hold(self.collection.name, key):
            await self.collection.update_one(
                {"_id": key},
                {"$set": place, "$inc": {f"c.{name}": value for name, value in increments.items()}},
                upsert=True,
            )

    async def read(self, match: Document) -> list[Document]:
        """The buckets whose place fields match (a small collection: scanned, fine on FerretDB)."""
        return [doc async for doc in self.collection.find(match)]

    async def rebuild(self, requests: AsyncCollection[Document]) -> int:
        """Recompute every bucket from the request documents (one pass); returns the requests read."""
        totals = Totals()
        fields = {field: 1 for field in PLACE_FIELDS} | {f: 1 for f in COUNTERS.values() if f}
        read = 0
        async for doc in requests.find({}, fields):
            read += 1
            totals.add(doc)
        await self.replace_all(totals)
        return read

    async def replace_all(self, totals: Totals) -> None:
        """Make the buckets exactly ``totals`` (buckets not in it are removed)."""
        for key, (place, sums) in totals.buckets.items():
            async with self._locks.hold(self.collection.name, key):
                await self.collection.replace_one({"_id": key}, {**place, "c": sums}, upsert=True)
        async for doc in self.collection.find({}, {"_id": 1}):
            if doc["_id"] not in totals.buckets:
                await self.collection.delete_one({"_id": doc["_id"]})


class Totals:
    """Buckets summed in memory from whole request documents (a rebuild, a bulk load)."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[Document, dict[str, int]]] = {}

    def add(self, request: Document) -> None:
        for key, (place, increments) in changes(None, request).items():
            _, sums = self.buckets.setdefault(key, (place, dict.fromkeys(COUNTERS, 0)))
            for name, value in increments.items():
                sums[name] += value
