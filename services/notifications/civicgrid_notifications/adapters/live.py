"""Live streams without change streams: an in-process pub/sub fed by a poll of the feed's sequence.

FerretDB has no change streams, so each process runs one poller that reads every stream-visible
change with ``seq > watermark`` (personal entries, broadcasts, broadcast states) and hands it to the
open streams of this process. A change written by this process (an entry, a broadcast, a member's
mark) is handed to its streams as soon as the write is acknowledged (``publish``: no database read, no
wait for a poll) and marked as handed out, so the poll does not send it twice; writes by other
instances (or before a restart) arrive at the next poll, and a write in this process also ``nudge``s
the poller. Sequence numbers are reserved before the write lands, so a low one may commit after a
higher one: the watermark only moves past a missing number once it has been seen, or after
``gap_grace`` seconds (a reservation whose write never happened: a duplicate skipped, a crash).

A change of a member's audiences (appointed to a post, joined a grid...) is in the same sequence: the
hub recomputes the audiences of that member's open streams (so broadcasts to the new audience reach
them) and tells each stream, which tells the device to refetch. ``resume_point`` is the watermark:
every change at or below it has been handed out (or will never land), so a stream that starts there
misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from civicgrid_notifications.adapters.mongo_feed import Change
from civicgrid_notifications.service_layer.ports import FeedItem
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


class ChangeSource(Protocol):
    async def changes_after(self, seq: int, limit: int) -> list[Change]: ...
    async def current_seq(self) -> int: ...


AudienceLookup = Callable[[str], Awaitable[Sequence[str]]]


@dataclass(frozen=True)
class AudiencesChanged:
    """The member's audiences changed (change ``seq``): the device should refetch its feed."""

    seq: int


Signal = FeedItem | AudiencesChanged


@dataclass(eq=False)
class Subscription:
    member_id: str
    audiences: frozenset[str]
    queue: asyncio.Queue[Signal] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    overflowed: bool = False

    def offer(self, item: Signal) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True  # the stream closes; the device reconnects with Last-Event-ID


class SequenceWatermark:
    """Which changes were handed out. A change is a (sequence number, key) pair: several changes may
    share a number (a mark-all turns many items read under one), and a store may show them one by one
    (an ``update_many`` is not atomic across documents). ``low`` passes a number once it has been quiet
    for ``gap_grace`` seconds: seen, and no new change with it since; or never seen (a reservation
    whose write never happened: a duplicate skipped, a crash). Until then every poll reads it again
    and hands out only the changes not handed out yet."""

    def __init__(self, start: int, gap_grace: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.low = start
        self._seen: dict[int, set[str]] = {}
        self._last_new: dict[int, float] = {}
        self._missing_since: dict[int, float] = {}
        self._grace = gap_grace
        self._clock = clock

    def is_new(self, seq: int, key: str = "") -> bool:
        return seq > self.low and key not in self._seen.get(seq, ())

    def mark(self, seq: int, key: str = "") -> None:
        if seq > self.low:
            self._seen.setdefault(seq, set()).add(key)
            self._last_new[seq] = self._clock()
            self._missing_since.pop(seq, None)

    def advance(self, highest_reserved: int) -> None:
        now = self._clock()
        for seq in range(self.low + 1, highest_reserved + 1):
            if seq not in self._seen:
                self._missing_since.setdefault(seq, now)
        while self.low < highest_reserved:
            nxt = self.low + 1
            since = self._last_new[nxt] if nxt in self._seen else self._missing_since.get(nxt, now)
            if now - since < self._grace:
                break
            self._seen.pop(nxt, None)
            self._last_new.pop(nxt, None)
            self._missing_since.pop(nxt, None)
            self.low = nxt


class LiveHub:
    def __init__(
        self,
        source: ChangeSource,
        *,
        audiences_of: AudienceLookup | None = None,
        poll_interval: float = 0.5,
        gap_grace: float = 3.0,
    ) -> None:
        self._source = source
        self._audiences_of = audiences_of
        self._poll_interval = poll_interval
        self._gap_grace = gap_grace
        self._subs: dict[str, set[Subscription]] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watermark: SequenceWatermark | None = None
        listen = getattr(source, "listen", None)
        if callable(listen):  # a store that reports what this process wrote: hand it out at once
            listen(self.publish)

    def subscribe(self, member_id: str, audiences: Sequence[str]) -> Subscription:
        sub = Subscription(member_id, frozenset(audiences))
        self._subs.setdefault(member_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.member_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.member_id]

    def nudge(self) -> None:
        self._wakeup.set()

    def publish(self, changes: Sequence[Change]) -> int:
        """Changes this process has just written (the store acknowledged them): hand them to the open
        streams now, without waiting for a poll to read them back. Each is marked as handed out, so
        the next poll skips it; one at or below the watermark (or already handed out) is skipped here
        as a poll would. Before the first poll there is no watermark yet: the poller is nudged instead.
        Audience changes need a lookup and are left to the poll."""
        mark = self._watermark
        if mark is None:
            self.nudge()
            return 0
        dispatched = 0
        for change in changes:
            if change.item is None or not mark.is_new(change.seq, change.key):
                continue
            dispatched += self._dispatch(change, change.item)
            mark.mark(change.seq, change.key)
        return dispatched

    @property
    def open_streams(self) -> int:
        """Live streams subscribed now (one per open connection)."""
        return sum(len(subs) for subs in self._subs.values())

    async def _mark(self) -> SequenceWatermark:
        if self._watermark is None:
            self._watermark = SequenceWatermark(await self._source.current_seq(), self._gap_grace)
        return self._watermark

    async def resume_point(self) -> int:
        """A sequence number every change at or below which has landed (or never will): a stream
        replaying from here, then taking live changes, misses nothing."""
        return (await self._mark()).low

    async def poll_once(self) -> int:
        mark = await self._mark()
        highest = await self._source.current_seq()
        dispatched = 0
        for change in await self._source.changes_after(mark.low, limit=10_000):
            if not mark.is_new(change.seq, change.key):
                continue
            if change.item is None:
                dispatched += await self._audiences_changed(change)
            else:
                dispatched += self._dispatch(change, change.item)
            mark.mark(change.seq, change.key)
        mark.advance(highest)
        return dispatched

    async def _audiences_changed(self, change: Change) -> int:
        subs = list(self._subs.get(change.member_id or "", ()))
        if not subs:
            return 0
        audiences = (
            frozenset(await self._audiences_of(subs[0].member_id)) if self._audiences_of is not None else None
        )
        for sub in subs:
            if audiences is not None:
                sub.audiences = audiences
            sub.offer(AudiencesChanged(change.seq))
        return len(subs)

    def _dispatch(self, change: Change, item: FeedItem) -> int:
        count = 0
        if change.member_id is not None:
            for sub in self._subs.get(change.member_id, ()):
                sub.offer(item)
                count += 1
        elif change.audience is not None:
            for subs in self._subs.values():
                for sub in subs:
                    if change.audience in sub.audiences:
                        sub.offer(item)
                        count += 1
        return count

    async def run_forever(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # keep streaming; the next poll retries
                log.warning("live stream poll failed", error=str(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_interval)

    async def start(self) -> Callable[[], Awaitable[None]]:
        self._task = asyncio.create_task(self.run_forever(), name="live-hub")
        return self.stop

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
