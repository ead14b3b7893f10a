"""Use case: deliver due notifications to phones through the configured channels, with retries.

A channel may have several addresses per member (a push subscription per browser): each is a target
with its own status, attempts, backoff and final outcome. The targets are the member's addresses at
the first attempt; an address removed later (deleted, or gone: HTTP 404/410) fails its target.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from civicgrid_notifications.domain.delivery import (
    DeliveryStatus,
    TargetState,
    after_failure,
    backoff_seconds,
    channel_status,
)
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)
NO_ADDRESS = "the member has no address on this channel"
REMOVED = "the address was removed before the notice reached it"


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
    """One way to reach a phone. ``targets`` lists the member's addresses on it (key -> address);
    ``send`` reaches one of them and returns SENT (accepted) or DELIVERED (confirmed)."""

    name: str

    def targets(self, addresses: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]: ...

    async def send(self, outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus: ...


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
    targets: Mapping[str, TargetState] = field(default_factory=dict)
    """Per address; empty until the first attempt lists the member's addresses."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt round leaves: the channel's status and due time, each target's state, and
    which targets became final in this round (each gets its delivered / delivery_failed event)."""

    status: DeliveryStatus
    attempts: int
    due: datetime | None
    last_error: str | None
    targets: Mapping[str, TargetState]
    became_final: tuple[str, ...]


class DeliveryStore(Protocol):
    async def claim_due(
        self, channel: str, now: datetime, lease: timedelta, limit: int
    ) -> list[DueDelivery]: ...
    async def record(self, due: DueDelivery, outcome: DeliveryOutcome) -> None: ...


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
        now = self.clock()
        current = channel.targets(await self.addresses.address(group[0].member_id))
        plans = [(due, self._targets(due, current, now)) for due in group]
        before = [dict(due.targets) for due in group]
        keys = sorted({k for _due, targets in plans for k, t in targets.items() if _is_due(t, now)})

        async def one(key: str) -> None:
            waiting = [(due, targets) for due, targets in plans if _is_due(targets.get(key), now)]
            attempts = max(targets[key].attempts for _due, targets in waiting) + 1
            try:
                status = await _send(channel, _outbound([d for d, _t in waiting]), current[key])
            except DeliveryError as error:
                status = after_failure(attempts, self.max_attempts, error.permanent)
                retry_at = None
                if status is DeliveryStatus.QUEUED:
                    delay = backoff_seconds(attempts, self.backoff_base, self.backoff_cap, self.rng)
                    retry_at = self.clock() + timedelta(seconds=delay)
                log.info(
                    "delivery attempt failed", channel=channel.name, attempts=attempts, final=retry_at is None
                )
                for _due, targets in waiting:
                    targets[key] = TargetState(status, attempts, retry_at, str(error))
                return
            for _due, targets in waiting:
                targets[key] = TargetState(status, attempts, None, None)

        await asyncio.gather(*(one(key) for key in keys))
        for (due, targets), old in zip(plans, before, strict=True):
            await self.store.record(due, _outcome(targets, old, now))

    def _targets(
        self, due: DueDelivery, current: Mapping[str, Mapping[str, Any]], now: datetime
    ) -> dict[str, TargetState]:
        if not due.targets:
            return {key: TargetState(DeliveryStatus.QUEUED, 0, now) for key in current}
        targets = dict(due.targets)
        for key, state in targets.items():
            if state.status is DeliveryStatus.QUEUED and key not in current:
                targets[key] = TargetState(DeliveryStatus.FAILED, state.attempts, None, REMOVED)
        return targets


async def _send(channel: Channel, outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus:
    """One send; an unexpected error (a malformed stored address, a bug) counts as a failed attempt
    of this target only, so the others' outcomes are still recorded (and not sent twice)."""
    try:
        return await channel.send(outbound, target)
    except DeliveryError:
        raise
    except Exception as error:
        log.warning("delivery attempt raised", channel=channel.name, error=type(error).__name__)
        raise DeliveryError(f"{channel.name} send failed: {type(error).__name__}") from None


def _is_due(state: TargetState | None, now: datetime) -> bool:
    return (
        state is not None
        and state.status is DeliveryStatus.QUEUED
        and (state.due is None or state.due <= now)
    )


def _outcome(
    targets: Mapping[str, TargetState], before: Mapping[str, TargetState], now: datetime
) -> DeliveryOutcome:
    if not targets:
        return DeliveryOutcome(DeliveryStatus.FAILED, 1, None, NO_ADDRESS, {}, ())
    queued = [t.due or now for t in targets.values() if t.status is DeliveryStatus.QUEUED]
    errors = [t.last_error for t in targets.values() if t.last_error]
    became_final = tuple(
        sorted(k for k, t in targets.items() if t.final and (k not in before or not before[k].final))
    )
    return DeliveryOutcome(
        status=channel_status(targets),
        attempts=max(t.attempts for t in targets.values()),
        due=min(queued) if queued else None,
        last_error=errors[-1] if errors else None,
        targets=targets,
        became_final=became_final,
    )


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
