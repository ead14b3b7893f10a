"""MongoDB collections of the service (works on FerretDB 1.24): one aggregate per document.

Every change is one document update carrying its events in the embedded outbox, guarded by the
document's ``version`` (optimistic concurrency: the loser gets a clear 409, never a lost update)
and by a per-document lease (``locks``: FerretDB 1.24 does not isolate concurrent updates).

Two small side collections keep the hot paths off full scans (FerretDB 1.24 on SQLite uses no
secondary index: every query not by ``_id`` reads the whole collection):

- ``outbox_pending``: one entry per document with unpublished events (the relay reads this);
- ``deadlines``: one entry per open request with its ``due_at`` and places (the SLA sweeper and the
  overdue figures read this).

They are written before the aggregate's own update, under its lease (a request's statistics journal
entry too, see ``statistics``): a crash in between leaves an entry that finds nothing to do, never a
change nobody looks at. ``reconcile`` (a periodic safety net for documents changed by hand) rebuilds
them from the documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_resources.adapters.appointments import MongoAppointments
from civicgrid_resources.adapters.documents import Document, request_fields
from civicgrid_resources.adapters.events import OutboxWriter
from civicgrid_resources.adapters.indexes import ensure_index
from civicgrid_resources.adapters.locks import DocumentLocks, upsert_fields
from civicgrid_resources.adapters.outbox import LockedEmbeddedOutbox
from civicgrid_resources.adapters.statistics import RequestStatistics
from civicgrid_resources.domain.requests import ServiceRequest
from civicgrid_runtime.errors import Conflict, NotFound
from civicgrid_runtime.stores.mongo import MongoInbox

T = TypeVar("T")
# (document id, the fields written, the document before the write or None for an insert)
AfterWrite = Callable[[str, Document, Document | None], Awaitable[None]]

OUTBOX_COLLECTIONS = ("requests", "resources", "teams", "needs", "points", "offers")
PLACE_KEYS = ("grid_id", "community_code", "street_code", "district_code", "city_code")


@dataclass(frozen=True)
class Change(Generic[T]):
    """What a read-modify-write computed: the fields to write, their events, and what to hand back."""

    fields: Document
    events: Sequence[CloudEvent]
    result: T


class AggregateCollection:
    """Insert and versioned save of aggregate documents with their outbox entries."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        outbox: OutboxWriter,
        what: str,
        locks: DocumentLocks,
        pending: LockedEmbeddedOutbox,
        after_write: AfterWrite | None = None,
        before_write: AfterWrite | None = None,
    ) -> None:
        self.collection = collection
        self._outbox = outbox
        self._what = what
        self._locks = locks
        self._pending = pending
        self._after_write = after_write
        self._before_write = before_write

    async def get(self, doc_id: str) -> Document:
        doc = await self.collection.find_one({"_id": doc_id}, {"outbox": 0})
        if doc is None:
            raise NotFound(f"no {self._what} {doc_id!r}")
        return doc

    async def find(self, doc_id: str) -> Document | None:
        return await self.collection.find_one({"_id": doc_id}, {"outbox": 0})

    async def _before(
        self, doc_id: str, fields: Document, events: Sequence[CloudEvent], previous: Document | None
    ) -> None:
        """Side entries that must exist before the document changes (a crash in between leaves an
        entry that finds nothing to do, never a change without its entry)."""
        if events:
            await self._pending.remember(self.collection.name, doc_id)
        if self._before_write is not None:
            await self._before_write(doc_id, fields, previous)

    async def insert(self, doc_id: str, fields: Document, events: Sequence[CloudEvent]) -> None:
        document = {"_id": doc_id, **fields, "version": 1, **self._outbox.new_document(events)}
        async with self._locks.hold(self.collection.name, doc_id):
            await self._before(doc_id, fields, events, None)
            try:
                await self.collection.insert_one(document)
            except DuplicateKeyError:
                raise Conflict(f"{self._what} {doc_id!r} already exists") from None
            if self._after_write is not None:
                await self._after_write(doc_id, fields, None)

    async def _conditional(
        self,
        doc_id: str,
        condition: Callable[[Document], bool],
        operations: Document,
        events: Sequence[CloudEvent],
        fields: Document | None = None,
    ) -> Document | None:
        """Apply ``operations`` if ``condition`` holds for the current document, under its lease;
        returns the document as it was before (None: not applied).

        The condition is checked here rather than in the update's filter: FerretDB 1.24 serves a filter
        on ``_id`` alone from its primary key but scans the whole collection when any other condition
        is added (measured: 44 ms per update on 100 documents, growing with the collection). Under the
        lease no other write to the document can come between the read and the update."""
        async with self._locks.hold(self.collection.name, doc_id):
            current = await self.collection.find_one({"_id": doc_id}, {"outbox": 0})
            if current is None or not condition(current):
                return None
            if fields is not None:
                await self._before(doc_id, fields, events, current)
            elif events:
                await self._pending.remember(self.collection.name, doc_id)
            await self.collection.update_one({"_id": doc_id}, operations)
            return current

    async def save(
        self,
        doc_id: str,
        expected_version: int,
        fields: Document,
        events: Sequence[CloudEvent],
        extra_filter: Document | None = None,
    ) -> bool:
        """Write ``fields`` if the document is still at ``expected_version`` (and has the values of
        ``extra_filter``); False if it moved on."""
        expected = {"version": expected_version, **(extra_filter or {})}

        def unchanged(current: Document) -> bool:
            # Documents stored before they had a version read as version 0.
            seen = {**current, "version": int(current.get("version", 0))}
            return all(seen.get(key) == value for key, value in expected.items())

        operations = {"$set": {**fields, **self._outbox.update(events)}, "$inc": {"version": 1}}
        previous = await self._conditional(doc_id, unchanged, operations, events, fields)
        if previous is not None and self._after_write is not None:
            await self._after_write(doc_id, fields, previous)
        return previous is not None

    async def save_or_conflict(
        self, doc_id: str, expected_version: int, fields: Document, events: Sequence[CloudEvent]
    ) -> None:
        if not await self.save(doc_id, expected_version, fields, events):
            raise Conflict(
                f"{self._what} {doc_id!r} was changed by someone else meanwhile (version {expected_version} "
                "is stale); reload it and try again",
                expected_version=expected_version,
            )

    async def modify(self, doc_id: str, transform: Callable[[Document], Change[T]]) -> T:
        """Read the document, let ``transform`` compute the fields to write and their events, and write
        them, all under the document's lease: writers of one document take turns instead of failing."""
        async with self._locks.hold(self.collection.name, doc_id):
            current = await self.collection.find_one({"_id": doc_id}, {"outbox": 0})
            if current is None:
                raise NotFound(f"no {self._what} {doc_id!r}")
            change = transform(current)
            await self._before(doc_id, change.fields, change.events, current)
            sets = {**change.fields, **self._outbox.update(change.events)}
            await self.collection.update_one({"_id": doc_id}, {"$set": sets, "$inc": {"version": 1}})
        if self._after_write is not None:
            await self._after_write(doc_id, change.fields, current)
        return change.result


class Deadlines:
    """Open requests by deadline: what the SLA sweeper and the overdue figures read.

    Written twice around a request's change: ``provisional`` before (never later than the deadline
    already tracked, and never marked exhausted, so a crash before the change leaves an entry the
    sweeper looks at early and corrects from the document), ``track`` after (the exact entry)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def provisional(self, request_id: str, fields: Document) -> None:
        if not fields.get("open"):
            return  # a request leaving the open states: ``track`` removes its entry afterwards
        places = {k: fields.get(k) for k in PLACE_KEYS}
        update = {"$min": {"due_at": fields["due_at"]}, "$set": {"exhausted": False, **places}}
        try:
            await self.collection.update_one({"_id": request_id}, update, upsert=True)
        except DuplicateKeyError:  # two first writers raced on the upsert: the loser updates
            await self.collection.update_one({"_id": request_id}, update)

    @staticmethod
    def entry(fields: Document) -> Document | None:
        """The entry of a request with these fields; None when it is no longer open."""
        if not fields.get("open"):
            return None
        return {
            "due_at": fields["due_at"],
            "exhausted": bool(fields.get("sla_exhausted")),
            **{k: fields.get(k) for k in PLACE_KEYS},
        }

    async def track(self, request_id: str, fields: Document) -> None:
        entry = self.entry(fields)
        if entry is None:
            await self.collection.delete_one({"_id": request_id})
            return
        await upsert_fields(self.collection, request_id, entry)

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Requests whose tracked deadline has passed, earliest first (the request document decides)."""
        match = {"due_at": {"$lte": now}, "exhausted": False}
        cursor = self.collection.find(match, {"_id": 1}).sort("due_at", 1).limit(limit)
        return [entry["_id"] async for entry in cursor]

    async def correct(self, request_id: str, request: ServiceRequest | None) -> None:
        if request is None:
            await self.collection.delete_one({"_id": request_id})
            return
        await self.track(request_id, request_fields(request))


class MongoStore:
    """The service's collections in one database."""

    def __init__(self, db: AsyncDatabase[Document], outbox: OutboxWriter) -> None:
        self.db = db
        self.locks = DocumentLocks(db["locks"])
        self.outbox = LockedEmbeddedOutbox(
            [db[name] for name in OUTBOX_COLLECTIONS], self.locks, db["outbox_pending"]
        )
        self.deadlines = Deadlines(db["deadlines"])

        def aggregate(name: str, what: str, after: AfterWrite | None = None) -> AggregateCollection:
            return AggregateCollection(db[name], outbox, what, self.locks, self.outbox, after)

        self.statistics = RequestStatistics(db, self.locks, db["requests"])

        async def before_request_write(request_id: str, fields: Document, previous: Document | None) -> None:
            version = int(previous.get("version", 0)) + 1 if previous is not None else 1
            await self.deadlines.provisional(request_id, fields)
            await self.statistics.record(request_id, version, previous, fields)

        async def after_request_write(request_id: str, fields: Document, previous: Document | None) -> None:
            if previous is not None:  # a new request's provisional entry is already exact
                await self.deadlines.track(request_id, fields)

        self.requests = AggregateCollection(
            db["requests"],
            outbox,
            "request",
            self.locks,
            self.outbox,
            after_request_write,
            before_request_write,
        )
        self.resources = aggregate("resources", "resource")
        self.teams = aggregate("teams", "team")
        self.needs = aggregate("needs", "need")
        self.points = aggregate("points", "points award")
        self.offers = aggregate("offers", "offer")
        self.places: AsyncCollection[Document] = db["places"]
        self.grids: AsyncCollection[Document] = db["grids"]
        self.inbox = MongoInbox(db["inbox"])
        self.appointments = MongoAppointments(db["appointments"], db["people"])

    async def reconcile(self) -> dict[str, int]:
        """Rebuild the side collections from the documents (after a crash between two writes)."""
        pending = await self.outbox.reconcile()
        tracked = 0
        async for doc in self.requests.collection.find({"open": 1}, {"outbox": 0, "timeline": 0}):
            await self.deadlines.track(doc["_id"], doc)
            tracked += 1
        return {"outbox_documents": pending, "open_requests": tracked}

    async def ensure_indexes(self) -> None:
        await self.outbox.ensure_indexes()
        requests = self.requests.collection
        await ensure_index(requests, [("open", ASCENDING), ("due_at", ASCENDING)])
        await ensure_index(requests, [("community_code", ASCENDING), ("received_at", DESCENDING)])
        await ensure_index(requests, [("street_code", ASCENDING)])
        await ensure_index(requests, [("city_code", ASCENDING), ("street_code", ASCENDING)])
        await ensure_index(requests, [("grid_id", ASCENDING)])
        await ensure_index(requests, [("resident_person_id", ASCENDING)])
        await ensure_index(self.deadlines.collection, [("due_at", ASCENDING)])
        await ensure_index(self.resources.collection, [("community_code", ASCENDING)])
        await ensure_index(self.resources.collection, [("person_id", ASCENDING)])
        await ensure_index(self.resources.collection, [("unit_id", ASCENDING)])
        await ensure_index(self.resources.collection, [("grid_ids", ASCENDING)])
        await ensure_index(self.points.collection, [("resource_id", ASCENDING)])
        await ensure_index(self.points.collection, [("community_code", ASCENDING)])
        await ensure_index(self.points.collection, [("grid_ids", ASCENDING)])
        await ensure_index(self.needs.collection, [("community_code", ASCENDING)])
        await ensure_index(self.offers.collection, [("community_code", ASCENDING)])
        await ensure_index(self.places, [("community_code", ASCENDING)])
