"""Grouped sums that give the same answer on MongoDB and on FerretDB 1.24.

On MongoDB: one ``$match`` + ``$group`` pipeline with every ``$sum`` (served by the indexes).

On FerretDB 1.24.2 (detected from ``buildInfo.ferretdbVersion``), two facts measured on this
project's server decide otherwise:
- a ``$group`` computes only its first accumulator: with ``{"n": {"$sum": 1}, "p": {"$sum": "$p"}}``
  it returns the right ``n`` and ``p == 0``;
- on SQLite no secondary index is used: every query not by ``_id`` reads the whole collection.
So there the sums are taken in one pass over the matching documents (only the summed fields are
projected), instead of one full scan per accumulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from civicgrid_resources.adapters.documents import Document

_FERRETDB: dict[int, bool] = {}


async def is_ferretdb(collection: AsyncCollection[Document]) -> bool:
    """Asked once per client (the server behind a client does not change)."""
    client = collection.database.client
    if id(client) not in _FERRETDB:
        info = await client.admin.command("buildInfo")
        _FERRETDB[id(client)] = "ferretdbVersion" in info
    return _FERRETDB[id(client)]


async def grouped_sums(
    collection: AsyncCollection[Document],
    match: Document,
    group_by: str | None,
    sums: Mapping[str, str | int],
) -> dict[Any, dict[str, float]]:
    """``{group key: {name: sum}}``; ``sums`` maps a name to a field (``"$points"``) or a constant."""
    result: dict[Any, dict[str, float]] = {}
    if await is_ferretdb(collection):
        fields = {str(e)[1:] for e in sums.values() if isinstance(e, str)} | (
            {group_by} if group_by else set()
        )
        async for doc in collection.find(match, {f: 1 for f in fields} or {"_id": 1}):
            row = result.setdefault(doc.get(group_by) if group_by else None, {name: 0 for name in sums})
            for name, expression in sums.items():
                value = doc.get(expression[1:]) if isinstance(expression, str) else expression
                if isinstance(value, int | float) and not isinstance(value, bool):
                    row[name] += value
        return result
    group: Document = {"_id": f"${group_by}" if group_by else None}
    group.update({name: {"$sum": expression} for name, expression in sums.items()})
    async for row in await collection.aggregate([{"$match": match}, {"$group": group}]):
        result[row.pop("_id")] = {name: row.get(name, 0) for name in sums}
    return result
