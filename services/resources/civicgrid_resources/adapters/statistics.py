"""Request statistics for the supervisors' dashboards, derived from the requests' own writes: exact,
and never a reason to refuse or delay a request write.

Three collections (works on FerretDB 1.24, which isolates neither concurrent updates of one document
nor anything across documents, and has no transactions):

- ``statistics_journal``: one entry per request write that changed what the dashboards count, keyed
  ``<request id>:<version>``, holding the difference it made per bucket (a move leaves one bucket and
  enters another). The request write puts it there under the request's own lease, *before* the
  document (a crash in between leaves an entry for a version the document never reached: such an
  entry counts nowhere, and the next write of that version replaces it). An entry counts once the
  request document has reached its version. Writers of different requests touch different entries:
  500 requests recorded at once into one grid wait for nothing.
- ``request_statistics``: one bucket per community and grid (``<community>:<grid>``) with the sums of
  what was folded into it, and ``last_fold``: the entries of its latest fold.
- ``statistics_meta``: the fold generation, bumped before and after every fold.

A folder (one at a time, under the ``statistics:fold`` lease, off every write path) moves valid
entries into their buckets and then deletes them. Before it replaces a bucket's ``last_fold`` it marks
the entries named there as done for that bucket, so a fold that died half-way is finished, never
doubled. A read sums the buckets and the entries not yet folded (neither marked done nor named in
their bucket's ``last_fold``), and repeats itself if a fold ran meanwhile (the generation moved):
what it returns is exact for the moment it read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from civicgrid_resources.adapters.documents import Document
from civicgrid_resources.adapters.locks import DocumentLocks
from civicgrid_runtime.errors import Conflict

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
FOLD_LEASE = ("statistics", "fold")
STALE_FOLD = timedelta(minutes=2)  # a fold marked running for longer than this died


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


def in_region(place: Document, match: Document) -> bool:
    """``match`` is a region filter (``{"street_code": "420106002"}`` or a ``$gte``/``$lt`` range)."""
    for field, wanted in match.items():
        value = place.get(field)
        if isinstance(wanted, dict):
            if value is None or not (wanted["$gte"] <= value < wanted["$lt"]):
                return False
        elif value != wanted:
            return False
    return True


@dataclass(frozen=True)
class Part:
    """What one request write changed in one bucket."""

    entry_id: str
    bucket: str
    place: Document
    increments: dict[str, int]


class RequestStatistics:
    def __init__(
        self, db: AsyncDatabase[Document], locks: DocumentLocks, requests: AsyncCollection[Document]
    ) -> None:
        self.collection: AsyncCollection[Document] = db["request_statistics"]
        self.journal: AsyncCollection[Document] = db["statistics_journal"]
        self.meta: AsyncCollection[Document] = db["statistics_meta"]
        self._requests = requests
        self._locks = locks
        # The folder holds its lease for a whole fold; a busy lease means "someone else folds".
        self._folder = locks.timed(ttl=STALE_FOLD.total_seconds(), wait=0.0)
        self._exclusive = locks.timed(ttl=STALE_FOLD.total_seconds(), wait=STALE_FOLD.total_seconds())

    # -- the request's write path ------------------------------------------------------------------

    async def record(
        self, request_id: str, version: int, previous: Document | None, current: Document
    ) -> None:
        """Journal what the write of ``version`` changes (before the document is written, under the
        request's lease); nothing when it changes no figure."""
        found = changes(previous, current)
        key = f"{request_id}:{version}"
        if not found:
            # A write of this version that died earlier may have left an entry: it must not count.
            await self.journal.delete_one({"_id": key})
            return
        entry = {
            "request_id": request_id,
            "version": version,
            "at": datetime.now(UTC),
            "parts": [{"bucket": key, "place": place, "d": inc} for key, (place, inc) in found.items()],
            "done": [],
        }
        try:
            await self.journal.replace_one({"_id": key}, entry, upsert=True)
        except DuplicateKeyError:  # an upsert racing a retried write of the same version
            await self.journal.replace_one({"_id": key}, entry)

    # -- reading -------------------------------------------------------------------------------------

    async def _generation(self) -> tuple[int, bool]:
        meta = await self.meta.find_one({"_id": "fold"}) or {}
        since = meta.get("since")
        running = bool(meta.get("folding")) and (
            since is None or datetime.now(UTC) - since.replace(tzinfo=since.tzinfo or UTC) < STALE_FOLD
        )
        return int(meta.get("gen", 0)), running

    async def _request_versions(self, request_ids: Iterable[str]) -> dict[str, int]:
        # One lookup by ``_id`` each: FerretDB 1.24 scans a whole collection for ``$in``.
        versions = {}
        for request_id in set(request_ids):
            doc = await self._requests.find_one({"_id": request_id}, {"version": 1})
            if doc is not None:
                versions[request_id] = int(doc.get("version", 0))
        return versions

    async def _unfolded(self, match: Document, buckets: dict[str, Document]) -> list[Part]:
        """Journal entries that count (their request reached their version) and are not yet in the
        buckets as read."""
        entries = [e async for e in self.journal.find({})]
        relevant = [e for e in entries if any(in_region(p["place"], match) for p in e["parts"])]
        versions = await self._request_versions(e["request_id"] for e in relevant)
        parts = []
        for entry in relevant:
            if entry["version"] > versions.get(entry["request_id"], 0):
                continue  # the write of this version has not happened (yet, or ever)
            for part in entry["parts"]:
                bucket = buckets.get(part["bucket"])
                folded = part["bucket"] in entry.get("done", []) or (
                    bucket is not None and entry["_id"] in bucket.get("last_fold", [])
                )
                if not folded and in_region(part["place"], match):
                    parts.append(Part(entry["_id"], part["bucket"], part["place"], part["d"]))
        return parts

    async def read(self, match: Document) -> list[Document]:
        """The buckets whose place fields match, with what is not folded yet added: ``{place fields…,
        "c": {counter: sum}}`` per bucket. Repeated if a fold ran while reading."""
        for attempt in range(50):
            generation, running = await self._generation()
            if running:
                await asyncio.sleep(min(0.02 * 2**attempt, 0.5))
                continue
            buckets = {doc["_id"]: doc async for doc in self.collection.find(match)}
            parts = await self._unfolded(match, buckets)
            if await self._generation() == (generation, False):
                return _summed(buckets, parts)
        async with self._exclusive.hold(*FOLD_LEASE):  # folds kept coming: read while none runs
            buckets = {doc["_id"]: doc async for doc in self.collection.find(match)}
            return _summed(buckets, await self._unfolded(match, buckets))

    # -- folding -------------------------------------------------------------------------------------

    async def fold(self, batch: int = 2000) -> int:
        """Move counted journal entries into their buckets; returns how many entries were folded.
        Does nothing if another folder is at work."""
        try:
            async with self._folder.hold(*FOLD_LEASE):
                return await self._fold(batch)
        except Conflict:
            return 0

    async def _fold(self, batch: int) -> int:
        entries = [e async for e in self.journal.find({}).sort("at", 1).limit(batch)]
        if not entries:
            return 0
        versions = await self._request_versions(e["request_id"] for e in entries)
        valid = [e for e in entries if e["version"] <= versions.get(e["request_id"], 0)]
        await self._forget_stale([e for e in entries if e["version"] > versions.get(e["request_id"], 0)])
        if not valid:
            return 0
        keys = {p["bucket"] for e in valid for p in e["parts"]}
        buckets = {key: await self.collection.find_one({"_id": key}) or {} for key in keys}
        done = {e["_id"]: set(e.get("done", [])) for e in valid}
        # Entries of each bucket's previous fold are marked done for it before that fold is forgotten.
        # (Normally the previous fold deleted them all: only a fold that died leaves some.)
        previous = [
            (entry_id, key) for key, bucket in buckets.items() for entry_id in bucket.get("last_fold", [])
        ]
        left: set[str] = set()
        if previous:
            ids = list({entry_id for entry_id, _ in previous})
            left = {e["_id"] async for e in self.journal.find({"_id": {"$in": ids}}, {"_id": 1})}
        for entry_id, key in previous:
            if entry_id in left:
                await self.journal.update_one({"_id": entry_id}, {"$addToSet": {"done": key}})
                if entry_id in done:
                    done[entry_id].add(key)
        todo: dict[str, list[Part]] = {}
        for entry in valid:
            for part in entry["parts"]:
                if part["bucket"] not in done[entry["_id"]]:
                    todo.setdefault(part["bucket"], []).append(
                        Part(entry["_id"], part["bucket"], part["place"], part["d"])
                    )
        await self._mark(folding=True)
        try:
            for key, parts in todo.items():
                sums = dict.fromkeys(COUNTERS, 0)
                for part in parts:
                    for name, value in part.increments.items():
                        sums[name] += int(value)
                await self.collection.update_one(
                    {"_id": key},
                    {
                        "$inc": {f"c.{name}": value for name, value in sums.items()},
                        "$set": {**parts[0].place, "last_fold": [p.entry_id for p in parts]},
                    },
                    upsert=True,
                )
        finally:
            await self._mark(folding=False)
        for entry in valid:
            await self.journal.delete_one({"_id": entry["_id"]})
        return len(valid)

    async def _mark(self, folding: bool) -> None:
        await self.meta.update_one(
            {"_id": "fold"},
            {"$set": {"folding": folding, "since": datetime.now(UTC)}, "$inc": {"gen": 1}},
            upsert=True,
        )

    async def _forget_stale(self, entries: list[Document]) -> None:
        """Entries for a version their request never reached, left by a write that died: forgotten
        after a while (under the request's lease, so a live retry of that version is not lost)."""
        old = datetime.now(UTC) - STALE_FOLD
        for entry in entries:
            at = entry["at"].replace(tzinfo=entry["at"].tzinfo or UTC)
            if at > old:
                continue
            with contextlib.suppress(Conflict):
                async with self._locks.hold("requests", entry["request_id"]):
                    doc = await self._requests.find_one({"_id": entry["request_id"]}, {"version": 1})
                    if doc is None or int(doc.get("version", 0)) < entry["version"]:
                        current = await self.journal.find_one({"_id": entry["_id"]}, {"at": 1})
                        if current is not None and current["at"] == entry["at"]:
                            await self.journal.delete_one({"_id": entry["_id"]})

    # -- repair and bulk load ------------------------------------------------------------------------

    async def rebuild(self) -> int:
        """Recompute every bucket from the request documents (one pass, under the fold lease); the
        journal entries the pass saw are dropped, later ones stay. Returns the requests read."""
        async with self._exclusive.hold(*FOLD_LEASE):
            await self._mark(folding=True)
            try:
                totals = Totals()
                seen: dict[str, int] = {}
                fields = {field: 1 for field in PLACE_FIELDS} | {f: 1 for f in COUNTERS.values() if f}
                async for doc in self._requests.find({}, {**fields, "version": 1}):
                    seen[doc["_id"]] = int(doc.get("version", 0))
                    totals.add(doc)
                await self.replace_all(totals)
                async for entry in self.journal.find({}, {"request_id": 1, "version": 1}):
                    if entry["version"] <= seen.get(entry["request_id"], 0):
                        await self.journal.delete_one({"_id": entry["_id"]})
            finally:
                await self._mark(folding=False)
        return len(seen)

    async def replace_all(self, totals: Totals) -> None:
        """Make the buckets exactly ``totals`` (buckets not in it are removed)."""
        for key, (place, sums) in totals.buckets.items():
            await self.collection.replace_one(
                {"_id": key}, {**place, "c": sums, "last_fold": []}, upsert=True
            )
        async for doc in self.collection.find({}, {"_id": 1}):
            if doc["_id"] not in totals.buckets:
                await self.collection.delete_one({"_id": doc["_id"]})


def _summed(buckets: dict[str, Document], parts: list[Part]) -> list[Document]:
    rows: dict[str, Document] = {
        key: {**{f: doc.get(f) for f in PLACE_FIELDS}, "c": dict(doc.get("c") or {})}
        for key, doc in buckets.items()
    }
    for part in parts:
        row = rows.setdefault(part.bucket, {**part.place, "c": {}})
        for name, value in part.increments.items():
            row["c"][name] = int(row["c"].get(name, 0)) + int(value)
    return list(rows.values())


class Totals:
    """Buckets summed in memory from whole request documents (a rebuild, a bulk load)."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[Document, dict[str, int]]] = {}

    def add(self, request: Document) -> None:
        for key, (place, increments) in changes(None, request).items():
            _, sums = self.buckets.setdefault(key, (place, dict.fromkeys(COUNTERS, 0)))
            for name, value in increments.items():
                sums[name] += value
