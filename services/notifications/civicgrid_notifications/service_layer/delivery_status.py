"""Use cases: where a notification went — a member's own deliveries (of a personal entry or of a
broadcast in their feed) and a broadcast's delivery counts for its sender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from civicgrid_notifications.service_layer.ports import Directory, FeedStore
from civicgrid_runtime.auth.principal import Principal, Role
from civicgrid_runtime.errors import NotFound, PermissionDenied


class DeliveryReader(Protocol):
    async def deliveries_of(self, member_id: str, entry_id: str) -> dict[str, Any] | None: ...


class DeliveryCounter(Protocol):
    async def counts(self, notification_id: str) -> dict[str, dict[str, int]]: ...
    async def reached(self, notification_id: str) -> int: ...


@dataclass
class DeliveryStatusReader:
    directory: Directory
    feed: FeedStore
    personal: DeliveryReader
    broadcasts: DeliveryReader
    counter: DeliveryCounter

    async def of_item(self, principal: Principal, member_id: str, item_id: str) -> dict[str, Any]:
        """The member's deliveries of one item of their feed, per channel and per address."""
        principal.ensure_is_person_or_admin(member_id)
        item = await self.feed.item(member_id, await self.directory.audiences_of(member_id), item_id)
        if item is None:
            raise NotFound(f"no notification {item_id} in this member's feed")
        if item.kind == "personal":
            found = await self.personal.deliveries_of(member_id, item_id)
        else:
            found = await self.broadcasts.deliveries_of(member_id, f"{item_id}:{member_id}")
        return {"id": item_id, "kind": item.kind, "deliveries": found or {}}

    async def of_broadcast(self, principal: Principal, broadcast_id: str) -> dict[str, Any]:
        """Counts by outcome for the broadcast's sender (and admins, and coordinators of its community)."""
        broadcast = await self.feed.load_broadcast(broadcast_id)
        if broadcast is None:
            raise NotFound(f"no broadcast {broadcast_id}")
        if not (
            Role.ADMIN in principal.roles
            or principal.subject == broadcast.created_by
            or (principal.has_role(Role.COORDINATOR) and principal.can_manage(broadcast.community_code))
        ):
            raise PermissionDenied("only the broadcast's sender and its community's coordinators read this")
        channels = await self.counter.counts(broadcast_id)
        return {
            "id": broadcast.id,
            "audience": broadcast.audience.key,
            "community_code": broadcast.community_code,
            "created_at": broadcast.created_at,
            "push_pending": await self.feed.push_pending(broadcast_id),
            "members": await self.counter.reached(broadcast_id),
            "channels": channels,
        }
