"""Use cases of a member's feed: read a page, count unread, mark one or all, send a broadcast."""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from civicgrid_notifications.domain.model import (
    Audience,
    AudienceKind,
    Broadcast,
    FeedState,
    Message,
    next_state,
)
from civicgrid_notifications.service_layer.ports import Directory, FeedItem, FeedStore, LiveFeed, PageCursor
from civicgrid_runtime.auth.principal import Principal, Role
from civicgrid_runtime.errors import Conflict, InvalidInput, NotFound, PermissionDenied

VISIBLE = (FeedState.UNSEEN, FeedState.SEEN, FeedState.READ)


def encode_cursor(item: FeedItem) -> str:
    raw = f"{item.created_at.isoformat()}|{item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> PageCursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        stamp, _, item_id = raw.partition("|")
        created = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not one this service returned (use next_cursor as given)") from None
    if not item_id or created.tzinfo is None:
        raise InvalidInput("cursor is not one this service returned (use next_cursor as given)")
    return PageCursor(created, item_id)


class RegionLookup(Protocol):
    async def in_region(self, region: str, audience_code: str) -> bool: ...


@dataclass
class FeedService:
    directory: Directory
    feed: FeedStore
    live: LiveFeed
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @staticmethod
    def authorise(principal: Principal, member_id: str) -> None:
        """Only the member (or an admin) reads or changes a feed, whatever id is in the URL."""
        principal.ensure_is_person_or_admin(member_id)

    async def audiences(self, member_id: str) -> list[str]:
        return await self.directory.audiences_of(member_id)

    async def page(
        self,
        principal: Principal,
        member_id: str,
        *,
        cursor: str | None,
        limit: int,
        category: str | None,
        states: tuple[FeedState, ...] | None,
    ) -> dict[str, Any]:
        self.authorise(principal, member_id)
        resume = await self.live.resume_point()  # before reading: a stream from here misses nothing
        audiences = await self.audiences(member_id)
        before = decode_cursor(cursor) if cursor else None
        # The page and the unread count read independently: side by side.
        (items, more), unread = await asyncio.gather(
            self.feed.page(
                member_id, audiences, before=before, limit=limit, category=category, states=states or VISIBLE
            ),
            self.feed.unread_count(member_id, audiences),
        )
        return {
            "items": [i.to_json() for i in items],
            "next_cursor": encode_cursor(items[-1]) if more and items else None,
            "unread": unread,
            "seq": resume,
        }

    async def unread(self, principal: Principal, member_id: str) -> int:
        self.authorise(principal, member_id)
        return await self.feed.unread_count(member_id, await self.audiences(member_id))

    async def mark(self, principal: Principal, member_id: str, item_id: str, state: FeedState) -> FeedItem:
        self.authorise(principal, member_id)
        audiences = await self.audiences(member_id)
        item = await self.feed.item(member_id, audiences, item_id)
        if item is None:
            raise NotFound(f"no notification {item_id} in this member's feed")
        updated = await self.feed.set_state(member_id, item, next_state(item.state, state))
        self.live.nudge()
        return updated

    async def mark_all_read(self, principal: Principal, member_id: str, category: str | None) -> int:
        self.authorise(principal, member_id)
        changed = await self.feed.set_all_read(member_id, await self.audiences(member_id), category)
        self.live.nudge()
        return changed

    async def send_broadcast(
        self,
        principal: Principal,
        regions: RegionLookup,
        *,
        audience: Audience,
        community_code: str,
        message: Message,
        broadcast_id: str | None,
    ) -> tuple[str, bool]:
        """Store one broadcast for the whole audience (fan-out on read). Returns (id, created).

        A retry with the same id and the same content answers the existing broadcast (not created);
        the same id with other content is a conflict naming the fields that differ."""
        if not principal.has_role(Role.ADMIN, Role.COORDINATOR):
            raise PermissionDenied("only coordinators and admins send broadcasts")
        principal.ensure_can_manage(community_code)
        code = audience.region_code()
        if code is not None:
            if audience.kind is AudienceKind.STREET and not community_code.startswith(code):
                raise InvalidInput("community_code must lie in the street the broadcast addresses")
            if audience.kind is not AudienceKind.STREET and not code.startswith(community_code):
                raise InvalidInput("the audience must lie in community_code")
            principal.ensure_can_manage(code)
        elif Role.ADMIN not in principal.roles:
            target = audience.code.split("/", 1)[0]
            if not await regions.in_region(principal.region_code or "", target):
                raise PermissionDenied(f"{audience.key} is not known in the caller's region")
        broadcast = Broadcast(
            id=broadcast_id or f"b{uuid.uuid4().hex}",
            audience=audience,
            community_code=community_code,
            message=message,
            created_at=self.clock(),
            created_by=principal.subject,
        )
        created = await self.feed.add_broadcast(broadcast)
        if not created:
            existing = await self.feed.load_broadcast(broadcast.id)
            differences = existing.differences(broadcast) if existing else []
            if differences:
                raise Conflict(
                    f"broadcast {broadcast.id} already exists with a different {', '.join(differences)}; "
                    "use a new id for a new notice",
                    differences=differences,
                )
            return broadcast.id, False
        self.live.nudge()
        return broadcast.id, True
