"""Ports the use cases need; MongoDB adapters implement them, unit tests use fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.base import EventPayload
from civicgrid_notifications.domain.model import Broadcast, FeedEntry, FeedState
from civicgrid_notifications.domain.preferences import Preferences


@dataclass(frozen=True)
class MembershipView:
    membership_id: str
    person_id: str
    post: str
    org_id: str
    org_name: str
    place_code: str
    grid_id: str | None
    start_date: str
    basis_reference: str


@dataclass(frozen=True)
class RequestView:
    request_id: str
    community_code: str
    grid_id: str | None
    kind: str
    category: str
    urgency: str
    summary: str
    due_at: datetime | None
    resident_id: str | None
    assignee_ids: tuple[str, ...]


class Directory(Protocol):
    """The service's own projections of org-graph and resources facts."""

    async def apply(self, event: CloudEvent, payload: EventPayload) -> set[str]:
        """Project the fact; returns the persons whose audiences it may have changed."""
        ...

    async def membership(self, membership_id: str) -> MembershipView | None: ...
    async def organisation_name(self, org_id: str) -> str:
        """The organisation's name, or its id while its fact has not arrived."""
        ...

    async def grid_name(self, grid_id: str) -> str | None: ...
    async def grid_team(self, grid_id: str) -> set[str]: ...
    async def team(self, team_id: str) -> tuple[str | None, set[str]]: ...
    async def resource(self, resource_id: str) -> tuple[str | None, str | None]: ...
    async def request(self, request_id: str) -> RequestView | None: ...
    async def persons_for_assignees(
        self, ids: Sequence[str], coordinator_posts: frozenset[str] = frozenset()
    ) -> tuple[set[str], list[str]]: ...
    async def defer(self, waiting_for: str, rule: str, event: CloudEvent) -> None: ...
    async def deferred_for(self, ids: Sequence[str]) -> list[tuple[str, str, CloudEvent]]: ...
    async def community_coordinators(self, community_code: str, posts: frozenset[str]) -> set[str]: ...
    async def compound_owners(self, compound_code: str) -> set[str]:
        """The owners of the compound's households (org-graph's household facts)."""
        ...

    async def audiences_of(self, person_id: str) -> list[str]: ...


@dataclass(frozen=True)
class FeedItem:
    """One line of a member's feed: a personal entry or a broadcast, with the member's state."""

    id: str
    kind: str  # "personal" | "broadcast"
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    state: FeedState
    created_at: datetime
    seq: int
    community_code: str
    traceparent: str | None = field(default=None, compare=False)
    """The trace context its change was written in (stored only while tracing is on): the live
    stream's delivery of it joins that trace. Never shown to the member."""
    tracestate: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "category": self.category,
            "priority": self.priority,
            "title": self.title,
            "body": self.body,
            "link": self.link,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "seq": self.seq,
            "community_code": self.community_code,
        }


@dataclass(frozen=True)
class PageCursor:
    created_at: datetime
    id: str


class FeedStore(Protocol):
    async def add_entries(self, entries: Sequence[FeedEntry]) -> int: ...
    async def add_broadcast(self, broadcast: Broadcast) -> bool: ...
    async def load_broadcast(self, broadcast_id: str) -> Broadcast | None: ...
    async def push_pending(self, broadcast_id: str) -> bool: ...
    async def page(
        self,
        member_id: str,
        audiences: Sequence[str],
        *,
        before: PageCursor | None,
        limit: int,
        category: str | None,
        states: Sequence[FeedState],
    ) -> tuple[list[FeedItem], bool]: ...
    async def unread_count(self, member_id: str, audiences: Sequence[str]) -> int: ...
    async def item(self, member_id: str, audiences: Sequence[str], item_id: str) -> FeedItem | None: ...
    async def set_state(self, member_id: str, item: FeedItem, state: FeedState) -> FeedItem: ...
    async def set_all_read(self, member_id: str, audiences: Sequence[str], category: str | None) -> int: ...
    async def changes_since(self, member_id: str, audiences: Sequence[str], seq: int) -> list[FeedItem]: ...
    async def audiences_changed(self, member_ids: Sequence[str]) -> None: ...


class PreferenceStore(Protocol):
    async def preferences(self, member_ids: Sequence[str]) -> dict[str, Preferences]: ...
    async def channels_available(self, member_ids: Sequence[str]) -> dict[str, frozenset[str]]: ...


@dataclass(frozen=True)
class PushSubscriptionView:
    """A member's registered browser, as shown to the member (the endpoint itself stays stored)."""

    id: str
    host: str
    created_at: datetime | None


class PushSubscriptionStore(Protocol):
    async def push_subscriptions(self, member_id: str) -> list[PushSubscriptionView]: ...
    async def add_push_subscription(
        self, member_id: str, endpoint: str, keys: dict[str, str], host: str, now: datetime
    ) -> str: ...
    async def remove_push_subscription_by_id(self, member_id: str, key: str) -> None: ...


class Notifier(Protocol):
    """Wakes the live streams of this process (other processes see the change by polling)."""

    def nudge(self) -> None: ...


class LiveFeed(Notifier, Protocol):
    async def resume_point(self) -> int:
        """The sequence number a device may resume its stream from after reading a page now."""
        ...
