"""How long Neo4j keeps the service's bookkeeping nodes, and the job that removes them after that.

Every write leaves bookkeeping behind: the outbox node of each event it published (the whole event),
the consumers' claim of each event they handled (``ProcessedEvent``), the stored answer of each
``Idempotency-Key``. Kept for ever they grew with every write (a city's org-graph makes millions a
year) and slowed what scans them. Each kind is kept as long as it can still matter, then deleted in
batches by one periodic job (one replica at a time, under the job's lease):

- a **published** outbox node: the outbox's audit trail (what was published, when); a pending one is
  never deleted, whatever its age;
- a **claim**: longer than a record can come back: Kafka keeps a topic 7 days by default, and a
  redriven dead letter comes back later still, so the default is 30 days;
- a service's own kinds (org-graph: ``IdempotencyRecord``, 24 hours, as payment APIs keep keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from neo4j import AsyncDriver

RETENTION_SCHEMA = (
    "CREATE INDEX outbox_published_at IF NOT EXISTS FOR (o:OutboxEvent) ON (o.published_at)",
    "CREATE INDEX processed_event_at IF NOT EXISTS FOR (p:ProcessedEvent) ON (p.at)",
)
"""Range indexes on the times the job compares (each kind's ``since`` property)."""

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class Retention:
    """Nodes labelled ``label`` whose ``since`` time (a Neo4j datetime) is older than ``keep``."""

    label: str
    since: str
    keep: timedelta

    def __post_init__(self) -> None:
        for name in (self.label, self.since):
            if not name.isidentifier():
                raise ValueError(f"not a plain Neo4j name: {name!r}")
        if self.keep <= timedelta(0):
            raise ValueError(f"{self.label} must be kept for some time, not {self.keep}")


def bookkeeping(outbox: timedelta, processed: timedelta) -> list[Retention]:
    """The runtime's own kinds: published outbox nodes and consumers' claims."""
    return [Retention("OutboxEvent", "published_at", outbox), Retention("ProcessedEvent", "at", processed)]


class Neo4jRetention:
    """Deletes what is past its retention, ``batch`` nodes per kind per transaction."""

    def __init__(
        self,
        driver: AsyncDriver,
        kinds: Sequence[Retention],
        database: str | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._driver = driver
        self._kinds = tuple(kinds)
        self._database = database
        self._batch = batch

    async def sweep(self, now: datetime | None = None) -> int:
        """One batch of each kind; the number deleted (a periodic job runs again at once while > 0).
        ``since`` is null on a pending outbox node, so no pending event is ever deleted."""
        moment = now or datetime.now(UTC)
        deleted = 0
        for kind in self._kinds:
            query = (
                f"MATCH (n:{kind.label}) WHERE n.{kind.since} < $cutoff "
                "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted"
            )
            records, _, _ = await self._driver.execute_query(
                query, cutoff=moment - kind.keep, batch=self._batch, database_=self._database
            )
            deleted += int(records[0]["deleted"]) if records else 0
        return deleted
