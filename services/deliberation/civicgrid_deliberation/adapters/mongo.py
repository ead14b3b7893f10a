"""MongoDB (FerretDB 1.24) adapters: one aggregate per document with its events in an embedded outbox.

- Aggregates (meetings, topics, votes, appraisals, disclosures) change under a per-document lease
  (``DocumentLocks``: FerretDB 1.24 does not isolate concurrent updates of one document) and a
  version check; the relay marks events published under the same lease.
- Projections of org-graph (organisations, memberships, households) are upserts by id, households
  guarded by their version (a redelivered or older state changes nothing).
- A vote's roll is frozen in one document when it opens (immutable: cached per process); ballots
  sit in 64 bucket documents per vote (``MongoBallots``), one entry per voter, so casting again
  replaces the choice and the close reads 64 documents, not one per ballot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import re
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Generic, TypeVar, cast

from bson import Binary
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_deliberation.adapters import documents as docs
from civicgrid_deliberation.adapters.events import translate
from civicgrid_deliberation.domain.appraisals import Appraisal
from civicgrid_deliberation.domain.disclosure import DisclosureItem
from civicgrid_deliberation.domain.forums import Invitation, Party
from civicgrid_deliberation.domain.meetings import Meeting, Participant
from civicgrid_deliberation.domain.topics import Topic
from civicgrid_deliberation.domain.votes import Vote
from civicgrid_deliberation.domain.voting import AssemblyRules, Choice, Unit, Voter
from civicgrid_deliberation.service_layer.ports import Aggregate, Fingerprint, View
from civicgrid_runtime.errors import Conflict, NotFound
from civicgrid_runtime.stores.mongo import MongoEmbeddedOutbox, MongoInbox, outbox_entry

Document = dict[str, Any]
A = TypeVar("A")
R = TypeVar("R")


class DocumentLocks:
    """A lease per document: an insert into ``locks`` (only one can win), deleted afterwards; a
    lease left by a crashed process expires after ``ttl`` seconds."""

    def __init__(self, collection: AsyncCollection[Document], ttl: float = 10.0, wait: float = 10.0) -> None:
        self._collection = collection
        self._ttl = timedelta(seconds=ttl)
        self._wait = wait

    async def acquire(self, collection: str, doc_id: Any) -> tuple[str, str]:
        """Take the lease (waiting up to ``wait`` seconds, else ``Conflict``); returns (key, owner)."""
        key, owner = f"{collection}:{doc_id}", uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self._wait, 0.002
        while True:
            now = datetime.now(UTC)
            try:
                await self._collection.insert_one({"_id": key, "owner": owner, "expires_at": now + self._ttl})
                return key, owner
            except DuplicateKeyError:
                await self._collection.delete_one({"_id": key, "expires_at": {"$lt": now}})
            if loop.time() > deadline:
                raise Conflict(f"{key} is busy (another change holds it); try again")
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.05)

    async def release(self, lease: tuple[str, str]) -> None:
        await self._collection.delete_one({"_id": lease[0], "owner": lease[1]})

    @contextlib.asynccontextmanager
    async def hold(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        lease = await self.acquire(collection, doc_id)
        try:
            yield
        finally:
            await self.release(lease)

    @contextlib.asynccontextmanager
    async def hold_all(self, collection: str, doc_ids: Sequence[Any]) -> AsyncIterator[None]:
        """Every lease at once, in one ``insert_many`` (unordered: the free ones are taken, the busy
        ones retried) and given back in one ``delete_many`` (``locks`` holds only live leases, so its
        scan is short). The caller makes sure nobody else waits for several of them (else two could
        wait on each other until ``wait`` runs out)."""
        owner = uuid.uuid4().hex
        keys = [f"{collection}:{d}" for d in doc_ids]
        loop = asyncio.get_running_loop()
        deadline, delay, pending = loop.time() + self._wait, 0.002, list(keys)
        try:
            while pending:
                now = datetime.now(UTC)
                try:
                    await self._collection.insert_many(
                        [{"_id": k, "owner": owner, "expires_at": now + self._ttl} for k in pending],
                        ordered=False,
                    )
                    pending = []
                    break
                except BulkWriteError as error:
                    errors = error.details.get("writeErrors", [])
                    if any(e.get("code") != 11000 for e in errors):
                        raise
                    pending = [pending[e["index"]] for e in errors]
                    await self._collection.delete_many({"_id": {"$in": pending}, "expires_at": {"$lt": now}})
                if loop.time() > deadline:
                    raise Conflict(f"{pending[0]} is busy (another change holds it); try again")
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.05)
            yield
        finally:
            await self._collection.delete_many({"_id": {"$in": keys}, "owner": owner})


@dataclass(frozen=True)
class Kind(Generic[A]):
    collection: AsyncCollection[Document]
    label: str
    key: Callable[[A], str]
    fields: Callable[[A], Document]
    load: Callable[[Document], A]


class MongoStore:
    """The collections of the service."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.meetings = db["meetings"]
        self.topics = db["topics"]
        self.votes = db["votes"]
        self.appraisals = db["appraisals"]
        self.disclosures = db["disclosures"]
        self.rolls = db["rolls"]
        self.ballot_buckets = db["ballot_buckets"]
        self.compound_rules = db["compound_rules"]
        self.organisations = db["organisations"]
        self.memberships = db["memberships"]
        self.households = db["households"]
        self.locks = DocumentLocks(db["locks"])
        self.inbox = MongoInbox(db["inbox"])
        self.aggregates = [self.meetings, self.topics, self.votes, self.appraisals, self.disclosures]
        self.outbox = MongoEmbeddedOutbox(self.aggregates, guard=self.locks.hold)

    async def ensure_indexes(self) -> None:
        await self.outbox.ensure_indexes()
        await self.meetings.create_index([("community_code", ASCENDING), ("scheduled_for", DESCENDING)])
        await self.meetings.create_index("participant_ids")
        await self.topics.create_index("place_code")
        await self.votes.create_index("compound_code")
        await self.disclosures.create_index([("community_code", ASCENDING), ("published_at", DESCENDING)])
        await self.organisations.create_index([("kind", ASCENDING), ("place_code", ASCENDING)])
        await self.memberships.create_index("org_id")
        await self.households.create_index("compound_code")
        await self.households.create_index("owners")


class MongoUnitOfWork:
    def __init__(self, store: MongoStore, wake_relay: Callable[[], None]) -> None:
        self._store = store
        self._wake = wake_relay
        self._kinds: dict[type[Any], Kind[Any]] = {
            Meeting: Kind(
                store.meetings, "meeting", lambda m: m.meeting_id, docs.meeting_fields, docs.meeting_from
            ),
            Topic: Kind(store.topics, "topic", lambda t: t.topic_id, docs.topic_fields, docs.topic_from),
            Vote: Kind(store.votes, "vote", lambda v: v.vote_id, docs.vote_fields, docs.vote_from),
            Appraisal: Kind(
                store.appraisals,
                "appraisal",
                lambda a: a.appraisal_id,
                docs.appraisal_fields,
                docs.appraisal_from,
            ),
            DisclosureItem: Kind(
                store.disclosures,
                "disclosure item",
                lambda d: d.item_id,
                docs.disclosure_fields,
                docs.disclosure_from,
            ),
        }

    def _kind(self, kind: type[A]) -> Kind[A]:
        found = self._kinds.get(kind)
        if found is None:
            raise TypeError(f"{kind.__name__} is not an aggregate of deliberation")
        return cast(Kind[A], found)

    def _outbox(self, events: Sequence[CloudEvent]) -> Document:
        if not events:
            return {}
        return {**{f"outbox.{e.id}": outbox_entry(e) for e in events}, "outbox_pending": True}

    async def add(self, aggregate: Aggregate, fingerprint: Fingerprint | None = None) -> tuple[Any, bool]:
        kind = self._kind(type(aggregate))
        key = kind.key(aggregate)
        events = translate(aggregate.take_events())
        document = {
            "_id": key,
            **kind.fields(aggregate),
            "version": 1,
            "idempotency": {"key": fingerprint.key, "body": fingerprint.body} if fingerprint else None,
            "outbox": {e.id: outbox_entry(e) for e in events},
            "outbox_pending": bool(events),
        }
        try:
            await kind.collection.insert_one(document)
        except DuplicateKeyError:
            existing = await kind.collection.find_one({"_id": key}, {"outbox": 0})
            if existing is None or fingerprint is None:
                raise Conflict(f"{kind.label} {key} exists already", field="Idempotency-Key") from None
            if existing.get("idempotency") != {"key": fingerprint.key, "body": fingerprint.body}:
                raise Conflict(
                    "this Idempotency-Key was used with another request body", field="Idempotency-Key"
                ) from None
            return kind.load(existing), False
        aggregate.version = 1
        if events:
            self._wake()
        return aggregate, True

    async def find(self, kind: type[A], key: str) -> A | None:
        k = self._kind(kind)
        doc = await k.collection.find_one({"_id": key}, {"outbox": 0})
        return None if doc is None else k.load(doc)

    async def get(self, kind: type[A], key: str) -> A:
        found = await self.find(kind, key)
        if found is None:
            raise NotFound(f"no {self._kind(kind).label} {key}")
        return found

    def exclusive(self, kind: type[Any], key: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locks.hold(self._kind(kind).collection.name, key)

    async def save(self, aggregate: Aggregate) -> None:
        kind = self._kind(type(aggregate))
        events = translate(aggregate.take_events())
        result = await kind.collection.update_one(
            {"_id": kind.key(aggregate), "version": aggregate.version},
            {"$set": {**kind.fields(aggregate), **self._outbox(events), "version": aggregate.version + 1}},
        )
        if result.matched_count != 1:
            raise Conflict(f"{kind.label} {kind.key(aggregate)} changed meanwhile; try again")
        aggregate.version += 1
        if events:
            self._wake()

    async def change(self, kind: type[A], key: str, apply: Callable[[A], R]) -> tuple[A, R]:
        async with self.exclusive(kind, key):
            aggregate = await self.get(kind, key)
            result = apply(aggregate)
            await self.save(cast(Aggregate, aggregate))
            return aggregate, result


class MongoProjections:
    """org-graph's organisations, posts and households, as this service needs them."""

    def __init__(self, store: MongoStore) -> None:
        self._s = store

    async def organisation(self, org_id: str, fields: Mapping[str, Any]) -> None:
        await _upsert(self._s.organisations, org_id, dict(fields))

    async def membership(self, membership_id: str, fields: Mapping[str, Any]) -> None:
        await _upsert(self._s.memberships, membership_id, dict(fields))

    async def dissolve_memberships_of(self, org_id: str) -> None:
        await self._s.memberships.update_many({"org_id": org_id}, {"$set": {"active": False}})

    async def household(self, household_code: str, version: int, fields: Mapping[str, Any] | None) -> None:
        current = await self._s.households.find_one({"_id": household_code}, {"version": 1})
        if current is not None and current.get("version", 0) >= version:
            return  # an older or repeated state
        state = {"removed": True, "version": version} if fields is None else {**fields, "removed": False}
        await _upsert(self._s.households, household_code, {**state, "version": version})

    # -- Directory ---------------------------------------------------------------------------------

    async def invitees(
        self, invitations: Sequence[Invitation], forum_place: str, community: str
    ) -> list[Participant]:
        found: list[Participant] = []
        for invitation in invitations:
            place = forum_place if invitation.where == "forum" else community
            orgs = self._s.organisations.find(
                {"kind": invitation.org_kind, "place_code": place, "dissolved": False}
            )
            async for org in orgs:
                async for m in self._s.memberships.find({"org_id": org["_id"], "active": True}).sort(
                    "_id", 1
                ):
                    found.append(
                        Participant(
                            m["person_id"], org["_id"], invitation.org_kind, m.get("post"), invitation.party
                        )
                    )
        return found

    async def members_of(self, org_kinds: Sequence[str], place_code: str) -> list[str]:
        people: set[str] = set()
        for kind in org_kinds:
            async for org in self._s.organisations.find(
                {"kind": kind, "place_code": place_code, "dissolved": False}
            ):
                async for m in self._s.memberships.find({"org_id": org["_id"], "active": True}):
                    people.add(m["person_id"])
        return sorted(people)

    # -- Households --------------------------------------------------------------------------------

    async def units_of(self, compound_code: str) -> list[Unit]:
        cursor = self._s.households.find(
            {"compound_code": compound_code, "removed": False}, {"area_hundredths": 1, "owners": 1}
        )
        return [Unit(d["_id"], int(d["area_hundredths"]), tuple(d.get("owners", []))) async for d in cursor]

    async def of_person(self, person_id: str) -> list[View]:
        cursor = self._s.households.find(
            {
                "removed": False,
                "$or": [{"owners": person_id}, {"residents": person_id}, {"representative": person_id}],
            }
        )
        found = []
        async for d in cursor:
            owner = person_id in d.get("owners", [])
            representative = d.get("representative") == person_id
            found.append(
                {
                    "household_code": d["_id"],
                    "community_code": d["community_code"],
                    "compound_code": d.get("compound_code"),
                    "role": "owner" if owner else "representative" if representative else "resident",
                    "representative": representative,
                }
            )
        return found

    async def representatives_of(self, community_code: str) -> list[str]:
        cursor = self._s.households.find(
            {"community_code": community_code, "removed": False}, {"representative": 1}
        )
        return sorted({d["representative"] async for d in cursor if d.get("representative")})


async def _upsert(collection: AsyncCollection[Document], doc_id: str, fields: Document) -> None:
    try:
        await collection.update_one({"_id": doc_id}, {"$set": fields}, upsert=True)
    except DuplicateKeyError:  # two racing upserts of a new id: the loser updates
        await collection.update_one({"_id": doc_id}, {"$set": fields})


class MongoRolls:
    def __init__(self, store: MongoStore) -> None:
        self._rolls = store.rolls
        self._cache: dict[str, dict[str, Voter]] = {}

    async def freeze(self, vote_id: str, voters: Mapping[str, Voter]) -> None:
        # One JSON string, not 10,000 sub-documents: FerretDB 1.24 took 1.3 s to read a roll stored as
        # an array of objects and 0.6 s to write it (bench/deliberation_tally); a string is one value.
        entries = [
            {
                "v": v.voter_id,
                "n": v.area.numerator,
                "d": v.area.denominator,
                "h": list(v.households),
                "c": list(v.casters),
            }
            for v in voters.values()
        ]
        text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False)
        # Compressed (a 10,000-household roll: 1 MB of JSON, ~0.1 MB deflated): FerretDB took
        # 0.1-0.24 s to hand over the 1 MB string, a good part of closing a vote.
        packed = Binary(zlib.compress(text.encode("utf-8"), 6))
        await _upsert(
            self._rolls,
            vote_id,
            {"voters_zlib": packed, "voters": len(entries), "frozen_at": datetime.now(UTC)},
        )

    async def load(self, vote_id: str) -> dict[str, Voter]:
        cached = self._cache.get(vote_id)
        if cached is not None:
            return cached
        doc = await self._rolls.find_one({"_id": vote_id})
        if doc is None:
            raise NotFound(f"no roll for vote {vote_id}")
        voters = {
            e["v"]: Voter(e["v"], Fraction(int(e["n"]), int(e["d"])), tuple(e["h"]), tuple(e["c"]))
            for e in json.loads(
                zlib.decompress(doc["voters_zlib"]) if "voters_zlib" in doc else doc["voters_json"]
            )
        }
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[vote_id] = voters  # immutable once frozen
        return voters

    async def voter(self, vote_id: str, voter_id: str) -> Voter | None:
        return (await self.load(vote_id)).get(voter_id)


BALLOT_BUCKETS = 64
"""Ballots of a vote live in this many bucket documents (``<vote>|b<nn>``), a voter's by a stable hash
of its id. Fixed: a vote's buckets are found by number, so changing it strands the ballots of votes
open at the time."""


def bucket_of(voter_id: str, buckets: int = BALLOT_BUCKETS) -> int:
    """The voter's bucket: a stable hash (not ``hash()``, which differs per process)."""
    return int.from_bytes(hashlib.blake2b(voter_id.encode("utf-8"), digest_size=8).digest(), "big") % buckets


class MongoBallots:
    """A vote's ballots in ``BALLOT_BUCKETS`` bucket documents, not one document per voter: FerretDB
    1.24 reads a document in ~0.25 ms whatever its size, so closing a 10,000-household vote read
    8,000 ballot documents in ~2 s; it reads 64 buckets in a small fraction of that.

    A bucket holds ``{voter: [choice, cast_by, cast_at]}`` as one JSON string (FerretDB reads a string
    as one value; sub-documents field by field). A ballot changes its bucket under the bucket's lease
    (FerretDB does not isolate concurrent updates of one document) with a version check, so
    concurrent ballots never lose one another; ``still_open`` is checked under that lease. The close
    holds every bucket's lease (``sealed``) from reading the ballots until the vote is stored closed,
    so no ballot is recorded after the tally read its bucket: it waits, then finds the vote closed.
    """

    def __init__(self, store: MongoStore, buckets: int = BALLOT_BUCKETS) -> None:
        self._buckets = store.ballot_buckets
        self._locks = store.locks
        self._count = buckets

    def _id(self, vote_id: str, bucket: int) -> str:
        return f"{vote_id}|b{bucket:03d}"

    async def cast(
        self,
        vote_id: str,
        voter_id: str,
        choice: Choice,
        person_id: str,
        still_open: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        bucket_id = self._id(vote_id, bucket_of(voter_id, self._count))
        async with self._locks.hold(self._buckets.name, bucket_id):
            if still_open is not None:
                await still_open()
            doc = await self._buckets.find_one({"_id": bucket_id})
            ballots = {} if doc is None else json.loads(doc["ballots_json"])
            ballots[voter_id] = [choice.value, person_id, datetime.now(UTC).isoformat()]
            text = json.dumps(ballots, separators=(",", ":"), ensure_ascii=False)
            if doc is None:
                # Under the lease nobody else inserts it; a duplicate means a lease expired under us.
                try:
                    await self._buckets.insert_one(
                        {"_id": bucket_id, "vote_id": vote_id, "ballots_json": text, "version": 1}
                    )
                except DuplicateKeyError:
                    raise Conflict(f"ballots of {vote_id} changed meanwhile; try again") from None
                return
            result = await self._buckets.update_one(
                {"_id": bucket_id}, {"$set": {"ballots_json": text, "version": doc["version"] + 1}}
            )
            if result.matched_count != 1:  # pragma: no cover - the bucket is never deleted
                raise Conflict(f"ballots of {vote_id} changed meanwhile; try again")

    async def _read(self, ids: Sequence[str]) -> dict[str, list[str]]:
        docs_ = await asyncio.gather(*(self._buckets.find_one({"_id": i}, {"ballots_json": 1}) for i in ids))
        found: dict[str, list[str]] = {}
        for doc in docs_:
            if doc is not None:
                found.update(json.loads(doc["ballots_json"]))
        return found

    async def of_vote(self, vote_id: str) -> dict[str, Choice]:
        ballots = await self._read([self._id(vote_id, b) for b in range(self._count)])
        return {voter: Choice(entry[0]) for voter, entry in ballots.items()}

    async def mine(self, vote_id: str, voter_ids: Sequence[str]) -> dict[str, Choice]:
        ids = sorted({self._id(vote_id, bucket_of(v, self._count)) for v in voter_ids})
        ballots = await self._read(ids)
        return {v: Choice(ballots[v][0]) for v in voter_ids if v in ballots}

    def sealed(self, vote_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        # Only the close takes several bucket leases, and it holds the vote's lease first: two closes
        # of one vote never wait on each other's buckets. A ballot holds one bucket and waits for none.
        ids = [self._id(vote_id, b) for b in range(self._count)]
        return self._locks.hold_all(self._buckets.name, ids)


class MongoCompoundRules:
    def __init__(self, store: MongoStore) -> None:
        self._rules = store.compound_rules

    async def of(self, compound_code: str) -> AssemblyRules:
        doc = await self._rules.find_one({"_id": compound_code})
        return AssemblyRules() if doc is None else AssemblyRules.from_data(doc["rules"])

    async def set(self, compound_code: str, rules: AssemblyRules, by: str) -> None:
        await _upsert(
            self._rules, compound_code, {"rules": rules.to_data(), "set_by": by, "set_at": datetime.now(UTC)}
        )


def _prefix(place: str) -> dict[str, Any]:
    """Codes inside ``place``: a division prefix (``420106002``) covers every code beginning with it; a
    community, compound or building code covers itself and what nests under it (``…-C1`` not ``…-C10``)."""
    if len(place) < 12 and place.isdigit():
        return {"$regex": "^" + re.escape(place)}
    return {"$regex": "^" + re.escape(place) + "($|-)"}


_HIDDEN = {"outbox": 0, "outbox_pending": 0, "idempotency": 0}


class MongoViews:
    def __init__(self, store: MongoStore) -> None:
        self._s = store

    async def meetings(self, place_prefix: str | None, person_id: str | None, limit: int) -> list[View]:
        match: Document = {}
        if place_prefix is not None:
            match["place_code"] = _prefix(place_prefix)
        if person_id is not None:
            match["participant_ids"] = person_id
        cursor = self._s.meetings.find(match, _HIDDEN).sort("scheduled_for", DESCENDING).limit(limit)
        return [_meeting_summary(d) async for d in cursor]

    async def topics(self, place_prefix: str, limit: int) -> list[View]:
        cursor = (
            self._s.topics.find({"place_code": _prefix(place_prefix)}, _HIDDEN)
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [_topic_summary(d) async for d in cursor]

    async def votes(self, compound_codes: Sequence[str], limit: int) -> list[View]:
        cursor = self._s.votes.find({"compound_code": {"$in": list(compound_codes)}}, _HIDDEN).limit(limit)
        return [
            {
                "vote_id": d["_id"],
                "compound_code": d["compound_code"],
                "title": d["title"],
                "matter": d["matter_code"],
                "status": d["status"],
                "closes_at": docs._utc(d["closes_at"]).isoformat(),
                "outcome": (d.get("decision") or {}).get("outcome"),
            }
            async for d in cursor
        ]

    async def disclosures(self, place_code: str, limit: int) -> list[View]:
        if len(place_code) == 12:
            match: Document = {"community_code": place_code}
        else:
            match = {"$or": [{"place_code": place_code}, {"place_code": place_code[:12]}]}
        cursor = self._s.disclosures.find(match, _HIDDEN).sort("published_at", DESCENDING).limit(limit)
        return [docs.disclosure_from(d).public_view() async for d in cursor]

    async def votes_due(self, now: datetime, limit: int) -> list[str]:
        cursor = self._s.votes.find({"status": "open", "closes_at": {"$lte": now}}, {"_id": 1}).limit(limit)
        return [d["_id"] async for d in cursor]


def _meeting_summary(d: Document) -> View:
    return {
        "meeting_id": d["_id"],
        "meeting_type": d["type_code"],
        "level": d["level"],
        "place_code": d["place_code"],
        "title": d["title"],
        "scheduled_for": docs._utc(d["scheduled_for"]).isoformat(),
        "status": d["status"],
        "participants": len(d.get("participants", [])),
        "resolutions": len(d.get("resolutions", [])),
    }


def _topic_summary(d: Document) -> View:
    return {
        "topic_id": d["_id"],
        "place_code": d["place_code"],
        "title": d["title"],
        "status": d["status"],
        "supporters": len(d.get("supporters", [])),
        "raised_as": d["raised_as"],
        "request_id": d.get("request_id"),
        "need_id": d.get("need_id"),
    }


__all__ = ["MongoStore", "MongoUnitOfWork", "Party"]
