"""Background loops started by the lifecycle: run a step, sleep, repeat; errors are logged, not fatal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)
Stop = Callable[[], Awaitable[None]]


def periodic(name: str, step: Callable[[], Awaitable[int]], interval: float) -> Callable[[], Awaitable[Stop]]:
    """A starter for ``ServiceLifecycle.background``: repeats ``step`` (at once again if it did work)."""

    async def start() -> Stop:
        async def loop() -> None:
            while True:
                try:
                    done = await step()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("background step failed", task=name, error=str(error))
                    done = 0
                if not done:
                    await asyncio.sleep(interval)

        task = asyncio.create_task(loop(), name=name)

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    return start
