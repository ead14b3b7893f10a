"""Periodic jobs: run a step, sleep, repeat; an error is logged and counted, never fatal.

Every service's background loops (SLA sweeper, delivery worker, reconcilers...) are made here, so
they all behave alike: a step that returns a positive count did work and runs again at once (a
backlog is drained batch after batch), otherwise the job sleeps ``interval_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)

Stop = Callable[[], Awaitable[None]]
Starter = Callable[[], Awaitable[Stop]]
"""Starts a background task and returns the coroutine function that stops it."""
Job = Callable[[], Awaitable[int | None]]
JobObserver = Callable[[str, str, float], None]
"""Called after each run with the job's name, its outcome (``ok`` or ``error``) and its seconds."""


def periodic(
    name: str,
    job: Job,
    interval_seconds: float,
    *,
    first_after: float = 0.0,
    observers: list[JobObserver] | None = None,
) -> Starter:
    """A starter for a background loop running ``job`` every ``interval_seconds``.

    ``first_after`` delays the first run (a costly safety net need not run at start). A run that
    returns a positive number did work: the next follows at once.
    """
    watchers = observers if observers is not None else []

    async def loop() -> None:
        await asyncio.sleep(first_after)
        loop_time = asyncio.get_running_loop().time
        while True:
            started = loop_time()
            try:
                done = await job()
                outcome = "ok"
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a store may be briefly away: try again next round
                log.warning("background job failed; will retry", job=name, error=str(error))
                done, outcome = 0, "error"
            for observe in watchers:
                observe(name, outcome, loop_time() - started)
            if not done:
                await asyncio.sleep(interval_seconds)

    async def start() -> Stop:
        task = asyncio.create_task(loop(), name=name)

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    return start
