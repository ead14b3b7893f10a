"""Idempotent consumers, keyed by event id.

The strongest form stores the "processed" mark in the same transaction or document as the effect
(the Neo4j and MongoDB stores in ``civicgrid_runtime.stores`` do that for their services). This
helper is the general wrapper for handlers whose effect is itself idempotent: skip what was seen,
run, then remember.
"""

from __future__ import annotations

from typing import Protocol

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.kafka.consumer import EventHandler


class Inbox(Protocol):
    async def seen(self, consumer: str, event_id: str) -> bool: ...

    async def remember(self, consumer: str, event_id: str) -> None: ...


def idempotent(consumer: str, inbox: Inbox, handler: EventHandler) -> EventHandler:
    async def once(event: CloudEvent) -> None:
        if await inbox.seen(consumer, event.id):
            return
        await handler(event)
        await inbox.remember(consumer, event.id)

    once.__name__ = getattr(handler, "__name__", "handler")
    return once
