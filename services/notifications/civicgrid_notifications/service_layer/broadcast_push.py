"""Use case: take a broadcast to the phones of its audience, a page of reachable members at a time.

The feed side of a broadcast is one document (fan-out on read). Phones need one delivery per member,
so this step pages through the members who registered an address (push subscription, SMS, WeChat),
keeps those in the audience, plans their channels (critical ignores quiet hours and opt-outs) and
writes one delivery document per member. The page cursor is stored on the broadcast after each page;
a crash repeats at most one page, whose writes are idempotent (one document per broadcast and member).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from civicgrid_notifications.domain.model import Audience, Priority
from civicgrid_notifications.domain.preferences import plan_deliveries
from civicgrid_notifications.service_layer.ports import PreferenceStore


@dataclass(frozen=True)
class PendingBroadcast:
    id: str
    audience: str
    community_code: str
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    push_after: str


class BroadcastQueue(Protocol):
    async def pending_pushes(self, limit: int) -> list[PendingBroadcast]: ...
    async def advance_push(self, broadcast_id: str, after: str, done: bool) -> None: ...


class AddressIndex(Protocol):
    async def members_with_addresses(self, after: str, limit: int) -> list[str]: ...


class AudienceResolver(Protocol):
    async def members_in_audience(self, audience: Audience, candidates: Sequence[str]) -> set[str]: ...


class BroadcastDeliveries(Protocol):
    async def add(
        self, broadcast: PendingBroadcast, plans: dict[str, dict[str, dict[str, object]]]
    ) -> int: ...


@dataclass
class BroadcastPusher:
    queue: BroadcastQueue
    addresses: AddressIndex
    audiences: AudienceResolver
    preferences: PreferenceStore
    deliveries: BroadcastDeliveries
    page_size: int = 500
    configured: frozenset[str] | None = None
    """The channels this service can send on (None: all); others are never planned."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def run_once(self) -> int:
        """One page of each pending broadcast; returns how many deliveries were planned."""
        planned = 0
        for broadcast in await self.queue.pending_pushes(limit=5):
            members = await self.addresses.members_with_addresses(broadcast.push_after, self.page_size)
            if members:
                planned += await self._page(broadcast, members)
            done = len(members) < self.page_size
            await self.queue.advance_push(
                broadcast.id, members[-1] if members else broadcast.push_after, done
            )
        return planned

    async def _page(self, broadcast: PendingBroadcast, members: list[str]) -> int:
        reached = sorted(
            await self.audiences.members_in_audience(Audience.parse(broadcast.audience), members)
        )
        if not reached:
            return 0
        prefs = await self.preferences.preferences(reached)
        available = await self.preferences.channels_available(reached)
        now = self.clock()
        plans: dict[str, dict[str, dict[str, object]]] = {}
        for member in reached:
            reachable = available.get(member, frozenset())
            if self.configured is not None:
                reachable &= self.configured
            chosen = plan_deliveries(
                prefs[member], broadcast.category, Priority(broadcast.priority), reachable, now
            )
            if chosen:
                plans[member] = {
                    p.channel: {"status": "queued", "attempts": 0, "due": p.not_before, "digest": p.digest}
                    for p in chosen
                }
        return await self.deliveries.add(broadcast, plans) if plans else 0
