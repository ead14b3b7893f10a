"""Use case: deliver due feed entries to phones through the configured channels, with retries."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from civicgrid_notifications.domain.delivery import DeliveryStatus, after_failure, backoff_seconds
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Outbound:
    """What a channel sends: one entry, or a digest of several (``count`` > 1)."""

    entry_ids: tuple[str, ...]
    member_id: str
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    count: int = 1


class DeliveryError(Exception):
    """A channel could not deliver; ``permanent`` means retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """One way to reach a phone. ``send`` returns SENT (accepted) or DELIVERED (confirmed)."""

    name: str

    async def send(self, outbound: Outbound, address: Mapping[str, Any]) -> DeliveryStatus: ...


@dataclass(frozen=True)
class DueDelivery:
    entry_id: str
    member_id: str
    community_code: str
    channel: str
    attempts: int
    digest: bool
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    notification_id: str = ""
    """The feed entry or the broadcast the member was told about (the delivery events name it)."""
    source: str = "feed"
    """Which store holds this delivery (personal entries or broadcast deliveries)."""


class DeliveryStore(Protocol):
    async def claim_due(
        self, channel: str, now: datetime, lease: timedelta, limit: int
    ) -> list[DueDelivery]: ...
    async def record(
        self,
        due: DueDelivery,
        status: DeliveryStatus,
        *,
        attempts: int,
        next_at: datetime | None,
        error: str | None,
    ) -> None: ...


class AddressBook(Protocol):
    async def address(self, member_id: str) -> dict[str, Any]: ...


@dataclass
class DeliveryWorker:
    store: DeliveryStore
    addresses: AddressBook
    channels: Mapping[str, Channel]
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    lease: timedelta = timedelta(seconds=60)
    batch_size: int = 100
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    rng: random.Random = field(default_factory=random.Random)

    async def run_once(self) -> int:
        """Claim what is due on every channel and attempt it once; returns how many were attempted."""
        attempted = 0
        for name, channel in self.channels.items():
            now = self.clock()
            due = await self.store.claim_due(name, now, self.lease, self.batch_size)
            for group in _groups(due):
                await self._attempt(channel, group)
                attempted += len(group)
        return attempted

    async def _attempt(self, channel: Channel, group: Sequence[DueDelivery]) -> None:
        first = group[0]
        attempts = max(d.attempts for d in group) + 1
        try:
            address = await self.addresses.address(first.member_id)
            status = await channel.send(_outbound(group), address)
        except DeliveryError as error:
            status = after_failure(attempts, self.max_attempts, error.permanent)
            delay = backoff_seconds(attempts, self.backoff_base, self.backoff_cap, self.rng)
            next_at = self.clock() + timedelta(seconds=delay) if status is DeliveryStatus.QUEUED else None
            log.info(
                "delivery attempt failed", channel=channel.name, attempts=attempts, final=next_at is None
            )
            for due in group:
                await self.store.record(due, status, attempts=attempts, next_at=next_at, error=str(error))
            return
        for due in group:
            await self.store.record(due, status, attempts=attempts, next_at=None, error=None)


def _groups(due: Sequence[DueDelivery]) -> list[list[DueDelivery]]:
    """Digest deliveries of one member go out as one message; the rest one by one."""
    digests: dict[str, list[DueDelivery]] = {}
    groups: list[list[DueDelivery]] = []
    for d in due:
        if d.digest:
            digests.setdefault(d.member_id, []).append(d)
        else:
            groups.append([d])
    return groups + list(digests.values())


def _outbound(group: Sequence[DueDelivery]) -> Outbound:
    first = group[0]
    if len(group) == 1 and not first.digest:
        return Outbound(
            (first.notification_id or first.entry_id,),
            first.member_id,
            first.category,
            first.priority,
            first.title,
            first.body,
            first.link,
        )
    titles = "；".join(d.title for d in group[:5])
    return Outbound(
        tuple(d.notification_id or d.entry_id for d in group),
        first.member_id,
        "digest",
        "low",
        f"您有{len(group)}条新通知",
        titles + ("……" if len(group) > 5 else ""),
        None,
        count=len(group),
    )
