"""Use cases of a member's push subscriptions: register a browser (endpoint checked), list, remove."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from civicgrid_notifications.domain.push_endpoints import (
    MAX_PUSH_SUBSCRIPTIONS,
    PushEndpointPolicy,
    subscription_id,
)
from civicgrid_notifications.service_layer.ports import PushSubscriptionStore, PushSubscriptionView
from civicgrid_runtime.auth.principal import Principal
from civicgrid_runtime.errors import RuleViolation


@dataclass
class PushSubscriptions:
    store: PushSubscriptionStore
    policy: PushEndpointPolicy
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def register(
        self, principal: Principal, member_id: str, endpoint: str, keys: dict[str, str]
    ) -> tuple[PushSubscriptionView, bool]:
        """Store the subscription (the same endpoint again updates it). Returns (it, created)."""
        principal.ensure_is_person_or_admin(member_id)
        host = self.policy.check(endpoint)
        existing = {s.id: s for s in await self.store.push_subscriptions(member_id)}
        key = subscription_id(endpoint)
        if key not in existing and len(existing) >= MAX_PUSH_SUBSCRIPTIONS:
            raise RuleViolation(
                "push_subscription_limit",
                f"a member may register at most {MAX_PUSH_SUBSCRIPTIONS} push subscriptions; "
                "delete one first",
            )
        now = self.clock()
        await self.store.add_push_subscription(member_id, endpoint, keys, host, now)
        if key in existing:
            return existing[key], False
        return PushSubscriptionView(key, host, now), True

    async def list(self, principal: Principal, member_id: str) -> list[PushSubscriptionView]:
        principal.ensure_is_person_or_admin(member_id)
        return await self.store.push_subscriptions(member_id)

    async def remove(self, principal: Principal, member_id: str, key: str) -> None:
        """Idempotent: removing a subscription that is not there changes nothing."""
        principal.ensure_is_person_or_admin(member_id)
        await self.store.remove_push_subscription_by_id(member_id, key)
