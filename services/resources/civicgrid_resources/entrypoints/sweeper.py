"""The SLA sweeper as a background task of the service (ServiceLifecycle.background)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.service_layer.sla import sweep_once
from civicgrid_resources.service_layer.supervision import fold_statistics
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)
Stop = Callable[[], Awaitable[None]]


def sla_sweeper(ctx: Context, interval_seconds: float) -> Callable[[], Awaitable[Stop]]:
    async def once() -> None:
        await sweep_once(ctx)

    return periodic("sla-sweeper", once, interval_seconds)


def statistics_folder(ctx: Context, interval_seconds: float) -> Callable[[], Awaitable[Stop]]:
    """Folds what request writes recorded into the dashboards' buckets (one folder at a time)."""

    async def once() -> None:
        while await fold_statistics(ctx) > 0:  # a backlog is folded batch after batch
            pass

    return periodic("statistics-folder", once, interval_seconds)


def reconciler(ctx: Context, interval_seconds: float) -> Callable[[], Awaitable[Stop]]:
    """Check the side collections (pending outbox, deadlines) against the documents now and then.

    Not at start: every change writes its side entries before the document (``adapters.mongo``), so
    a crash leaves nothing to repair; this is a safety net for documents edited by hand, and it reads
    every open request (minutes at a city's scale on FerretDB)."""

    async def once() -> None:
        found = await ctx.maintenance.reconcile()
        log.info("side collections reconciled", **found)

    return periodic("reconciler", once, interval_seconds, first_after=interval_seconds)


def periodic(
    name: str, work: Callable[[], Awaitable[None]], interval_seconds: float, first_after: float = 0.0
) -> Callable[[], Awaitable[Stop]]:
    async def loop() -> None:
        await asyncio.sleep(first_after)
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the store may be briefly away: try again next round
                log.warning(f"{name} failed; will retry", error=str(error))
            await asyncio.sleep(interval_seconds)

    async def start() -> Stop:
        task = asyncio.create_task(loop(), name=name)

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    return start
