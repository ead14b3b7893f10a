"""Consumers holding a record because a store or the broker is unavailable, for readiness and logs.

The dead-letter middleware reports a stall when a handler first fails with a transient error and
clears it when the record is finished (or the consumer stops). Readiness (``/readyz``) answers 503
while any consumer of the process is stalled, naming the consumer group and since when.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["ConsumerStalled", "ConsumerStalls", "Stall"]


class ConsumerStalled(Exception):
    """Raised by the readiness probe while a consumer holds a record on a transient error."""


@dataclass
class Stall:
    group_id: str
    topic: str
    partition: int
    offset: int
    error: str
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)
    tries: int = 1

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def describe(self) -> str:
        return (
            f"consumer group {self.group_id} stalled since {self.since.isoformat(timespec='seconds')} "
            f"on {self.topic}[{self.partition}]@{self.offset} ({self.tries} tries): {self.error}"
        )


class ConsumerStalls:
    """The stalls of one process (one registry per broker)."""

    def __init__(self) -> None:
        self._stalls: dict[int, Stall] = {}
        self._next = 0

    def stalled(self, stall: Stall) -> int:
        """Register a stall; returns the token to clear it with."""
        self._next += 1
        self._stalls[self._next] = stall
        return self._next

    def cleared(self, token: int) -> Stall | None:
        return self._stalls.pop(token, None)

    def current(self) -> list[Stall]:
        return sorted(self._stalls.values(), key=lambda s: (s.since, s.group_id))

    def stalled_groups(self) -> dict[str, datetime]:
        """Each stalled consumer group with the time its oldest stall began."""
        groups: dict[str, datetime] = {}
        for stall in self.current():
            groups.setdefault(stall.group_id, stall.since)
        return groups

    async def probe(self) -> None:
        """A readiness probe: raises :class:`ConsumerStalled` naming every stalled group."""
        stalls = self.current()
        if stalls:
            first_by_group: dict[str, Stall] = {}
            for stall in stalls:
                first_by_group.setdefault(stall.group_id, stall)
            raise ConsumerStalled("; ".join(s.describe() for s in first_by_group.values()))
