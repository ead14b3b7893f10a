"""The SLA clock: overdue requests are escalated exactly once, however many sweepers run.

``due_at`` is stored; a sweeper finds open requests past it and escalates each with a write
conditional on the version it read. Two sweepers (two instances, or one restarted mid-way) racing
on the same request: one write succeeds, the other is refused and moves on.
"""

from __future__ import annotations

from civicgrid_resources.service_layer.context import Context
from civicgrid_runtime.errors import Conflict
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


async def sweep_once(ctx: Context, batch: int = 500) -> int:
    """Escalate what is overdue now; returns how many requests this sweeper changed.

    Candidates come from the deadlines the store tracks; the request itself decides."""
    now = ctx.now()
    changed = 0
    for request_id in await ctx.deadlines.due(now, batch):
        request = await ctx.uow.requests.find(request_id)
        if request is None or not request.escalate_overdue(now, ctx.sla):
            await ctx.deadlines.correct(request_id, request)  # a stale entry
            continue
        try:
            await ctx.uow.save(request)
        except Conflict:
            continue  # changed meanwhile (by a person, or another sweeper): looked at again next round
        changed += 1
        log.info("request escalated on its deadline", request_id=request.request_id, tier=request.tier)
    return changed
