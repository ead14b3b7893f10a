"""Server-Sent Events: one stream per open device of a member; nothing is missed across reconnects.

The stream starts at a resume point: the ``Last-Event-ID`` the device sends (the last event it saw,
or the ``seq`` of the feed page it read) or, without one, the live hub's watermark — lowered to the
watermark when that is older, so a change whose sequence number was reserved earlier but landed later
is replayed too. The first event, ``ready``, carries that point as its ``id``, so a device that is cut
off before any other event still reconnects with a ``Last-Event-ID``.

With tracing on, each entry sent is a short ``sse send`` span whose parent is the trace context its
change was written in (kept on the feed document): the delivery joins the writer's trace, though the
stream hears of the change from a poll, outside that context. It ends once the event is handed on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from sse_starlette import EventSourceResponse

from civicgrid_contracts.values import IDENTIFIER_PATTERN
from civicgrid_notifications.adapters.live import AudiencesChanged, LiveHub, Signal
from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from civicgrid_notifications.entrypoints.schemas import ERROR_RESPONSES, FeedItemOut
from civicgrid_notifications.service_layer.feed import FeedService
from civicgrid_runtime import tracing
from civicgrid_runtime.auth.principal import Principal
from civicgrid_runtime.errors import InvalidInput
from civicgrid_runtime.http import Authenticator

BATCH = 500
"""Events sent with one unread count (a mark-all of many entries does not recount after each)."""


def _last_event_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(
            "Last-Event-ID must be the id of an event this stream sent (a non-negative integer)"
        )
    return int(value)


def _send_span(signal: Signal, *, replayed: bool) -> Any:
    """An ``sse send`` span in the trace the change was written in (None for a change without one:
    written while tracing was off, an audiences change). Its attributes say what kind of entry went
    out, never to whom nor what it said."""
    if isinstance(signal, AudiencesChanged) or signal.traceparent is None:
        return None
    attributes = {
        "sse.event": "entry",
        "sse.event.id": str(signal.seq),
        "civicgrid.feed.kind": signal.kind,
        "civicgrid.feed.category": signal.category,
        "civicgrid.feed.priority": signal.priority,
        "civicgrid.sse.replayed": replayed,
    }
    return tracing.start_send_span("sse send", signal.traceparent, signal.tracestate, attributes=attributes)


def stream_router(
    auth: Authenticator, feeds: FeedService, store: MongoFeedStore, hub: LiveHub, ping_seconds: float
) -> APIRouter:
    router = APIRouter(tags=["feed"])

    @router.get(
        "/members/{member_id}/stream",
        summary="Live feed (text/event-stream): `ready`, then `entry` and `audiences` events",
        response_class=EventSourceResponse,
        responses={
            200: {
                "description": "text/event-stream. `ready` (id: the resume point; data: unread, seq), then "
                "`entry` (id: the change's sequence number; data: {item, unread}) for every change of an "
                "entry or broadcast of the member, and `audiences` (id: its sequence number; data: "
                "{unread}) when the member's audiences changed: refetch the feed. Reconnect with "
                "Last-Event-ID = the last id seen.",
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
        asked = _last_event_id(last_event_id)
        resume = await hub.resume_point()
        since = resume if asked is None else min(asked, resume)
        # Subscribe first, then read the audiences: a change of them in between is either recomputed
        # by the hub on this subscription or already in the projection read here.
        subscription = hub.subscribe(member_id, ())
        subscription.audiences = frozenset(await feeds.audiences(member_id))

        def shown(signal: Signal, unread: int) -> dict[str, Any]:
            if isinstance(signal, AudiencesChanged):
                return {"id": str(signal.seq), "event": "audiences", "data": json.dumps({"unread": unread})}
            item = FeedItemOut.model_validate(signal.to_json()).model_dump(mode="json")
            data = json.dumps({"item": item, "unread": unread}, ensure_ascii=False)
            return {"id": str(signal.seq), "event": "entry", "data": data}

        async def batch(signals: Sequence[Signal]) -> list[tuple[Signal, dict[str, Any]]]:
            if any(isinstance(s, AudiencesChanged) for s in signals):  # read them fresh for the count
                subscription.audiences = frozenset(await feeds.audiences(member_id))
            unread = await store.unread_count(member_id, sorted(subscription.audiences))
            return [(s, shown(s, unread)) for s in signals]

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                audiences = sorted(subscription.audiences)
                unread = await store.unread_count(member_id, audiences)
                ready = {"member_id": member_id, "unread": unread, "seq": since}
                yield {"id": str(since), "event": "ready", "data": json.dumps(ready)}
                replay: list[Signal] = list(await store.changes_since(member_id, audiences, since))
                moved = await store.audiences_changed_since(member_id, since)
                if moved is not None:
                    replay.append(AudiencesChanged(moved))
                for start in range(0, len(replay), BATCH):
                    for signal, event in await batch(replay[start : start + BATCH]):
                        span = _send_span(signal, replayed=True) if tracing.ENABLED else None
                        try:
                            yield event
                        finally:
                            if span is not None:
                                span.end()
                sent = {(s.seq, s.id) for s in replay if not isinstance(s, AudiencesChanged)}
                # A change may be both replayed and queued (the subscription came first): sent once.
                while not subscription.overflowed:
                    signals = [await subscription.queue.get()]
                    while not subscription.queue.empty() and len(signals) < BATCH:
                        signals.append(subscription.queue.get_nowait())
                    fresh = [
                        s for s in signals if isinstance(s, AudiencesChanged) or (s.seq, s.id) not in sent
                    ]
                    for signal, event in await batch(fresh) if fresh else []:
                        span = _send_span(signal, replayed=False) if tracing.ENABLED else None
                        try:
                            yield event
                        finally:
                            if span is not None:
                                span.end()
            finally:
                hub.unsubscribe(subscription)

        return EventSourceResponse(events(), ping=int(ping_seconds), headers={"Cache-Control": "no-store"})

    return router
