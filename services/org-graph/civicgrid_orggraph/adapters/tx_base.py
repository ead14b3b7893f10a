"""Shared plumbing of the org graph's transaction adapters."""

from __future__ import annotations

from itertools import groupby
from typing import Any, LiteralString

from neo4j import AsyncManagedTransaction

from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.service_layer.ports import Locks

# Lock nodes, one per locked entity (key ``<kind>:<id>``), holding nothing but a counter and never linked
# to anything. Why not lock the entities' own nodes: measured with 40-50 concurrent appointments to one
# post, Neo4j 5 reported deadlocks (and the driver's retries ran out: 503s) whenever the lock holder
# created a relationship on the node the others queued for (a post's POST_IN to its organisation, a
# membership's OF_POST), and whenever a writing statement found the node by its unique key (its index seek
# takes a shared lock on the index entry first) or by MERGE (a shared lock on the node, then an upgrade).
# So: find the lock nodes with a read-only statement (no locks), then take each one's exclusive lock by
# element id, one kind after the other in the canonical order, keys sorted.
_LOCK_KINDS = (
    ("posts", "post"),
    ("organisations", "organisation"),
    ("people", "person"),
    ("grids", "grid"),
    ("places", "place"),
    ("households", "household"),
)
_FIND_LOCKS: LiteralString = (
    "UNWIND $keys AS k OPTIONAL MATCH (l:WriteLock {key: k}) RETURN k AS key, elementId(l) AS e"
)
_TAKE_LOCKS: LiteralString = (
    "UNWIND $ids AS e MATCH (l:WriteLock) WHERE elementId(l) = e SET l.seq = l.seq + 1"
)
_CREATE_LOCKS: LiteralString = "UNWIND $keys AS k CREATE (:WriteLock {key: k, seq: 1})"


class TxBase:
    """One managed transaction; ``events`` are the domain events the use case emitted."""

    def __init__(self, tx: AsyncManagedTransaction) -> None:
        self._tx = tx
        self.events: list[DomainEvent] = []

    def emit(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def lock(self, locks: Locks) -> None:
        """Take the write locks of ``locks`` in the canonical order (posts, organisations, people, grids,
        places; keys sorted). The lock node of a key locked for the first time is created here; two writers
        creating the same one race on its unique constraint, and the loser's unit of work runs again."""
        for kind, prefix in _LOCK_KINDS:
            keys = [f"{prefix}:{k}" for k in sorted(getattr(locks, kind))]
            if not keys:
                continue
            found = {row["key"]: row["e"] for row in await self._rows(_FIND_LOCKS, keys=keys)}
            for existing, group in groupby(keys, key=lambda k: found.get(k) is not None):
                batch = list(group)
                if existing:
                    await self._exec(_TAKE_LOCKS, ids=[found[k] for k in batch])
                else:
                    await self._exec(_CREATE_LOCKS, keys=batch)

    async def _rows(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        result = await self._tx.run(query, **params)
        return [record.data() async for record in result]

    async def _one(self, query: LiteralString, **params: Any) -> dict[str, Any] | None:
        rows = await self._rows(query, **params)
        return rows[0] if rows else None

    async def _exec(self, query: LiteralString, **params: Any) -> None:
        await (await self._tx.run(query, **params)).consume()
