"""One Neo4j managed transaction per use case: the change, its outbox entries, its idempotency record."""

from __future__ import annotations

import json
from collections.abc import Callable

from neo4j import AsyncDriver, AsyncManagedTransaction

from civicgrid_orggraph.adapters.contract_events import to_cloud_event
from civicgrid_orggraph.adapters.graph_tx import Neo4jGraphTx
from civicgrid_orggraph.service_layer.ports import Result, Work
from civicgrid_runtime.errors import Conflict
from civicgrid_runtime.stores.neo4j import append_outbox


class Neo4jUnitOfWork:
    def __init__(
        self, driver: AsyncDriver, database: str | None = None, on_commit: Callable[[], None] | None = None
    ) -> None:
        self._driver = driver
        self._database = database
        self._on_commit = on_commit

    async def run(self, work: Work, *, idempotency_key: str | None = None, fingerprint: str = "") -> Result:
        published: list[int] = []

        async def transaction(tx: AsyncManagedTransaction) -> Result:
            published.clear()
            if idempotency_key is not None:
                stored = await _stored_result(tx, idempotency_key)
                if stored is not None:
                    if stored[0] != fingerprint:
                        raise Conflict(
                            "this Idempotency-Key was already used for a different request",
                            idempotency_key=idempotency_key,
                        )
                    return stored[1]
            graph = Neo4jGraphTx(tx)
            result = await work(graph)
            await append_outbox(tx, [to_cloud_event(e) for e in graph.events])
            published.append(len(graph.events))
            if idempotency_key is not None:
                await _store_result(tx, idempotency_key, fingerprint, result)
            return result

        async with self._driver.session(database=self._database) as session:
            result = await session.execute_write(transaction)
        if published and published[0] and self._on_commit is not None:
            self._on_commit()
        return result


async def _stored_result(tx: AsyncManagedTransaction, key: str) -> tuple[str, Result] | None:
    record = await (
        await tx.run(
            "MATCH (r:IdempotencyRecord {key: $key}) RETURN r.fingerprint AS f, r.result AS result", key=key
        )
    ).single()
    if record is None:
        return None
    return str(record["f"]), json.loads(record["result"])


async def _store_result(tx: AsyncManagedTransaction, key: str, fingerprint: str, result: Result) -> None:
    await (
        await tx.run(
            "CREATE (:IdempotencyRecord {key: $key, fingerprint: $f, result: $result, at: datetime()})",
            key=key,
            f=fingerprint,
            result=json.dumps(result, ensure_ascii=False, default=str),
        )
    ).consume()
