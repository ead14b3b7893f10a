"""Offsets committed after processing, in batches: at-least-once without a broker round trip per record.

Every record a subscriber finishes (handled, skipped, or dead-lettered) is noted with its exact
offset; the highest finished offset + 1 of each partition is committed when ``max_pending`` records
are waiting or ``interval`` seconds passed, and on shutdown. A record that is not finished (its
handler is still running, or an error escaped the dead-letter middleware) is never covered by a
commit: on error the consumer seeks back to it, so it is read again. A process killed before a
commit re-reads at most the uncommitted tail — duplicates that idempotent handlers absorb, never a
loss.

Noting a record is synchronous and does no I/O: commits run in a background task, one at a time
(so they reach the broker in order), while the consumer goes on with the next records. Offsets
noted while a commit is in flight are coalesced into the next one.

Records handled concurrently (``subscribe_events(key=..., max_in_flight=...)``) finish out of order.
Their consumer calls :meth:`OffsetTracker.begin` with a batch's records before handling any of them:
a begun record holds its partition's commit at its offset until it is noted, so a commit never
passes a record whose handler has not returned, whatever finished after it. A begun record that is
not noted (its handling escaped; the consumer seeks back to it and reads it again) keeps holding;
:meth:`OffsetTracker.forget` drops the holds of partitions this member no longer owns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.message import StreamMessage

from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


class OffsetTracker:
    def __init__(self, max_pending: int = 200, interval: float = 0.5, commit_timeout: float = 5.0) -> None:
        self.max_pending = max_pending
        self.interval = interval
        self.commit_timeout = commit_timeout
        self._pending: dict[AIOKafkaConsumer, dict[TopicPartition, int]] = {}
        self._count = 0
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._committer: asyncio.Task[None] | None = None
        # Records begun and not finished, per partition (concurrent handling only), and the highest
        # finished offset + 1 of those partitions while some are held.
        self._held: dict[AIOKafkaConsumer, dict[TopicPartition, set[int]]] = {}
        self._finished: dict[AIOKafkaConsumer, dict[TopicPartition, int]] = {}
        self.commits = 0

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> CommitAfterProcessingMiddleware:
        return CommitAfterProcessingMiddleware(msg, context=context, tracker=self)

    def begin(self, consumer: AIOKafkaConsumer, records: Iterable[Any]) -> None:
        """These records (``topic``, ``partition``, ``offset``) are about to be handled, maybe out of
        order: until each is noted, no commit of its partition reaches past it."""
        held = self._held.setdefault(consumer, {})
        for record in records:
            held.setdefault(TopicPartition(record.topic, record.partition), set()).add(record.offset)

    def forget(self, consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition]) -> None:
        """This member no longer owns ``partitions``: their holds go (their next owner reads from
        the committed offset, which no hold ever passed)."""
        held, finished = self._held.get(consumer, {}), self._finished.get(consumer, {})
        for tp in partitions:
            held.pop(tp, None)
            finished.pop(tp, None)

    def held(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        """The lowest unfinished begun offset of each partition with one."""
        return {tp: min(offsets) for tp, offsets in self._held.get(consumer, {}).items() if offsets}

    def note(self, consumer: AIOKafkaConsumer, topic: str, partition: int, offset: int) -> None:
        """The record at ``offset`` is finished: the next commit covers it, unless a begun record
        before it is still unfinished (then the commit stops at that one). No I/O here."""
        offsets = self._pending.get(consumer)
        if offsets is None:
            offsets = self._pending[consumer] = {}
        tp = TopicPartition(topic, partition)
        upto = offset + 1
        held = self._held.get(consumer, {}).get(tp)
        if held is not None:
            held.discard(offset)
            finished = self._finished.setdefault(consumer, {})
            upto = max(finished.get(tp, 0), upto)
            if held:
                finished[tp] = upto
                upto = min(upto, min(held))
            else:
                finished.pop(tp, None)
                del self._held[consumer][tp]
        if offsets.get(tp, 0) < upto:
            offsets[tp] = upto
        self._count += 1
        if self._count >= self.max_pending:
            self._commit_soon()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._on_timer)

    async def finished(self, consumer: AIOKafkaConsumer, topic: str, partition: int, offset: int) -> None:
        self.note(consumer, topic, partition, offset)

    def _on_timer(self) -> None:
        self._timer = None
        if self._pending:
            self._commit_soon()

    def _commit_soon(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        # Offsets noted during a commit are committed right after it, until nothing is waiting.
        while self._pending:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending, self._count = self._pending, {}, 0
            for consumer, offsets in pending.items():
                await self._commit(consumer, offsets)

    async def commit_now(self, consumer: AIOKafkaConsumer) -> None:
        """Commit what ``consumer`` finished, now (its partitions are about to be revoked)."""
        async with self._lock:
            offsets = self._pending.pop(consumer, None)
            if offsets:
                await self._commit(consumer, offsets)

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        assigned = consumer.assignment()
        owned = {tp: OffsetAndMetadata(o, "") for tp, o in offsets.items() if tp in assigned}
        if not owned:
            return
        try:
            # A commit waits while the group rebalances; bounded, so a stopping instance never hangs
            # on it. An offset not committed only means those records are read again.
            await asyncio.wait_for(consumer.commit(owned), timeout=self.commit_timeout)
            self.commits += 1
        except (KafkaError, AssertionError, RuntimeError, TimeoutError) as error:
            # Partitions moved to another member or the consumer is closing: those records are
            # read again there (at-least-once); nothing is lost.
            log.warning("offset commit failed; records will be re-read", error=str(error))

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._committer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        await self.flush()


class CommitAfterProcessingMiddleware(BaseMiddleware):
    """Per-record subscribers: note the record once the chain below returned; seek back on error.

    Batch subscribers (``subscribe_events``) note and seek per record themselves, so a batch passes
    through untouched."""

    def __init__(self, msg: Any, /, *, context: ContextRepo, tracker: OffsetTracker) -> None:
        super().__init__(msg, context=context)
        self.tracker = tracker

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        record = msg.raw_message
        if isinstance(record, tuple):
            return await call_next(msg)
        consumer = getattr(msg, "consumer", None)
        try:
            result = await call_next(msg)
        except Exception:
            await msg.nack()  # seek back to this record: it is read again, never skipped
            raise
        if isinstance(consumer, AIOKafkaConsumer):
            self.tracker.note(consumer, record.topic, record.partition, record.offset)
        return result
