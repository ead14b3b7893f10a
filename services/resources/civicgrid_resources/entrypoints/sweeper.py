"""Periodic jobs (run by the runtime's ``Service.periodic``): SLA sweep, statistics, reconcile."""

from __future__ import annotations

from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.sla import sweep_once
from civicgrid_resources.service_layer.supervision import fold_statistics
from civicgrid_runtime.jobs import Job
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


def sla_sweep(ctx: Context) -> Job:
    async def once() -> None:
        await sweep_once(ctx)

    return once


def statistics_fold(ctx: Context) -> Job:
    """Folds what request writes recorded into the dashboards' buckets (one folder at a time)."""

    async def once() -> None:
        while await fold_statistics(ctx) > 0:  # a backlog is folded batch after batch
            pass

    return once


def reconcile(ctx: Context) -> Job:
    """Check the side collections (pending outbox, deadlines) against the documents now and then.

    Not at start (run it with ``first_after``): every change writes its side entries before the
    document (``adapters.mongo``), so a crash leaves nothing to repair; this is a safety net for
    documents edited by hand, and it reads every open request (minutes at a city's scale on FerretDB)."""

    async def once() -> None:
        found = await ctx.maintenance.reconcile()
        log.info("side collections reconciled", **found)

    return once
