"""PyMongo's condition waits, cancelled from outside while they time out, leave its lock consistent.

The scene of the fault suite's FerretDB outage, made deterministic: a server selection waits on the
topology's condition with a short timeout; while that wait times out, another task holds the lock (so
the wait cannot re-acquire it at once), and the selection is cancelled from outside (a lease renewal's
deadline) just before that task releases the lock. On Python 3.11 with PyMongo's own ``wait_for``
the lock ended up held by nobody's task for ever; made safe, the cancelled caller leaves only after
re-acquiring and releasing it.
"""

from __future__ import annotations

import asyncio
import sys

import pymongo.lock
import pytest

from civicgrid_runtime.stores.pymongo_waits import make_condition_waits_cancellation_safe, wait_in_own_task


async def _cancel_a_selection_while_its_wait_times_out() -> tuple[bool, list[str]]:
    """Whether the lock is free once everything has settled, and the errors the tasks met."""
    lock = pymongo.lock._async_create_lock()
    condition = pymongo.lock._async_create_condition(lock)
    errors: list[str] = []

    async def selection() -> None:
        async with lock:
            await pymongo.lock._async_cond_wait(condition, 0.05)

    selecting = asyncio.create_task(selection())
    await asyncio.sleep(0.02)  # the selection waits on the condition (the lock is released meanwhile)
    async with lock:
        await asyncio.sleep(0.1)  # its wait times out and waits to re-acquire the lock held here
        selecting.cancel()  # its caller's deadline passes, just before this task lets the lock go
    try:
        await selecting
    except asyncio.CancelledError:
        pass
    except RuntimeError as error:
        errors.append(str(error))
    await asyncio.sleep(0.1)  # anything still pending settles
    return not lock.locked(), errors


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12's wait_for has no such window")
async def test_pymongos_own_condition_wait_cancelled_from_outside_leaves_its_lock_held_for_ever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fault as PyMongo ships it on 3.11: proof that the scene below reproduces it."""
    monkeypatch.setattr(pymongo.lock, "wait_for", asyncio.wait_for)
    free, errors = await _cancel_a_selection_while_its_wait_times_out()
    assert not free or errors, "the unsafe wait left the lock consistent: the scene no longer reproduces it"


async def test_a_safe_condition_wait_cancelled_from_outside_releases_the_lock_it_reacquired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pymongo.lock, "wait_for", asyncio.wait_for)
    assert make_condition_waits_cancellation_safe()
    free, errors = await _cancel_a_selection_while_its_wait_times_out()
    assert errors == []
    assert free


async def test_making_the_waits_safe_twice_keeps_the_safe_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pymongo.lock, "wait_for", asyncio.wait_for)
    make_condition_waits_cancellation_safe()
    make_condition_waits_cancellation_safe()
    if sys.version_info < (3, 12):
        assert getattr(pymongo.lock, "wait_for") is wait_in_own_task  # noqa: B009 (not exported)


async def test_the_safe_wait_still_times_out_and_returns_results() -> None:
    with pytest.raises(TimeoutError):
        await wait_in_own_task(asyncio.sleep(1), 0.01)
    assert await wait_in_own_task(asyncio.sleep(0, result=7), 1) == 7
