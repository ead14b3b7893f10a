"""Delivery state lives in the feed entry itself (``deliveries.<channel>``), with its outbox.

A due delivery has ``deliveries.<channel>.due``; claiming it moves ``due`` forward by a lease, so a
worker that dies mid-attempt leaves it to be retried after the lease. Recording the outcome and the
``notification.delivered`` / ``delivery_failed`` event is one document update (embedded outbox).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.notifications import NotificationDelivered, NotificationDeliveryFailed
from civicgrid_notifications.domain.delivery import DeliveryStatus
from civicgrid_notifications.service_layer.broadcast_push import PendingBroadcast
from civicgrid_notifications.service_layer.delivery import DueDelivery
from civicgrid_runtime.pii import redact_text
from civicgrid_runtime.stores.mongo import merge_updates, outbox_update

Document = dict[str, Any]
SOURCE = "/civicgrid/notifications"
CHANNELS = ("web_push", "sms", "wechat")


class MongoDeliveryStore:
    """Deliveries embedded in the documents of one collection: ``feed`` (personal entries) or
    ``broadcast_deliveries`` (one document per member reached by a broadcast on a phone)."""

    def __init__(self, db: AsyncDatabase[Document], collection: str = "feed") -> None:
        self.entries = db[collection]
        self.source = collection

    async def ensure_indexes(self) -> None:
        for channel in CHANNELS:
            await self.entries.create_index([(f"deliveries.{channel}.due", 1)], sparse=True)

    async def deliveries_of(self, member_id: str, entry_id: str) -> dict[str, Any] | None:
        doc = await self.entries.find_one({"_id": entry_id, "member_id": member_id}, {"deliveries": 1})
        if doc is None:
            return None
        return {
            channel: {k: v for k, v in state.items() if k in ("status", "attempts", "last_error", "due")}
            for channel, state in (doc.get("deliveries") or {}).items()
        }

    async def claim_due(self, channel: str, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
        field = f"deliveries.{channel}"
        claimed: list[DueDelivery] = []
        async for doc in (
            self.entries.find({f"{field}.due": {"$lte": now}}).sort(f"{field}.due", 1).limit(limit)
        ):
            state = doc["deliveries"][channel]
            result = await self.entries.update_one(
                {"_id": doc["_id"], f"{field}.due": state["due"]}, {"$set": {f"{field}.due": now + lease}}
            )
            if result.modified_count != 1:
                continue  # another worker claimed it
            claimed.append(
                DueDelivery(
                    entry_id=doc["_id"],
                    member_id=doc["member_id"],
                    community_code=doc["community_code"],
                    channel=channel,
                    attempts=int(state.get("attempts", 0)),
                    digest=bool(state.get("digest")),
                    category=doc["category"],
                    priority=doc["priority"],
                    title=doc["title"],
                    body=doc["body"],
                    link=doc.get("link"),
                    notification_id=str(doc.get("notification_id") or doc["_id"]),
                    source=self.source,
                )
            )
        return claimed

    async def record(
        self,
        due: DueDelivery,
        status: DeliveryStatus,
        *,
        attempts: int,
        next_at: datetime | None,
        error: str | None,
    ) -> None:
        field = f"deliveries.{due.channel}"
        sets: Document = {f"{field}.status": status.value, f"{field}.attempts": attempts}
        update: Document = {"$set": sets}
        if error is not None:
            sets[f"{field}.last_error"] = redact_text(error)[:500]
        if status is DeliveryStatus.QUEUED and next_at is not None:
            sets[f"{field}.due"] = next_at
        else:
            update["$unset"] = {f"{field}.due": ""}
            update = merge_updates(update, outbox_update([self._event(due, status, attempts, error)]))
        await self.entries.update_one({"_id": due.entry_id}, update)

    @staticmethod
    def _event(due: DueDelivery, status: DeliveryStatus, attempts: int, error: str | None) -> CloudEvent:
        common = {
            "community_code": due.community_code,
            "notification_id": due.notification_id or due.entry_id,
            "member_id": due.member_id,
            "channel": due.channel,
            "attempts": attempts,
        }
        payload: NotificationDelivered | NotificationDeliveryFailed
        if status is DeliveryStatus.FAILED:
            payload = NotificationDeliveryFailed(**common, error=redact_text(error or "failed")[:500])
        else:
            payload = NotificationDelivered(**common)
        # The event id is derived from the delivery, so a retried record never publishes two facts.
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicgrid:delivery:{due.entry_id}/{due.channel}"))
        return new_event(
            payload, source=SOURCE, subject=due.notification_id or due.entry_id, event_id=event_id
        )


class CompositeDeliveryStore:
    """Claims from several stores; records each outcome in the store the delivery came from."""

    def __init__(self, *stores: MongoDeliveryStore) -> None:
        self._stores = {s.source: s for s in stores}

    async def claim_due(self, channel: str, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
        claimed: list[DueDelivery] = []
        for store in self._stores.values():
            claimed += await store.claim_due(channel, now, lease, limit - len(claimed))
            if len(claimed) >= limit:
                break
        return claimed

    async def record(
        self,
        due: DueDelivery,
        status: DeliveryStatus,
        *,
        attempts: int,
        next_at: datetime | None,
        error: str | None,
    ) -> None:
        await self._stores[due.source].record(due, status, attempts=attempts, next_at=next_at, error=error)


class MongoBroadcastDeliveries:
    """One document per (broadcast, member reached on a phone), with its deliveries and outbox."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db["broadcast_deliveries"]

    async def add(self, broadcast: PendingBroadcast, plans: dict[str, dict[str, dict[str, object]]]) -> int:
        added = 0
        for member, deliveries in plans.items():
            result = await self.collection.update_one(
                {"_id": f"{broadcast.id}:{member}"},
                {
                    "$setOnInsert": {
                        "notification_id": broadcast.id,
                        "member_id": member,
                        "community_code": broadcast.community_code,
                        "category": broadcast.category,
                        "priority": broadcast.priority,
                        "title": broadcast.title,
                        "body": broadcast.body,
                        "link": broadcast.link,
                        "deliveries": deliveries,
                    }
                },
                upsert=True,
            )
            added += 1 if result.upserted_id is not None else 0
        return added
