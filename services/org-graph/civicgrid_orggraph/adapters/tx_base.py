"""Shared plumbing of the org graph's transaction adapters."""

from __future__ import annotations

from typing import Any, LiteralString

from neo4j import AsyncManagedTransaction

from civicgrid_orggraph.domain.events import DomainEvent


class TxBase:
    """One managed transaction; ``events`` are the domain events the use case emitted."""

    def __init__(self, tx: AsyncManagedTransaction) -> None:
        self._tx = tx
        self.events: list[DomainEvent] = []

    def emit(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def _rows(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        result = await self._tx.run(query, **params)
        return [record.data() async for record in result]

    async def _one(self, query: LiteralString, **params: Any) -> dict[str, Any] | None:
        rows = await self._rows(query, **params)
        return rows[0] if rows else None

    async def _exec(self, query: LiteralString, **params: Any) -> None:
        await (await self._tx.run(query, **params)).consume()
