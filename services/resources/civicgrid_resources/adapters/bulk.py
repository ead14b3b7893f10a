"""Loading a history in bulk (a migration, the benchmark's year of a city): documents written straight
into the store with the service's own mapping, side entries and statistics made to agree with them.

Not for a running service's traffic: nothing is published (the documents carry no outbox events) and
the statistics buckets are replaced by what was loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from civicgrid_resources.adapters.documents import Document, request_fields, resource_fields
from civicgrid_resources.adapters.locks import DocumentLocks
from civicgrid_resources.adapters.mongo import Deadlines
from civicgrid_resources.adapters.statistics import RequestStatistics, Totals
from civicgrid_resources.domain.deployment import Resource
from civicgrid_resources.domain.requests import ServiceRequest

BATCH = 5000


@dataclass(frozen=True)
class Loaded:
    documents: int
    open_requests_tracked: int = 0
    statistics_buckets: int = 0


async def _insert(db: AsyncDatabase[Document], collection: str, batch: list[Document]) -> None:
    if batch:
        await db[collection].insert_many(batch, ordered=False)
        batch.clear()


async def load_requests(db: AsyncDatabase[Document], requests: Iterable[ServiceRequest]) -> Loaded:
    """Requests as stored documents, their deadlines, and the statistics summed from them."""
    totals = Totals()
    batch: list[Document] = []
    deadlines: list[Document] = []
    count = tracked = 0
    for request in requests:
        fields = request_fields(request)
        totals.add(fields)
        batch.append(
            {"_id": request.request_id, **fields, "version": 1, "outbox": {}, "outbox_pending": False}
        )
        entry = Deadlines.entry(fields)
        if entry is not None:
            deadlines.append({"_id": request.request_id, **entry})
        count += 1
        if len(batch) >= BATCH:
            await _insert(db, "requests", batch)
        if len(deadlines) >= BATCH:
            tracked += len(deadlines)
            await _insert(db, "deadlines", deadlines)
    tracked += len(deadlines)
    await _insert(db, "requests", batch)
    await _insert(db, "deadlines", deadlines)
    statistics = RequestStatistics(db, DocumentLocks(db["locks"]), db["requests"])
    await statistics.replace_all(totals)
    return Loaded(count, tracked, len(totals.buckets))


async def load_resources(db: AsyncDatabase[Document], resources: Iterable[Resource]) -> Loaded:
    batch: list[Document] = []
    count = 0
    for resource in resources:
        batch.append({"_id": resource.resource_id, **resource_fields(resource), "version": 1, "outbox": {}})
        count += 1
        if len(batch) >= BATCH:
            await _insert(db, "resources", batch)
    await _insert(db, "resources", batch)
    return Loaded(count)
