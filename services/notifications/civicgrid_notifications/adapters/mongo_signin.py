"""Sign-in state in MongoDB: codes (hashed), rate-limit buckets, refresh tokens (hashed).

Collections: ``signin_codes`` (one per phone hash), ``signin_limits`` (one per bucket and window),
``refresh_tokens`` (one per token hash). FerretDB 1.24 has no TTL indexes: spent buckets, codes and
tokens are removed by the writes that create new ones. The phone → member lookup reads
``addresses.sms_hash``, written next to the SMS contact (:meth:`MongoSignInStore.remember_phone`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from civicgrid_notifications.domain.signin import Challenge, phone_hash
from civicgrid_notifications.service_layer.signin import RefreshRecord
from civicgrid_runtime.stores.mongo import upserting

Document = dict[str, Any]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class MongoSignInStore:
    def __init__(self, db: AsyncDatabase[Document], key: bytes | None) -> None:
        """``key`` None: no phone key (production without one mounted): numbers are not indexed."""
        self.codes = db["signin_codes"]
        self.limits = db["signin_limits"]
        self.refresh = db["refresh_tokens"]
        self.addresses = db["addresses"]
        self._key = key

    async def ensure_indexes(self) -> None:
        await self.addresses.create_index("sms_hash")
        await self.limits.create_index("expires_at")
        await self.codes.create_index("expires_at")
        await self.refresh.create_index("family")
        await self.refresh.create_index("expires_at")
        if self._key is None:
            return
        # Numbers set before sign-in existed get their hash now.
        async for doc in self.addresses.find(
            {"sms": {"$exists": True}, "sms_hash": {"$exists": False}}, {"sms": 1}
        ):
            if doc.get("sms"):
                await self.remember_phone(doc["_id"], doc["sms"])

    async def remember_phone(self, member_id: str, phone: str | None) -> None:
        """Keep the keyed hash of the member's SMS number (or forget it when the number is cleared)."""
        if self._key is None:
            return
        if phone:
            update = {"$set": {"sms_hash": phone_hash(self._key, phone)}}
        else:
            update = {"$unset": {"sms_hash": ""}}
        await upserting(lambda: self.addresses.update_one({"_id": member_id}, update, upsert=True))

    async def person_for_phone(self, phone_digest: str) -> list[str]:
        found = self.addresses.find({"sms_hash": phone_digest}, {"_id": 1}).limit(5)
        return sorted([d["_id"] async for d in found])

    async def hit(self, key: str, expires_at: datetime) -> int:
        update = {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires_at}}
        try:
            doc = await self.limits.find_one_and_update(
                {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:  # two first requests of a window at once: the other one created it
            doc = await self.limits.find_one_and_update(
                {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        count = int(doc["count"]) if doc else 1
        if count == 1:  # a new bucket: the ones whose window ended go
            await self.limits.delete_many({"expires_at": {"$lt": datetime.now(UTC)}})
        return count

    async def save_challenge(self, challenge: Challenge) -> None:
        await self.codes.delete_many({"expires_at": {"$lt": datetime.now(UTC) - timedelta(hours=1)}})
        doc = {
            "_id": challenge.phone_digest,
            "code_hash": challenge.code_digest,
            "expires_at": challenge.expires_at,
            "attempts": 0,
            "person_id": challenge.person_id,
        }
        try:
            await self.codes.replace_one({"_id": challenge.phone_digest}, doc, upsert=True)
        except DuplicateKeyError:  # a concurrent request for the same number created it: replace it
            await self.codes.replace_one({"_id": challenge.phone_digest}, doc, upsert=True)

    async def try_challenge(self, phone_digest: str) -> Challenge | None:
        doc = await self.codes.find_one_and_update(
            {"_id": phone_digest},
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        return Challenge(
            phone_digest=phone_digest,
            code_digest=str(doc.get("code_hash") or ""),
            expires_at=_aware(doc["expires_at"]),
            attempts=int(doc["attempts"]),
            person_id=doc.get("person_id"),
        )

    async def spend_challenge(self, phone_digest: str, code_digest: str) -> bool:
        result = await self.codes.delete_one({"_id": phone_digest, "code_hash": code_digest})
        return result.deleted_count == 1

    async def add_refresh(self, record: RefreshRecord) -> None:
        await self.refresh.delete_many({"expires_at": {"$lt": datetime.now(UTC)}})
        await self.refresh.insert_one(
            {
                "_id": record.token_digest,
                "family": record.family,
                "person_id": record.person_id,
                "expires_at": record.expires_at,
                "used": False,
            }
        )

    async def use_refresh(self, token_digest: str) -> RefreshRecord | None:
        doc = await self.refresh.find_one_and_update(
            {"_id": token_digest},
            {"$set": {"used": True}},
            return_document=ReturnDocument.BEFORE,
        )
        if doc is None:
            return None
        return RefreshRecord(
            token_digest=token_digest,
            family=doc["family"],
            person_id=doc["person_id"],
            expires_at=_aware(doc["expires_at"]),
            used=bool(doc.get("used")),
        )

    async def revoke_family(self, family: str) -> None:
        await self.refresh.update_many({"family": family}, {"$set": {"used": True}})
