"""The SLA clock: overdue requests are escalated exactly once, however many sweepers run.

``due_at`` is stored; a sweeper finds open requests past it and escalates each with an update
conditional on the version it read. Two sweepers (two instances, or one restarted mid-way) racing
on the same request: one update matches, the other matches nothing and moves on.
"""

from __future__ import annotations

from civicgrid_resources.adapters.documents import request_fields, request_from
from civicgrid_resources.service_layer.context import Context
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


async def sweep_once(ctx: Context, batch: int = 500) -> int:
    """Escalate what is overdue now; returns how many requests this sweeper changed.

    Candidates come from the ``deadlines`` side collection; the request document decides."""
    now = ctx.now()
    changed = 0
    cursor = (
        ctx.store.deadlines.collection.find({"due_at": {"$lte": now}, "exhausted": False})
        .sort("due_at", 1)
        .limit(batch)
    )
    async for entry in cursor:
        doc = await ctx.store.requests.find(entry["_id"])
        if doc is None:
            await ctx.store.deadlines.collection.delete_one({"_id": entry["_id"]})
            continue
        request = request_from(doc)
        read_version = request.version
        if not request.escalate_overdue(now, ctx.sla):
            await ctx.store.deadlines.track(request.request_id, request_fields(request))  # a stale entry
            continue
        events = ctx.outbox.translate(request.take_events())
        if await ctx.store.requests.save(
            request.request_id, read_version, request_fields(request), events, {"due_at": doc["due_at"]}
        ):
            changed += 1
            log.info("request escalated on its deadline", request_id=request.request_id, tier=request.tier)
    if changed:
        ctx.notify_relay()
    return changed
