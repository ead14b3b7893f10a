"""Transactional outbox: the state change and its event are stored together; a relay publishes them.

Each service implements ``OutboxStore`` for its database (Neo4j: same transaction; MongoDB: same
document). The relay loop is the same everywhere: fetch pending -> publish -> mark published. A
crash between publish and mark re-publishes on restart (at-least-once); consumers de-duplicate by
event id, so no effect is doubled.

Traces (:mod:`civicgrid_runtime.tracing`, when on): an entry's event carries the trace context of the
request that wrote it (its ``traceparent``, stamped when the event was made and stored with it), and the
publisher sends each record under that context, so the relay's sends, later and outside the request,
join the request's trace.

The relay keeps what it saw for the metrics (``/metrics``, see :mod:`civicgrid_runtime.metrics`):
entries published, failed rounds, and the entries it found pending and has not published yet with the
time of the oldest (a relay that cannot publish keeps them, so their age grows).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class PendingEvent:
    """One outbox entry: ``outbox_id`` identifies it in the store (often the event id)."""

    outbox_id: str
    topic: str
    event: CloudEvent


class OutboxStore(Protocol):
    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]: ...

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None: ...


class EventPublisher(Protocol):
    async def publish_many(self, items: Sequence[tuple[str, CloudEvent]]) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        store: OutboxStore,
        publisher: EventPublisher,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.5,
        max_backoff: float = 10.0,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published_total = 0
        self.failures_total = 0
        self.pending_seen = 0
        """Entries found pending at the last poll and not published since (at most one batch)."""
        self.oldest_pending_time: datetime | None = None
        """The event time of the oldest of them (None: nothing pending)."""
        self.last_poll_time: float | None = None
        """When the relay last read the store (epoch seconds)."""

    @property
    def publisher(self) -> EventPublisher:
        return self._publisher

    def notify(self) -> None:
        """Wake the relay now (called after a commit that wrote outbox entries)."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """Publish one batch; returns how many entries were published and marked."""
        pending = self._seen(await self._store.fetch_pending(self._batch_size))
        if not pending:
            return 0
        await self._publisher.publish_many([(p.topic, p.event) for p in pending])
        await self._store.mark_published(pending)
        self._published(pending)
        return len(pending)

    def _seen(self, pending: Sequence[PendingEvent]) -> Sequence[PendingEvent]:
        self.last_poll_time = time.time()
        self.pending_seen = len(pending)
        self.oldest_pending_time = min((p.event.time for p in pending), default=None)
        return pending

    def _published(self, entries: Sequence[PendingEvent]) -> None:
        self.published_total += len(entries)
        self.pending_seen, self.oldest_pending_time = 0, None

    async def drain(self) -> int:
        """Publish until nothing is pending."""
        total = 0
        previous: set[str] = set()
        while pending := self._seen(await self._store.fetch_pending(self._batch_size)):
            ids = {p.outbox_id for p in pending}
            if ids == previous:
                raise RuntimeError("the outbox store returned the same entries after marking them published")
            await self._publisher.publish_many([(p.topic, p.event) for p in pending])
            await self._store.mark_published(pending)
            self._published(pending)
            total += len(pending)
            previous = ids
        return total

    async def run_forever(self) -> None:
        failures = 0
        while True:
            try:
                count = await self.run_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                self.failures_total += 1
                delay = min(self._max_backoff, self._poll_interval * 2**failures)
                log.warning("outbox relay failed; will retry", error=str(error), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            if count >= self._batch_size:
                continue
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # arrives as the wake-up event is set, and stop() would then wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wakeup.wait()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run_forever(), name="outbox-relay")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        # Cancel until the task is really done: a cancel swallowed inside a library call must not
        # leave the loop running and this call waiting for ever.
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        with contextlib.suppress(asyncio.CancelledError):
            task.result()
