"""Use case: an org-graph or resources fact arrives -> projections updated -> personal feed entries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from civicgrid_contracts.catalogue import parse_payload
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.base import EventPayload
from civicgrid_notifications.domain.model import FeedEntry, entry_id
from civicgrid_notifications.domain.preferences import plan_deliveries
from civicgrid_notifications.domain.rules import RuleBook
from civicgrid_notifications.service_layer.ports import Directory, FeedStore, Notifier, PreferenceStore
from civicgrid_notifications.service_layer.recipients import resolve_recipients, template_values

_SUBJECT_FIELDS = ("resource_id", "team_id", "leader_resource_id", "person_id")
"""Fields of a fact that can make a deferred recipient id known."""


async def _nothing() -> None:
    return None


@dataclass
class EventNotifier:
    directory: Directory
    feed: FeedStore
    preferences: PreferenceStore
    book: RuleBook
    live: Notifier
    resources_url: str = "http://127.0.0.1:8002"
    configured: frozenset[str] | None = None
    """The channels this service can send on (None: all); others are never planned."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def handle(self, event: CloudEvent) -> int:
        """Project the fact, then write one entry per (recipient, rule); safe to repeat. Returns how many."""
        payload = parse_payload(event)
        moved = await self.directory.apply(event, payload)
        # After the projection (a stream recomputing the audiences sees the new ones), three
        # independent steps side by side: a fact is handled in the time of the longest, not the sum.
        _, notified, replayed = await asyncio.gather(
            self.feed.audiences_changed(sorted(moved)) if moved else _nothing(),
            self._notify(event, payload),
            self._replay_deferred(payload),
        )
        created = notified + replayed
        if created or moved:
            self.live.nudge()
        return created

    async def _replay_deferred(self, payload: EventPayload) -> int:
        """Facts on different topics are not ordered: a dispatch may name a team, resource or person
        whose facts arrive later. Such events were kept (``Directory.defer``); each new fact about an
        id they wait for notifies again (entries that exist are not written twice)."""
        keys = [getattr(payload, f) for f in _SUBJECT_FIELDS if getattr(payload, f, None)]
        if not keys:
            return 0
        created = 0
        for _key, _waiting_for, deferred in await self.directory.deferred_for(keys):
            created += await self._notify(deferred, parse_payload(deferred), defer=False)
        return created

    async def _notify(self, event: CloudEvent, payload: EventPayload, defer: bool = True) -> int:
        created = 0
        for rule in self.book.for_event(event.type):
            unresolved: list[str] = []
            recipients = sorted(
                await resolve_recipients(rule, payload, self.directory, self.book, unresolved)
            )
            if defer:
                for waiting_for in unresolved:
                    await self.directory.defer(waiting_for, rule.name, event)
            if not recipients:
                continue
            values, prefs, available = await asyncio.gather(
                template_values(payload, self.directory, self.book, self.resources_url),
                self.preferences.preferences(recipients),
                self.preferences.channels_available(recipients),
            )
            message = rule.message(values)
            now = self.clock()
            entries = []
            for member in recipients:
                reachable = available.get(member, frozenset())
                if self.configured is not None:
                    reachable &= self.configured
                plans = plan_deliveries(prefs[member], message.category, message.priority, reachable, now)
                deliveries: dict[str, dict[str, object]] = {
                    p.channel: {
                        "status": "queued",
                        "attempts": 0,
                        "due": p.not_before,
                        "digest": p.digest,
                    }
                    for p in plans
                }
                entries.append(
                    FeedEntry(
                        id=entry_id(member, event.id, rule.name),
                        member_id=member,
                        rule=rule.name,
                        source_event_id=event.id,
                        community_code=payload.community_code,
                        message=message,
                        created_at=now,
                        deliveries=deliveries,
                    )
                )
            created += await self.feed.add_entries(entries)
        return created
