"""Per-document write leases, because FerretDB 1.24 does not apply concurrent updates atomically.

Measured on FerretDB 1.24.2 (SQLite backend) with PyMongo: 50 concurrent ``$inc`` on one document
left 10; 10 concurrent ``update_one({_id, version: 0}, ...)`` matched 3-10 times instead of once
(and ``find_one_and_update`` likewise): the server reads, modifies and writes the whole document
without isolation. Inserts, however, are atomic (the unique ``_id`` is enforced by SQLite).

So every write to an aggregate document runs under a lease: a document ``{_id: "<collection>:<id>"}``
inserted into ``locks`` (only one insert can win), deleted afterwards. A lease left by a crashed
process expires after ``ttl`` seconds. On MongoDB the conditional updates are atomic on their own;
the lease costs two small round trips and keeps the same code correct on both servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from civicgrid_resources.adapters.documents import Document
from civicgrid_runtime.errors import Conflict


class DocumentLocks:
    def __init__(self, collection: AsyncCollection[Document], ttl: float = 10.0, wait: float = 10.0) -> None:
        self._collection = collection
        self._ttl = timedelta(seconds=ttl)
        self._wait = wait

    def timed(self, ttl: float, wait: float) -> DocumentLocks:
        """Leases in the same collection with another lifetime and patience."""
        return DocumentLocks(self._collection, ttl, wait)

    @contextlib.asynccontextmanager
    async def hold(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        key = f"{collection}:{doc_id}"
        owner = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        delay = 0.002
        while True:
            now = datetime.now(UTC)
            try:
                await self._collection.insert_one({"_id": key, "owner": owner, "expires_at": now + self._ttl})
                break
            except DuplicateKeyError:
                await self._collection.delete_one({"_id": key, "expires_at": {"$lt": now}})
            if loop.time() > deadline:
                raise Conflict(f"{key} is busy (another change holds it); try again")
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            await self._collection.delete_one({"_id": key, "owner": owner})


async def upsert_fields(collection: AsyncCollection[Document], doc_id: Any, fields: Document) -> None:
    """``$set`` with upsert; two racing upserts of a new ``_id`` may both try to insert (FerretDB 1.24
    and MongoDB alike): the loser's insert fails on the unique ``_id``, and its update is retried."""
    try:
        await collection.update_one({"_id": doc_id}, {"$set": fields}, upsert=True)
    except DuplicateKeyError:
        await collection.update_one({"_id": doc_id}, {"$set": fields})
