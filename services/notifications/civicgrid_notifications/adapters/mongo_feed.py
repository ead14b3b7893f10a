"""Feeds in MongoDB/FerretDB: personal entries (fan-out on write) merged with broadcasts (fan-out on read).

Every stream-visible change (an entry written, a broadcast sent, a state changed) takes the next value
of one counter (``counters.feed_seq``) into the changed document's ``seq``. Live streams poll
``seq > last``; a reconnect's ``Last-Event-ID`` is such a seq. While tracing is on, a changed
document also keeps its writer's ``traceparent`` (``tracestate``): the stream's send joins that trace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from civicgrid_notifications.domain.model import (
    UNREAD_STATES,
    Audience,
    Broadcast,
    FeedEntry,
    FeedState,
    Message,
    Priority,
)
from civicgrid_notifications.service_layer.broadcast_push import PendingBroadcast
from civicgrid_notifications.service_layer.ports import FeedItem, PageCursor
from civicgrid_runtime import tracing

Document = dict[str, Any]
DUPLICATE_KEY = 11000
_UNREAD = [s.value for s in UNREAD_STATES]
_DONE = [FeedState.READ.value, FeedState.ARCHIVED.value]


@dataclass(frozen=True)
class Change:
    """A stream-visible change: to one member (``member_id``) or to every member of ``audience``;
    ``item`` is None for a change of the member's audiences."""

    seq: int
    item: FeedItem | None
    member_id: str | None
    audience: str | None

    @property
    def key(self) -> str:
        """Tells apart changes that share a sequence number (the items of one mark-all)."""
        if self.item is None:
            return f"audiences:{self.member_id}"
        return f"{self.item.kind}:{self.member_id or ''}:{self.item.id}"


ChangeListener = Callable[[Sequence[Change]], object]
"""Told of the changes this store has just written (the live hub of this process hands them out)."""


BULK_CHUNK = 50
"""Statements per update command: FerretDB 1.24 keeps every statement's cursor open until the command
ends, and an update command of 100 statements or more hangs (its connection pool runs dry)."""


async def bulk_update(
    collection: AsyncCollection[Document], requests: Sequence[UpdateOne]
) -> tuple[int, int]:
    """Unordered updates in commands of ``BULK_CHUNK``; returns (modified + upserted, duplicate keys).
    A duplicate key (an upsert whose filter did not match an existing ``_id``) is an expected outcome."""
    changed = duplicates = 0
    for start in range(0, len(requests), BULK_CHUNK):
        chunk = list(requests[start : start + BULK_CHUNK])
        try:
            result = await collection.bulk_write(chunk, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            duplicates += len(errors)
            changed += int(error.details.get("nModified", 0)) + len(error.details.get("upserted", []))
            continue
        changed += result.modified_count + result.upserted_count
    return changed, duplicates


def _traced() -> Document:
    """The writer's trace context as fields of a changed document, while tracing is on (nothing
    otherwise: no field, no cost): the live stream sends the change within that trace."""
    return tracing.store_context() if tracing.ENABLED else {}


def _before(cursor: PageCursor | None) -> Document:
    if cursor is None:
        return {}
    return {
        "$or": [
            {"created_at": {"$lt": cursor.created_at}},
            {"created_at": cursor.created_at, "_id": {"$lt": cursor.id}},
        ]
    }


def _personal(doc: Document) -> FeedItem:
    return FeedItem(
        id=doc["_id"],
        kind="personal",
        category=doc["category"],
        priority=doc["priority"],
        title=doc["title"],
        body=doc["body"],
        link=doc.get("link"),
        state=FeedState(doc["state"]),
        created_at=doc["created_at"],
        seq=int(doc["seq"]),
        community_code=doc["community_code"],
        traceparent=doc.get("traceparent"),
        tracestate=doc.get("tracestate"),
    )


def _broadcast(doc: Document, state: Document | None) -> FeedItem:
    seq = max(int(doc["seq"]), int(state["seq"]) if state else 0)
    changed = state if state else doc  # the trace of the latest change: the member's, else the sending
    return FeedItem(
        id=doc["_id"],
        kind="broadcast",
        category=doc["category"],
        priority=doc["priority"],
        title=doc["title"],
        body=doc["body"],
        link=doc.get("link"),
        state=FeedState(state["state"]) if state else FeedState.UNSEEN,
        created_at=doc["created_at"],
        seq=seq,
        community_code=doc["community_code"],
        traceparent=changed.get("traceparent"),
        tracestate=changed.get("tracestate"),
    )


class MongoFeedStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.entries = db["feed"]
        self.broadcasts = db["broadcasts"]
        self.states = db["broadcast_states"]
        self.counters = db["counters"]
        self.audience_changes = db["audience_changes"]
        self._listeners: list[ChangeListener] = []
        self._seq_asked: list[tuple[int, asyncio.Future[int]]] = []
        self._seq_reserver: asyncio.Task[None] | None = None

    def listen(self, listener: ChangeListener) -> None:
        """Call ``listener`` with every entry, broadcast and single state change this store writes,
        once the write is acknowledged (a mark-all is left to the poll: ``update_many`` does not say
        which documents it changed)."""
        self._listeners.append(listener)

    def _written(self, changes: Sequence[Change]) -> None:
        if changes:
            for listener in self._listeners:
                listener(changes)

    async def ensure_indexes(self) -> None:
        await self.entries.create_index(
            [("member_id", 1), ("source_event_id", 1), ("rule", 1)], unique=True, name="one_entry_per_event"
        )
        await self.entries.create_index([("member_id", 1), ("created_at", -1), ("_id", -1)])
        await self.entries.create_index([("member_id", 1), ("state", 1)])
        await self.entries.create_index([("seq", 1)])
        await self.broadcasts.create_index([("audience", 1), ("created_at", -1), ("_id", -1)])
        await self.broadcasts.create_index([("seq", 1)])
        await self.broadcasts.create_index([("push_pending", 1)])
        await self.states.create_index([("member_id", 1), ("audience", 1), ("state", 1)])
        await self.states.create_index([("seq", 1)])
        await self.audience_changes.create_index([("seq", 1)])

    async def next_seq(self, count: int = 1) -> int:
        """Reserve ``count`` sequence numbers; returns the highest.

        One reservation at a time per process: FerretDB 1.24 runs ``findAndModify`` as a read, then
        a write, without isolation (measured on the test stack: 50 concurrent ``$inc`` of 1 left the
        counter at 13 to 31 and handed out 4 to 17 distinct values), so two reservations at once can
        return the same numbers, or a number a stream has already passed. The consumer's concurrent
        facts and the HTTP marks all reserve through here. Reservations asked for while one is on its
        way are made together in the next round trip (one ``$inc`` of their sum, handed out in the
        order they were asked for): concurrent facts wait for at most one round trip before theirs,
        not for each other's. A caller cancelled meanwhile leaves its numbers unused (a gap the live
        poller passes after its grace)."""
        waiting: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._seq_asked.append((count, waiting))
        if self._seq_reserver is None or self._seq_reserver.done():
            self._seq_reserver = asyncio.create_task(self._reserve_asked())
        return await waiting

    async def _reserve_asked(self) -> None:
        while self._seq_asked:
            asked, self._seq_asked = self._seq_asked, []
            total = sum(count for count, _ in asked)
            try:
                doc = await self.counters.find_one_and_update(
                    {"_id": "feed_seq"},
                    {"$inc": {"value": total}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                if doc is None:  # pragma: no cover - an upsert always returns the document
                    raise RuntimeError("the sequence counter could not be incremented")
            except asyncio.CancelledError:  # the process stopping: nobody is left hanging
                for _count, waiting in asked + self._seq_asked:
                    waiting.cancel()
                self._seq_asked = []
                raise
            except Exception as error:  # each caller sees the store's error (a fault to retry)
                for _count, waiting in asked:
                    if not waiting.done():
                        waiting.set_exception(error)
                continue
            top = int(doc["value"]) - total
            for count, waiting in asked:
                top += count
                if not waiting.done():
                    waiting.set_result(top)

    async def current_seq(self) -> int:
        doc = await self.counters.find_one({"_id": "feed_seq"})
        return int(doc["value"]) if doc else 0

    async def add_entries(self, entries: Sequence[FeedEntry]) -> int:
        if not entries:
            return 0
        # The unique key (member, event, rule) and the deterministic _id make a redelivery write nothing;
        # its reserved sequence numbers stay unused (the live poller passes such gaps after a grace).
        fresh = list(entries)
        top = await self.next_seq(len(fresh))
        docs = [self._document(e, top - len(fresh) + 1 + i) for i, e in enumerate(fresh)]
        if tracing.ENABLED:  # the writer's trace, for the live stream's delivery (a consumer's handling)
            traced = tracing.store_context()
            for doc in docs:
                doc.update(traced)
        try:
            await self.entries.insert_many(docs, ordered=False)
            written = docs
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            skipped = {int(e["index"]) for e in errors}
            written = [d for i, d in enumerate(docs) if i not in skipped]
        self._written([Change(int(d["seq"]), _personal(d), d["member_id"], None) for d in written])
        return len(written)

    @staticmethod
    def _document(entry: FeedEntry, seq: int) -> Document:
        m = entry.message
        return {
            "_id": entry.id,
            "member_id": entry.member_id,
            "rule": entry.rule,
            "source_event_id": entry.source_event_id,
            "community_code": entry.community_code,
            "category": m.category,
            "priority": m.priority.value,
            "title": m.title,
            "body": m.body,
            "link": m.link,
            "state": entry.state.value,
            "created_at": entry.created_at,
            "seq": seq,
            "deliveries": entry.deliveries,
        }

    async def add_broadcast(self, broadcast: Broadcast) -> bool:
        seq = await self.next_seq()
        m = broadcast.message
        doc: Document = {
            "_id": broadcast.id,
            "audience": broadcast.audience.key,
            "community_code": broadcast.community_code,
            "category": m.category,
            "priority": m.priority.value,
            "title": m.title,
            "body": m.body,
            "link": m.link,
            "created_at": broadcast.created_at,
            "created_by": broadcast.created_by,
            "seq": seq,
            "push_pending": True,
            "push_after": "",
            **_traced(),
        }
        try:
            await self.broadcasts.insert_one(doc)
        except DuplicateKeyError:
            return False
        self._written([Change(seq, _broadcast(doc, None), None, doc["audience"])])
        return True

    async def pending_pushes(self, limit: int) -> list[PendingBroadcast]:
        found = self.broadcasts.find({"push_pending": True}).sort("seq", 1).limit(limit)
        return [
            PendingBroadcast(
                id=d["_id"],
                audience=d["audience"],
                community_code=d["community_code"],
                category=d["category"],
                priority=d["priority"],
                title=d["title"],
                body=d["body"],
                link=d.get("link"),
                push_after=d.get("push_after", ""),
            )
            async for d in found
        ]

    async def advance_push(self, broadcast_id: str, after: str, done: bool) -> None:
        await self.broadcasts.update_one(
            {"_id": broadcast_id}, {"$set": {"push_after": after, "push_pending": not done}}
        )

    async def broadcast(self, broadcast_id: str) -> Document | None:
        return await self.broadcasts.find_one({"_id": broadcast_id})

    async def push_pending(self, broadcast_id: str) -> bool:
        """Whether the broadcast is still being paged to its audience's phones."""
        doc = await self.broadcasts.find_one({"_id": broadcast_id}, {"push_pending": 1})
        return bool(doc and doc.get("push_pending"))

    async def load_broadcast(self, broadcast_id: str) -> Broadcast | None:
        doc = await self.broadcasts.find_one({"_id": broadcast_id})
        if doc is None:
            return None
        return Broadcast(
            id=doc["_id"],
            audience=Audience.parse(doc["audience"]),
            community_code=doc["community_code"],
            message=Message(
                doc["category"], Priority(doc["priority"]), doc["title"], doc["body"], doc.get("link")
            ),
            created_at=doc["created_at"],
            created_by=doc.get("created_by", ""),
        )

    async def _states(self, member_id: str, broadcast_ids: Sequence[str]) -> dict[str, Document]:
        if not broadcast_ids:
            return {}
        keys = [f"{member_id}:{b}" for b in broadcast_ids]
        return {d["broadcast_id"]: d async for d in self.states.find({"_id": {"$in": keys}})}

    async def page(
        self,
        member_id: str,
        audiences: Sequence[str],
        *,
        before: PageCursor | None,
        limit: int,
        category: str | None,
        states: Sequence[FeedState],
    ) -> tuple[list[FeedItem], bool]:
        wanted = {s.value for s in states}
        query: Document = {"member_id": member_id, "state": {"$in": sorted(wanted)}, **_before(before)}
        bquery: Document = {"audience": {"$in": list(audiences)}, **_before(before)}
        if category:
            query["category"] = category
            bquery["category"] = category
        order = [("created_at", -1), ("_id", -1)]
        # The member's entries and the broadcasts window are independent reads: side by side (on
        # FerretDB each is a scan of its collection; the page waits for the longer, not the sum).
        pdocs, bdocs = await asyncio.gather(
            self.entries.find(query).sort(order).limit(limit + 1).to_list(),
            self.broadcasts.find(bquery).sort(order).limit(limit + 1).to_list(),
        )
        personal = [_personal(d) for d in pdocs]
        more = len(personal) > limit
        items = personal[:limit]
        # Broadcasts: a window, without those the member moved out of the wanted states.
        more = more or len(bdocs) > limit
        bstates = await self._states(member_id, [d["_id"] for d in bdocs[:limit]])
        for doc in bdocs[:limit]:
            item = _broadcast(doc, bstates.get(doc["_id"]))
            if item.state.value in wanted:
                items.append(item)
        items.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        if len(items) > limit:
            return items[:limit], True
        return items, more

    async def unread_count(self, member_id: str, audiences: Sequence[str]) -> int:
        personal = self.entries.count_documents({"member_id": member_id, "state": {"$in": _UNREAD}})
        if not audiences:
            return await personal
        # Three independent counts, side by side.
        own, total, done = await asyncio.gather(
            personal,
            self.broadcasts.count_documents({"audience": {"$in": list(audiences)}}),
            self.states.count_documents(
                {"member_id": member_id, "audience": {"$in": list(audiences)}, "state": {"$in": _DONE}}
            ),
        )
        return own + max(0, total - done)

    async def item(self, member_id: str, audiences: Sequence[str], item_id: str) -> FeedItem | None:
        """The member's own entry or a broadcast addressed to them; None for anything else."""
        doc = await self.entries.find_one({"_id": item_id, "member_id": member_id})
        if doc is not None:
            return _personal(doc)
        bdoc = await self.broadcasts.find_one({"_id": item_id, "audience": {"$in": list(audiences)}})
        if bdoc is None:
            return None
        return _broadcast(bdoc, (await self._states(member_id, [item_id])).get(item_id))

    async def set_state(self, member_id: str, item: FeedItem, state: FeedState) -> FeedItem:
        if item.state is state:
            return item
        seq = await self.next_seq()
        if item.kind == "personal":
            doc = await self.entries.find_one_and_update(
                {"_id": item.id, "member_id": member_id},
                {"$set": {"state": state.value, "seq": seq, **_traced()}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                return item
            changed = _personal(doc)
            self._written([Change(changed.seq, changed, member_id, None)])
            return changed
        bdoc = await self.broadcasts.find_one({"_id": item.id})
        if bdoc is None:
            return item
        traced = _traced()
        await self.states.update_one(
            {"_id": f"{member_id}:{item.id}"},
            {
                "$set": {
                    "member_id": member_id,
                    "broadcast_id": item.id,
                    "audience": bdoc["audience"],
                    "state": state.value,
                    "seq": seq,
                    **traced,
                }
            },
            upsert=True,
        )
        changed = _broadcast(bdoc, {"state": state.value, "seq": seq, **traced})  # handed out as stored
        self._written([Change(seq, changed, member_id, None)])
        return changed

    async def set_all_read(self, member_id: str, audiences: Sequence[str], category: str | None) -> int:
        """Every unread entry and broadcast turns read, all with one sequence number: one change of
        several items (the poller hands out every item of it, a replay from it resends it whole)."""
        query: Document = {"member_id": member_id, "state": {"$in": _UNREAD}}
        bquery: Document = {"audience": {"$in": list(audiences)}}
        if category:
            query["category"] = category
            bquery["category"] = category
        bdocs = await self.broadcasts.find(bquery, {"_id": 1, "audience": 1}).to_list()
        done = await self._states(member_id, [d["_id"] for d in bdocs])
        pending = [d for d in bdocs if d["_id"] not in done or done[d["_id"]]["state"] not in _DONE]
        seq = await self.next_seq()
        read = {"state": FeedState.READ.value, "seq": seq, **_traced()}
        result = await self.entries.update_many(query, {"$set": read})
        changed = result.modified_count
        if pending:
            changed += await self._broadcasts_read(member_id, pending, seq)
        return changed

    async def _broadcasts_read(self, member_id: str, docs: Sequence[Document], seq: int) -> int:
        traced = _traced()
        requests = [
            UpdateOne(
                # Not over a state the member moved further meanwhile (archived): the filter does not
                # match, the upsert hits the unique _id, and that duplicate is the expected outcome.
                {"_id": f"{member_id}:{doc['_id']}", "state": {"$nin": _DONE}},
                {
                    "$set": {
                        "member_id": member_id,
                        "broadcast_id": doc["_id"],
                        "audience": doc["audience"],
                        "state": FeedState.READ.value,
                        "seq": seq,
                        **traced,
                    }
                },
                upsert=True,
            )
            for doc in docs
        ]
        changed, _duplicates = await bulk_update(self.states, requests)
        return changed

    async def audiences_changed(self, member_ids: Sequence[str]) -> None:
        """Mark that these members' audiences may have changed (a post, an organisation, a grid, a
        community): their open streams recompute them and tell the device to refetch."""
        if not member_ids:
            return
        top = await self.next_seq(len(member_ids))
        await bulk_update(
            self.audience_changes,
            [
                UpdateOne({"_id": member}, {"$set": {"seq": top - len(member_ids) + 1 + i}}, upsert=True)
                for i, member in enumerate(member_ids)
            ],
        )

    async def audiences_changed_since(self, member_id: str, seq: int) -> int | None:
        doc = await self.audience_changes.find_one({"_id": member_id, "seq": {"$gt": seq}})
        return int(doc["seq"]) if doc else None

    async def changes_since(self, member_id: str, audiences: Sequence[str], seq: int) -> list[FeedItem]:
        """What a member's stream missed from ``seq`` on (a reconnect's Last-Event-ID), oldest first.
        The changes numbered ``seq`` itself are included: a device cut off in the middle of a
        mark-all (one number, many items) gets all of it again."""
        items = [
            _personal(d) async for d in self.entries.find({"member_id": member_id, "seq": {"$gte": seq}})
        ]
        bdocs = await self.broadcasts.find(
            {"audience": {"$in": list(audiences)}, "seq": {"$gte": seq}}
        ).to_list()
        changed = {
            d["broadcast_id"]: d
            async for d in self.states.find({"member_id": member_id, "seq": {"$gte": seq}})
        }
        ids = {d["_id"] for d in bdocs} | set(changed)
        known = {d["_id"]: d async for d in self.broadcasts.find({"_id": {"$in": sorted(ids)}})}
        states = await self._states(member_id, sorted(ids))
        items += [_broadcast(doc, states.get(bid)) for bid, doc in known.items()]
        return sorted(items, key=lambda i: i.seq)

    async def changes_after(self, seq: int, limit: int) -> list[Change]:
        """Every stream-visible change after ``seq`` (all members), for the live-stream poller, oldest
        first, and never part of a sequence number: several items changed together (a mark-all) share
        one, so where a query stopped at its limit, the changes at and after its last number wait for
        the next poll — unless that number is all there is, then it is read whole."""
        changes, cut = await self._changes({"seq": {"$gt": seq}}, limit)
        if cut is None:
            return changes
        before = [c for c in changes if c.seq < cut]
        if before:
            return before
        whole, _cut = await self._changes({"seq": cut}, None)
        return whole

    async def _changes(self, query: Document, limit: int | None) -> tuple[list[Change], int | None]:
        """The changes matching ``query``, and the lowest last number of a query that hit ``limit``."""
        cuts: list[int] = []

        async def read(collection: AsyncCollection[Document]) -> list[Document]:
            cursor = collection.find(query).sort("seq", 1)
            docs = await (cursor.limit(limit) if limit else cursor).to_list()
            if limit and len(docs) >= limit:
                cuts.append(int(docs[-1]["seq"]))
            return docs

        changes = [
            Change(int(d["seq"]), _personal(d), d["member_id"], None) for d in await read(self.entries)
        ]
        changes += [
            Change(int(d["seq"]), _broadcast(d, None), None, d["audience"])
            for d in await read(self.broadcasts)
        ]
        changes += [Change(int(d["seq"]), None, d["_id"], None) for d in await read(self.audience_changes)]
        state_docs = await read(self.states)
        if state_docs:
            ids = sorted({d["broadcast_id"] for d in state_docs})
            known = {d["_id"]: d async for d in self.broadcasts.find({"_id": {"$in": ids}})}
            for s in state_docs:
                if s["broadcast_id"] in known:
                    changes.append(
                        Change(int(s["seq"]), _broadcast(known[s["broadcast_id"]], s), s["member_id"], None)
                    )
        changes.sort(key=lambda c: c.seq)
        return changes, min(cuts) if cuts else None
