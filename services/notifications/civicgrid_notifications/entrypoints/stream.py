"""Server-Sent Events: one stream per open device of a member; ``Last-Event-ID`` replays what was missed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from sse_starlette import EventSourceResponse

from civicgrid_contracts.values import IDENTIFIER_PATTERN
from civicgrid_notifications.adapters.live import LiveHub
from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from civicgrid_notifications.entrypoints.schemas import ERROR_RESPONSES, FeedItemOut
from civicgrid_notifications.service_layer.feed import FeedService
from civicgrid_notifications.service_layer.ports import FeedItem
from civicgrid_runtime.auth.principal import Principal
from civicgrid_runtime.errors import InvalidInput
from civicgrid_runtime.http import Authenticator


def _last_event_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(
            "Last-Event-ID must be the id of an event this stream sent (a non-negative integer)"
        )
    return int(value)


def stream_router(
    auth: Authenticator, feeds: FeedService, store: MongoFeedStore, hub: LiveHub, ping_seconds: float
) -> APIRouter:
    router = APIRouter(tags=["feed"])

    @router.get(
        "/members/{member_id}/stream",
        summary="Live feed (text/event-stream): `entry` events carry the entry and the unread count",
        response_class=EventSourceResponse,
        responses={
            200: {
                "description": "text/event-stream: `ready` (unread count), then `entry` events "
                "(`id:` = the change's sequence number; data = {item, unread})",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **ERROR_RESPONSES,
        },
    )
    async def stream(
        member_id: Annotated[str, Path(pattern=IDENTIFIER_PATTERN)],
        principal: Principal = Depends(auth.principal),
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    ) -> EventSourceResponse:
        feeds.authorise(principal, member_id)
        since = _last_event_id(last_event_id)
        audiences = await feeds.audiences(member_id)
        subscription = hub.subscribe(member_id, audiences)  # before the replay: nothing falls in between

        async def entry(item: FeedItem) -> dict[str, Any]:
            unread = await store.unread_count(member_id, audiences)
            shown = FeedItemOut.model_validate(item.to_json()).model_dump(mode="json")
            data = json.dumps({"item": shown, "unread": unread}, ensure_ascii=False)
            return {"id": str(item.seq), "event": "entry", "data": data}

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                sent: set[tuple[int, str]] = set()
                unread = await store.unread_count(member_id, audiences)
                yield {"event": "ready", "data": json.dumps({"member_id": member_id, "unread": unread})}
                if since is not None:
                    for item in await store.changes_since(member_id, audiences, since):
                        sent.add((item.seq, item.id))
                        yield await entry(item)
                while not subscription.overflowed:
                    item = await subscription.queue.get()
                    if (item.seq, item.id) in sent:
                        continue
                    yield await entry(item)
            finally:
                hub.unsubscribe(subscription)

        return EventSourceResponse(events(), ping=int(ping_seconds), headers={"Cache-Control": "no-store"})

    return router
