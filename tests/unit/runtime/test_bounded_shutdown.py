"""A service's stop always ends: a step that does not stop in time is left behind, even one that
swallows its cancellation (a shutdown that hung once failed a CI run)."""

from __future__ import annotations

import asyncio

from civicgrid_runtime.service import _bounded


async def test_a_stop_step_that_ignores_cancellation_is_left_behind_and_the_others_finish() -> None:
    finished: list[str] = []
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # swallows every cancellation
        finished.append("stubborn")

    async def prompt() -> None:
        await asyncio.sleep(0)
        finished.append("prompt")

    await _bounded("background tasks", [stubborn(), prompt()], 0.2)
    assert finished == ["prompt"]
    release.set()
    await asyncio.sleep(0.05)
    assert finished == ["prompt", "stubborn"]


async def test_a_failing_stop_step_does_not_stop_the_others() -> None:
    finished: list[str] = []

    async def failing() -> None:
        raise RuntimeError("the store is gone")

    async def prompt() -> None:
        finished.append("prompt")

    await _bounded("a store", [failing(), prompt()], 1.0)
    assert finished == ["prompt"]
