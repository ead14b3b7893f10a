"""The embedded outbox of this service's aggregates, found through a small index and marked
published under the document's lease.

- The events live in the aggregate document (``outbox.<event id>``, ``outbox_pending``), written in
  the same update as the change: that is the guarantee.
- ``outbox_pending`` (a collection) names the documents that have unpublished events, so the relay
  reads a handful of entries instead of scanning every collection (FerretDB 1.24 scans for any
  query not by ``_id``). ``reconcile`` rebuilds it from the documents' own flags.
- Marking takes the document's lease: on FerretDB 1.24 an update racing with a state change of
  the same document can undo that change (see ``locks``); the runtime's ``MongoEmbeddedOutbox``
  marks without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_resources.adapters.documents import Document
from civicgrid_resources.adapters.indexes import ensure_index
from civicgrid_resources.adapters.locks import DocumentLocks, upsert_fields
from civicgrid_runtime.outbox import PendingEvent


class LockedEmbeddedOutbox:
    def __init__(
        self,
        collections: Sequence[AsyncCollection[Document]],
        locks: DocumentLocks,
        index: AsyncCollection[Document],
    ) -> None:
        self._collections = {c.name: c for c in collections}
        self._locks = locks
        self._index = index
        self._locations: dict[str, tuple[str, Any]] = {}
        self._fetched: dict[tuple[str, Any], tuple[int, frozenset[str]]] = {}

    async def ensure_indexes(self) -> None:
        for collection in self._collections.values():
            await ensure_index(collection, [("outbox_pending", 1)])

    async def remember(self, collection: str, doc_id: Any) -> None:
        key = f"{collection}:{doc_id}"
        await upsert_fields(self._index, key, {"collection": collection, "doc_id": doc_id})

    async def reconcile(self) -> int:
        found = 0
        for name, collection in self._collections.items():
            async for doc in collection.find({"outbox_pending": True}, {"_id": 1}):
                await self.remember(name, doc["_id"])
                found += 1
        return found

    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        pending: list[PendingEvent] = []
        async for entry in self._index.find({}).limit(limit):
            collection = self._collections[entry["collection"]]
            doc = await collection.find_one({"_id": entry["doc_id"]}, {"outbox": 1, "version": 1})
            outbox = (doc or {}).get("outbox") or {}
            if not outbox:
                await self._forget_if_empty(entry["collection"], entry["doc_id"])
                continue
            assert doc is not None
            self._fetched[(entry["collection"], entry["doc_id"])] = (doc.get("version", 0), frozenset(outbox))
            for event_id, item in outbox.items():
                self._locations[event_id] = (entry["collection"], entry["doc_id"])
                pending.append(
                    PendingEvent(event_id, str(item["topic"]), CloudEvent.model_validate(item["event"]))
                )
        pending.sort(key=lambda p: p.event.time)
        return pending

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None:
        by_doc: dict[tuple[str, Any], list[str]] = {}
        for entry in entries:
            by_doc.setdefault(self._locations.pop(entry.outbox_id), []).append(entry.outbox_id)
        for (name, doc_id), ids in by_doc.items():
            collection = self._collections[name]
            version, seen = self._fetched.pop((name, doc_id), (None, frozenset()))
            unset = {f"outbox.{i}": "" for i in ids}
            async with self._locks.hold(name, doc_id):
                # Filters by _id alone (FerretDB 1.24 scans for anything more); the lease holds
                # writers off between this read and the update.
                current = await collection.find_one({"_id": doc_id}, {"version": 1})
                if (
                    current is not None
                    and version is not None
                    and seen == set(ids)
                    and (current.get("version", 0) == version)
                ):
                    # Nothing was written since the fetch (every write bumps the version): the
                    # outbox is now empty, so clear the flag and the index entry at once.
                    await collection.update_one(
                        {"_id": doc_id}, {"$unset": unset, "$set": {"outbox_pending": False}}
                    )
                    await self._index.delete_one({"_id": f"{name}:{doc_id}"})
                    continue
                await collection.update_one({"_id": doc_id}, {"$unset": unset})
            await self._forget_if_empty(name, doc_id)

    async def _forget_if_empty(self, name: str, doc_id: Any) -> None:
        collection = self._collections[name]
        async with self._locks.hold(name, doc_id):
            doc = await collection.find_one({"_id": doc_id}, {"outbox": 1})
            if doc is not None and doc.get("outbox"):
                return
            if doc is not None:
                await collection.update_one({"_id": doc_id}, {"$set": {"outbox_pending": False}})
            await self._index.delete_one({"_id": f"{name}:{doc_id}"})
