"""Offsets committed after processing, in batches: at-least-once without a broker round trip per record.

Every record a subscriber finishes (handled, skipped, or dead-lettered) is noted with its exact
offset; the highest finished offset + 1 of each partition is committed when ``max_pending`` records
are waiting or ``interval`` seconds passed, and on shutdown. A record that is not finished (its
handler is still running, or an error escaped the dead-letter middleware) is never covered by a
commit: on error the consumer seeks back to it, so it is read again. A process killed before a
commit re-reads at most the uncommitted tail — duplicates that idempotent handlers absorb, never a
loss.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
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
        self._timer: asyncio.Task[None] | None = None
        self.commits = 0

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> CommitAfterProcessingMiddleware:
        return CommitAfterProcessingMiddleware(msg, context=context, tracker=self)

    async def finished(self, consumer: AIOKafkaConsumer, topic: str, partition: int, offset: int) -> None:
        offsets = self._pending.setdefault(consumer, {})
        tp = TopicPartition(topic, partition)
        offsets[tp] = max(offsets.get(tp, 0), offset + 1)
        self._count += 1
        if self._count >= self.max_pending:
            await self.flush()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.interval)
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending, self._count = self._pending, {}, 0
            for consumer, offsets in pending.items():
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
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.flush()


class CommitAfterProcessingMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: ContextRepo, tracker: OffsetTracker) -> None:
        super().__init__(msg, context=context)
        self.tracker = tracker

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        consumer = getattr(msg, "consumer", None)
        record = msg.raw_message
        try:
            result = await call_next(msg)
        except Exception:
            await msg.nack()  # seek back to this record: it is read again, never skipped
            raise
        if isinstance(consumer, AIOKafkaConsumer):
            await self.tracker.finished(consumer, record.topic, record.partition, record.offset)
        return result
