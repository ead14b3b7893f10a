"""Members' preferences and their phone addresses (push subscriptions, SMS number, WeChat openid).

Addresses are personal data: they stay in this collection, are never logged and never put in events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from civicgrid_notifications.domain.preferences import CategoryPreference, Preferences, QuietHours
from civicgrid_notifications.domain.push_endpoints import subscription_id
from civicgrid_notifications.service_layer.ports import PushSubscriptionView
from civicgrid_runtime.stores.mongo import upserting

Document = dict[str, Any]


def preferences_from(doc: Document | None) -> Preferences:
    if not doc:
        return Preferences()
    quiet = doc.get("quiet_hours")
    return Preferences(
        channels=tuple(doc.get("channels", ("web_push",))),
        categories={
            name: CategoryPreference(
                enabled=bool(c.get("enabled", True)),
                channels=tuple(c["channels"]) if c.get("channels") is not None else None,
                digest=bool(c.get("digest", False)),
            )
            for name, c in (doc.get("categories") or {}).items()
        },
        quiet_hours=QuietHours.parse(quiet["start"], quiet["end"]) if quiet else None,
        digest_hour=int(doc.get("digest_hour", 20)),
    )


class MongoPreferenceStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.prefs = db["preferences"]
        self.addresses = db["addresses"]

    async def preferences(self, member_ids: Sequence[str]) -> dict[str, Preferences]:
        docs = {d["_id"]: d async for d in self.prefs.find({"_id": {"$in": list(member_ids)}})}
        return {m: preferences_from(docs.get(m)) for m in member_ids}

    async def raw_preferences(self, member_id: str) -> Document | None:
        return await self.prefs.find_one({"_id": member_id})

    async def save_preferences(self, member_id: str, doc: Document) -> None:
        await upserting(
            lambda: self.prefs.replace_one({"_id": member_id}, {"_id": member_id, **doc}, upsert=True)
        )

    async def channels_available(self, member_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}
        async for d in self.addresses.find({"_id": {"$in": list(member_ids)}}):
            channels = set()
            if d.get("web_push"):
                channels.add("web_push")
            if d.get("sms"):
                channels.add("sms")
            if d.get("wechat"):
                channels.add("wechat")
            found[d["_id"]] = frozenset(channels)
        return found

    async def members_with_addresses(self, after: str, limit: int) -> list[str]:
        """Members who can be reached on a phone, in id order after ``after`` (a page)."""
        found = self.addresses.find({"_id": {"$gt": after}}, {"_id": 1}).sort("_id", 1).limit(limit)
        return [d["_id"] async for d in found]

    async def address(self, member_id: str) -> Document:
        return await self.addresses.find_one({"_id": member_id}) or {}

    async def push_subscriptions(self, member_id: str) -> list[PushSubscriptionView]:
        doc = await self.addresses.find_one({"_id": member_id}, {"web_push": 1}) or {}
        return sorted(
            (
                PushSubscriptionView(key, str(sub.get("host", "")), sub.get("created_at"))
                for key, sub in (doc.get("web_push") or {}).items()
            ),
            key=lambda s: (s.created_at is None, s.created_at or datetime.min, s.id),
        )

    async def add_push_subscription(
        self, member_id: str, endpoint: str, keys: dict[str, str], host: str, now: datetime
    ) -> str:
        key = subscription_id(endpoint)
        field = f"web_push.{key}"
        update = {
            "$set": {f"{field}.endpoint": endpoint, f"{field}.keys": keys, f"{field}.host": host},
            "$min": {f"{field}.created_at": now},
        }
        await upserting(lambda: self.addresses.update_one({"_id": member_id}, update, upsert=True))
        return key

    async def remove_push_subscription(self, member_id: str, endpoint: str) -> None:
        """Called when the push service says the subscription is gone (404/410)."""
        await self.remove_push_subscription_by_id(member_id, subscription_id(endpoint))

    async def remove_push_subscription_by_id(self, member_id: str, key: str) -> None:
        await self.addresses.update_one({"_id": member_id}, {"$unset": {f"web_push.{key}": ""}})

    async def set_contact(self, member_id: str, channel: str, value: str | None) -> None:
        update = {"$set": {channel: value}} if value else {"$unset": {channel: ""}}
        await upserting(lambda: self.addresses.update_one({"_id": member_id}, update, upsert=True))
