"""Indexes created only when missing."""

from __future__ import annotations

from typing import Any


async def ensure_index(collection: Any, keys: list[tuple[str, int]]) -> None:
    """Create an index only if it is missing: on FerretDB a createIndexes waits on the SQLite write
    lock held by a running instance's scans, so a restart beside a live replica would stall."""
    wanted = [(k, int(v)) for k, v in keys]
    async for index in await collection.list_indexes():
        if [(k, int(v)) for k, v in index["key"].items()] == wanted:
            return
    await collection.create_index(keys)
