"""Delivery state lives in the feed entry itself (``deliveries.<channel>``), with its outbox.

A due delivery has ``deliveries.<channel>.due`` (the earliest due time of its addresses); claiming it
moves ``due`` forward by a lease, so a worker that dies mid-attempt leaves it to be retried after the
lease. ``deliveries.<channel>.targets.<address>`` keeps each address's status, attempts, due time and
last error (a push subscription id, or ``primary`` for the SMS number / WeChat openid). Recording the
outcome and the ``notification.delivered`` / ``delivery_failed`` events of the addresses that became
final is one document update (embedded outbox).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.notifications import NotificationDelivered, NotificationDeliveryFailed
from civicgrid_notifications.domain.delivery import PRIMARY, DeliveryStatus, TargetState
from civicgrid_notifications.service_layer.broadcast_push import PendingBroadcast
from civicgrid_notifications.service_layer.delivery import DeliveryOutcome, DueDelivery
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
        if self.source != "feed":
            await self.entries.create_index([("notification_id", 1)])

    async def deliveries_of(self, member_id: str, entry_id: str) -> dict[str, Any] | None:
        doc = await self.entries.find_one({"_id": entry_id, "member_id": member_id}, {"deliveries": 1})
        if doc is None:
            return None
        return {channel: _shown(state) for channel, state in (doc.get("deliveries") or {}).items()}

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
                    targets={k: _target(t) for k, t in (state.get("targets") or {}).items()},
                )
            )
        return claimed

    async def record(self, due: DueDelivery, outcome: DeliveryOutcome) -> None:
        """The channel's state, every target's, and the events of the targets that became final: one
        document update (the embedded outbox), so an outcome is never recorded without its event."""
        state: Document = {
            "status": outcome.status.value,
            "attempts": outcome.attempts,
            "digest": due.digest,
            "targets": {key: _target_doc(t) for key, t in outcome.targets.items()},
        }
        if outcome.due is not None:
            state["due"] = outcome.due
        if outcome.last_error is not None:
            state["last_error"] = redact_text(outcome.last_error)[:500]
        events = [self._event(due, key, outcome.targets[key]) for key in outcome.became_final]
        if not outcome.targets and outcome.status is DeliveryStatus.FAILED:
            events.append(
                self._event(
                    due, None, TargetState(DeliveryStatus.FAILED, outcome.attempts, None, outcome.last_error)
                )
            )
        update: Document = {"$set": {f"deliveries.{due.channel}": state}}
        if events:
            update = merge_updates(update, outbox_update(events))
        await self.entries.update_one({"_id": due.entry_id}, update)

    @staticmethod
    def _event(due: DueDelivery, key: str | None, target: TargetState) -> CloudEvent:
        address_id = key if key not in (None, PRIMARY) else None
        common: dict[str, Any] = {
            "community_code": due.community_code,
            "notification_id": due.notification_id or due.entry_id,
            "member_id": due.member_id,
            "channel": due.channel,
            "attempts": max(1, target.attempts),
            "address_id": address_id,
        }
        payload: NotificationDelivered | NotificationDeliveryFailed
        if target.status is DeliveryStatus.FAILED:
            payload = NotificationDeliveryFailed(
                **common, error=redact_text(target.last_error or "failed")[:500]
            )
        else:
            payload = NotificationDelivered(**common)
        # The event id is derived from the delivery and the address, so a retried record never
        # publishes two facts (one address per channel keeps the id it had before addresses were kept).
        name = f"{due.entry_id}/{due.channel}" + (f"/{address_id}" if address_id else "")
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicgrid:delivery:{name}"))
        return new_event(
            payload, source=SOURCE, subject=due.notification_id or due.entry_id, event_id=event_id
        )

    async def counts(self, notification_id: str) -> dict[str, dict[str, int]]:
        """How many members' deliveries of a notification are in each status, per channel."""
        found: dict[str, dict[str, int]] = {}
        for channel in CHANNELS:
            field = f"deliveries.{channel}"
            rows = await (
                await self.entries.aggregate(
                    [
                        {"$match": {"notification_id": notification_id, field: {"$exists": True}}},
                        {"$group": {"_id": f"${field}.status", "n": {"$sum": 1}}},
                    ]
                )
            ).to_list()
            if rows:
                found[channel] = {str(r["_id"]): int(r["n"]) for r in rows}
        return found

    async def reached(self, notification_id: str) -> int:
        """How many members a notification was planned for on a phone."""
        return await self.entries.count_documents({"notification_id": notification_id})


def _target(doc: Document) -> TargetState:
    return TargetState(
        DeliveryStatus(doc["status"]), int(doc.get("attempts", 0)), doc.get("due"), doc.get("last_error")
    )


def _target_doc(target: TargetState) -> Document:
    doc: Document = {"status": target.status.value, "attempts": target.attempts}
    if target.due is not None:
        doc["due"] = target.due
    if target.last_error is not None:
        doc["last_error"] = redact_text(target.last_error)[:500]
    return doc


def _shown(state: Document) -> Document:
    shown = {k: v for k, v in state.items() if k in ("status", "attempts", "last_error", "due")}
    shown["targets"] = {
        key: {k: v for k, v in t.items() if k in ("status", "attempts", "last_error", "due")}
        for key, t in (state.get("targets") or {}).items()
    }
    return shown


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

    async def record(self, due: DueDelivery, outcome: DeliveryOutcome) -> None:
        await self._stores[due.source].record(due, outcome)


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
