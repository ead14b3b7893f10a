"""Optimistic concurrency over HTTP: the ``If-Match`` header carries the version the caller read."""

from __future__ import annotations

from fastapi import Header

from civicgrid_runtime.errors import InvalidInput

IF_MATCH = Header(default=None, alias="If-Match", description="The version you last read; 409 if stale.")


def expected_version(value: str | None) -> int | None:
    """The version in an ``If-Match`` header (``3``, ``"3"`` or ``W/"3"``); None when absent."""
    if value is None:
        return None
    try:
        return int(value.strip('"W/ '))
    except ValueError:
        raise InvalidInput("If-Match must be the version number you last read") from None
