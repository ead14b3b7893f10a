"""One Neo4j managed transaction per use case: the change, its outbox entries, its idempotency record.

Under contention:

- ``session.execute_write`` re-runs the whole transaction function on transient errors (deadlocks, lock
  timeouts, a leader switch), with the driver's backoff;
- a write that lost a race to create the same node (a unique constraint, e.g. two first registrations of
  one person id) is run again from the start, a few times: it then finds the committed node and answers as
  a repeat does (200 or a 409 naming the rule);
- an ``Idempotency-Key`` is claimed first (``MERGE`` on its unique key), so a concurrent repeat waits for the
  first call and answers its stored result instead of doing the work twice.

Driver errors that mean the store is unavailable (``ServiceUnavailable``, ``SessionExpired``, transient errors
after the retries) are not caught here: the runtime maps them to 503. After such an error the driver's
:class:`~civicgrid_runtime.stores.neo4j.Neo4jAvailability` bounds each unit of work (1.5 s, then 503) until
Neo4j answers promptly again: a restarted Neo4j accepts connections long before it answers queries.

With tracing on, each unit of work is one client span ``neo4j <use case>`` (no maintained Neo4j
instrumentation exists); with it off, ``run`` tests one module flag.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from neo4j import AsyncDriver, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from civicgrid_orggraph.adapters.contract_events import to_cloud_event
from civicgrid_orggraph.adapters.graph_tx import Neo4jGraphTx
from civicgrid_orggraph.service_layer.ports import Result, Work
from civicgrid_runtime import tracing
from civicgrid_runtime.errors import Conflict
from civicgrid_runtime.stores.neo4j import append_outbox, availability_of

CONSTRAINT_RETRIES = 3


class _DryRun(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__("dry run")
        self.result = result


class Neo4jUnitOfWork:
    def __init__(
        self, driver: AsyncDriver, database: str | None = None, on_commit: Callable[[], None] | None = None
    ) -> None:
        self._driver = driver
        self._database = database
        self._on_commit = on_commit
        self._availability = availability_of(driver)

    async def run(
        self,
        work: Work,
        *,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        causation_id: str | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
    ) -> Result:
        if not tracing.ENABLED:
            return await self._run(work, idempotency_key, fingerprint, causation_id, correlation_id, dry_run)
        # Neo4j has no maintained instrumentation: one client span per unit of work, named after the
        # use case (the function that defined ``work``), never a query or its parameters.
        with tracing.store_call("neo4j", use_case_of(work), self._database):
            return await self._run(work, idempotency_key, fingerprint, causation_id, correlation_id, dry_run)

    async def _run(
        self,
        work: Work,
        idempotency_key: str | None,
        fingerprint: str,
        causation_id: str | None,
        correlation_id: str | None,
        dry_run: bool,
    ) -> Result:
        published: list[int] = []

        async def transaction(tx: AsyncManagedTransaction) -> Result:
            published.clear()
            if idempotency_key is not None:
                stored = await _claim_key(tx, idempotency_key)
                if stored is not None:
                    _check_same_request(stored[0], fingerprint)
                    return stored[1]
            graph = Neo4jGraphTx(tx)
            result = await work(graph)
            events = [to_cloud_event(e, causation_id, correlation_id) for e in graph.events]
            if dry_run:
                raise _DryRun(result)  # everything checked, events included; roll it all back
            await append_outbox(tx, events)
            published.append(len(graph.events))
            if idempotency_key is not None:
                await _store_result(tx, idempotency_key, fingerprint, result)
            return result

        async with self._availability.watch():  # no limit unless Neo4j is recovering from an outage
            for attempt in range(1, CONSTRAINT_RETRIES + 1):
                try:
                    async with self._driver.session(database=self._database) as session:
                        result = await session.execute_write(transaction)
                    break
                except _DryRun as dry:
                    return dry.result
                except ConstraintError:
                    if attempt == CONSTRAINT_RETRIES:
                        raise Conflict(
                            "another request created the same thing at the same time; send it again",
                            rule="concurrent_creation",
                        ) from None
        if published and published[0] and self._on_commit is not None:
            self._on_commit()
        return result


def use_case_of(work: Work) -> str:
    """The use case a unit of work belongs to: ``appoint`` for the ``work`` defined in ``appoint``."""
    name = getattr(work, "__qualname__", "") or getattr(work, "__name__", "") or "unit_of_work"
    return name.split(".<locals>", 1)[0]


async def _claim_key(tx: AsyncManagedTransaction, key: str) -> tuple[str, Result] | None:
    """The stored (fingerprint, result) of a completed call with this key, or None after claiming it.

    The MERGE on the unique key write-locks the record: a concurrent call with the same key waits here
    until the first one commits (then reads its result) or rolls back (then claims the key itself)."""
    record = await (
        await tx.run(
            "MERGE (r:IdempotencyRecord {key: $key}) ON CREATE SET r.at = datetime() "
            "RETURN r.fingerprint AS f, r.result AS result",
            key=key,
        )
    ).single()
    if record is None or record["result"] is None:
        return None
    return str(record["f"]), json.loads(record["result"])


def _check_same_request(stored: str, fingerprint: str) -> None:
    if stored == fingerprint:
        return
    differing = _differing_fields(stored, fingerprint)
    what = f": {', '.join(differing)} differ" if differing else ""
    raise Conflict(
        f"this Idempotency-Key was already used for a different request{what}",
        rule="idempotency_key_reused",
        differing_fields=differing,
    )


def _differing_fields(stored: str, fingerprint: str) -> list[str]:
    """Field names whose digests differ (fingerprints are JSON objects of per-field digests)."""
    try:
        before: Any = json.loads(stored)
        after: Any = json.loads(fingerprint)
    except ValueError:
        return []
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


async def _store_result(tx: AsyncManagedTransaction, key: str, fingerprint: str, result: Result) -> None:
    await (
        await tx.run(
            "MATCH (r:IdempotencyRecord {key: $key}) SET r.fingerprint = $f, r.result = $result",
            key=key,
            f=fingerprint,
            result=json.dumps(result, ensure_ascii=False, default=str),
        )
    ).consume()
