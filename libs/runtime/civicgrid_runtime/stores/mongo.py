"""MongoDB (or FerretDB) helpers: one AsyncMongoClient per loop, inbox, and the embedded outbox.

Works on FerretDB 1.24: no transactions, no change streams; single-document atomicity only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from civicgrid_contracts.catalogue import topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.outbox import PendingEvent
from civicgrid_runtime.stores.pymongo_waits import make_condition_waits_cancellation_safe

Document = dict[str, Any]


# Outage behaviour (issue 8): an unavailable MongoDB/FerretDB fails a call in about 1.5 s (the HTTP
# layer answers 503); PyMongo finds a server that is back within ~0.5 s of the next call.
SERVER_SELECTION_TIMEOUT_MS = 1500
"""How long a call waits for a usable server (was 5 s: a dead FerretDB answered 500 after ~5 s; then
2 s: a write in flight when FerretDB died is retried once (retryable writes) and waits for a server
again, so its 503 came after 2.5 s on an idle machine and 3.2 s once under load, past the 3 s
contract; with 1.5 s, 2.0 s: tests/integration/runtime/test_store_outages.py)."""
CONNECT_TIMEOUT_MS = 1500
"""Opening a connection (the default, 20 s, would stall on a host that drops packets); loopback and
LAN servers connect in milliseconds."""
SOCKET_TIMEOUT_MS = 60_000
"""Waiting for one reply on an open connection: the bound on a server that hangs without closing
its connections. High enough for the slowest legitimate query on FerretDB (bulk statistics over a
million documents); a call that needs longer sets its own deadline with ``pymongo.timeout(s)``,
which replaces this one."""


def create_client(
    uri: str,
    app_name: str,
    *,
    server_selection_timeout_ms: int = SERVER_SELECTION_TIMEOUT_MS,
    connect_timeout_ms: int = CONNECT_TIMEOUT_MS,
    socket_timeout_ms: int | None = SOCKET_TIMEOUT_MS,
    **options: Any,
) -> AsyncMongoClient[Document]:
    """Create (not connect) a client; PyMongo connects lazily on first use.

    These keyword values take precedence over the same options in the URI. PyMongo's internal waits
    are first made safe to cancel (:mod:`civicgrid_runtime.stores.pymongo_waits`)."""
    make_condition_waits_cancellation_safe()
    return AsyncMongoClient(
        uri,
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=server_selection_timeout_ms,
        connectTimeoutMS=connect_timeout_ms,
        socketTimeoutMS=socket_timeout_ms,
        **options,
    )


async def ping(db: AsyncDatabase[Document]) -> None:
    await db.command("ping")


def outbox_entry(event: CloudEvent, topic: str | None = None) -> Document:
    """The sub-document stored under ``outbox.<event id>`` in the same update as the change."""
    return {
        "topic": topic or topic_for(event.type),
        "event": event.model_dump(mode="json"),
        "created_at": datetime.now(UTC),
    }


def outbox_update(events: Sequence[CloudEvent]) -> Document:
    """Update operators that add events to the document's embedded outbox and flag the document.

    The outbox is a map keyed by event id (``$set``/``$unset`` by key work on MongoDB and
    FerretDB alike; FerretDB's ``$pull`` takes no conditions). Merge the result with the
    change's own operators, e.g. ``{**outbox_update(events), "$inc": {...}}`` — when the change
    has its own ``$set``, use :func:`merge_updates`.
    """
    sets: Document = {f"outbox.{e.id}": outbox_entry(e) for e in events}
    sets["outbox_pending"] = True
    return {"$set": sets}


def merge_updates(*updates: Mapping[str, Any]) -> Document:
    """Merge update documents operator by operator (``$set`` with ``$set`` and so on)."""
    merged: Document = {}
    for update in updates:
        for operator, fields in update.items():
            merged.setdefault(operator, {}).update(fields)
    return merged


def new_document_outbox(events: Sequence[CloudEvent]) -> Document:
    """Fields for a document inserted together with its first events."""
    return {"outbox": {e.id: outbox_entry(e) for e in events}, "outbox_pending": bool(events)}


T = TypeVar("T")


async def upserting(operation: Callable[[], Awaitable[T]]) -> T:
    """Run an upsert by ``_id``; if a concurrent upsert of the same ``_id`` inserted first (E11000
    on the loser: FerretDB always, MongoDB outside the cases it retries itself), run it once more,
    when it matches the winner's document and updates it."""
    try:
        return await operation()
    except DuplicateKeyError:
        return await operation()


class MongoInbox:
    """Processed-event ids per consumer; the unique ``_id`` makes remembering idempotent."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def seen(self, consumer: str, event_id: str) -> bool:
        return await self._collection.find_one({"_id": f"{consumer}:{event_id}"}, {"_id": 1}) is not None

    async def remember(self, consumer: str, event_id: str) -> None:
        try:
            await self._collection.insert_one(
                {"_id": f"{consumer}:{event_id}", "consumer": consumer, "at": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            return


DocumentGuard = Callable[[str, Any], AbstractAsyncContextManager[object]]
"""``guard(collection_name, document_id)``: held around the relay's write to one document."""


class MongoEmbeddedOutbox:
    """Outbox entries embedded in aggregate documents (``outbox.<event id>``) of some collections.

    Marking published writes to the aggregate document. On MongoDB each update is atomic, so it
    cannot disturb a concurrent change of that document. On FerretDB 1.24 it can: the server reads,
    modifies and writes the whole document without isolation (measured: of 50 ``$set`` racing 50
    ``$unset`` of outbox entries on one document, 12 survived; even conditional updates matched
    several times), so the relay's mark can undo a change written at the same moment. A filter or
    version cannot fix that on FerretDB; only not racing can. Services whose documents change
    after their first write pass ``guard``: the same per-document lease their own writes hold
    (e.g. resources' ``DocumentLocks.hold``); the relay then marks under it.
    """

    def __init__(
        self, collections: Sequence[AsyncCollection[Document]], guard: DocumentGuard | None = None
    ) -> None:
        self._collections = {c.name: c for c in collections}
        self._locations: dict[str, tuple[str, Any]] = {}
        self._guard = guard

    async def ensure_indexes(self) -> None:
        for collection in self._collections.values():
            await collection.create_index("outbox_pending")

    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        pending: list[PendingEvent] = []
        for name, collection in self._collections.items():
            cursor = collection.find({"outbox_pending": True}, {"outbox": 1}).limit(limit)
            async for doc in cursor:
                for event_id, entry in (doc.get("outbox") or {}).items():
                    self._locations[event_id] = (name, doc["_id"])
                    pending.append(_pending(event_id, entry))
        pending.sort(key=lambda p: p.event.time)
        return pending[:limit]

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None:
        by_doc: dict[tuple[str, Any], list[str]] = {}
        for entry in entries:
            location = self._locations.pop(entry.outbox_id)
            by_doc.setdefault(location, []).append(entry.outbox_id)
        for (name, doc_id), ids in by_doc.items():
            if self._guard is None:
                await self._mark(name, doc_id, ids)
            else:
                async with self._guard(name, doc_id):
                    await self._mark(name, doc_id, ids)

    async def _mark(self, name: str, doc_id: Any, ids: Sequence[str]) -> None:
        collection = self._collections[name]
        await collection.update_one({"_id": doc_id}, {"$unset": {f"outbox.{i}": "" for i in ids}})
        # Only when nothing is left: an entry added since (MongoDB) keeps the flag set.
        await collection.update_one({"_id": doc_id, "outbox": {}}, {"$set": {"outbox_pending": False}})


def _pending(event_id: str, entry: Mapping[str, Any]) -> PendingEvent:
    return PendingEvent(
        outbox_id=event_id,
        topic=str(entry["topic"]),
        event=CloudEvent.model_validate(entry["event"]),
    )
