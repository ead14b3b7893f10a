"""Feed entries, broadcasts, audiences and the states a member's notification goes through."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from civicgrid_runtime.errors import IllegalTransition, InvalidInput


class FeedState(StrEnum):
    UNSEEN = "unseen"
    SEEN = "seen"
    READ = "read"
    ARCHIVED = "archived"


UNREAD_STATES = (FeedState.UNSEEN, FeedState.SEEN)

# A state only moves forward (a read entry is never unseen again); archived is final.
_ORDER = {FeedState.UNSEEN: 0, FeedState.SEEN: 1, FeedState.READ: 2, FeedState.ARCHIVED: 3}


def next_state(current: FeedState, requested: FeedState) -> FeedState:
    """The state after a member's request: forward moves apply, repeating one is a no-op."""
    if requested is FeedState.UNSEEN:
        raise IllegalTransition(current.value, requested.value, [s.value for s in _ORDER if _ORDER[s] > 0])
    if _ORDER[requested] < _ORDER[current]:
        allowed = [s.value for s in _ORDER if _ORDER[s] >= _ORDER[current]]
        raise IllegalTransition(current.value, requested.value, allowed)
    return requested


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"
    """Emergencies: ignore quiet hours and opt-outs."""


class AudienceKind(StrEnum):
    PERSON = "person"
    POST = "post"
    ORGANISATION = "organisation"
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    code: str
    """person id, ``<org id>/<post>``, org id, grid id, community code or street code."""

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.code}"

    @classmethod
    def parse(cls, key: str) -> Audience:
        kind, _, code = key.partition(":")
        try:
            return cls(AudienceKind(kind), code)
        except ValueError:
            allowed = ", ".join(k.value for k in AudienceKind)
            raise InvalidInput(f"audience kind must be one of {allowed}, got {kind!r}") from None

    def region_code(self) -> str | None:
        """The region a coordinator must manage to address this audience (None: needs a lookup)."""
        if self.kind in (AudienceKind.GRID, AudienceKind.COMMUNITY, AudienceKind.STREET):
            return self.code
        return None


@dataclass(frozen=True)
class Message:
    """What a member reads: rendered from a template in data."""

    category: str
    priority: Priority
    title: str
    body: str
    link: str | None = None


@dataclass(frozen=True)
class FeedEntry:
    """One personal notification of one member (fan-out on write)."""

    id: str
    member_id: str
    rule: str
    source_event_id: str
    community_code: str
    message: Message
    created_at: datetime
    state: FeedState = FeedState.UNSEEN
    deliveries: dict[str, dict[str, object]] = field(default_factory=dict)


def entry_id(member_id: str, source_event_id: str, rule: str) -> str:
    """Deterministic: the same (member, event, rule) always has the same id, so redelivery never doubles."""
    digest = hashlib.sha256(f"{member_id}\x1f{source_event_id}\x1f{rule}".encode()).hexdigest()
    return f"n{digest[:31]}"


@dataclass(frozen=True)
class Broadcast:
    """One notice to a large audience (fan-out on read): stored once, merged into members' feeds."""

    id: str
    audience: Audience
    community_code: str
    message: Message
    created_at: datetime
    created_by: str

    def differences(self, other: Broadcast) -> list[str]:
        """The fields in which ``other`` (a retry with the same id) says something else."""
        mine, theirs = self.message, other.message
        pairs = {
            "audience": (self.audience.key, other.audience.key),
            "community_code": (self.community_code, other.community_code),
            "category": (mine.category, theirs.category),
            "priority": (mine.priority, theirs.priority),
            "title": (mine.title, theirs.title),
            "body": (mine.body, theirs.body),
            "link": (mine.link, theirs.link),
        }
        return [name for name, (a, b) in pairs.items() if a != b]
