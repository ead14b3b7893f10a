"""PyMongo's condition waits made safe to cancel on Python 3.11.

PyMongo's async client waits on its own ``Condition`` (server selection in the topology, connection
check-out in the pool) with ``asyncio.wait_for(condition.wait(), timeout)`` (``pymongo.lock``). On
Python 3.11 that ``wait_for`` runs ``condition.wait()`` in a task of its own, and when the caller is
cancelled while that task is being cancelled for the wait's own timeout, ``wait_for`` returns before
the task has re-acquired the lock. The caller's ``async with lock`` then releases a lock it no longer
holds (``RuntimeError: Lock is not acquired``, or it frees another task's hold, which later fails
with ``cannot wait on un-acquired lock``), and the orphaned task re-acquires the lock and never
releases it: every later server selection waits forever. The client is dead until the process
restarts.

It happened whenever a call was cancelled from outside while the store was down: a lease renewal
bounded by ``asyncio.wait_for`` (``civicgrid_runtime.jobs``), a readiness probe, a request deadline.
In a fault-suite run notifications stopped writing feeds for good 10 s into a FerretDB outage.

Python 3.12 rewrote ``wait_for`` on ``asyncio.timeout``, which runs the awaitable in the caller's own
task, so the condition's wait re-acquires its lock before any cancellation leaves it; PyMongo uses
``asyncio.Condition`` itself from 3.13. :func:`make_condition_waits_cancellation_safe` gives PyMongo's
condition waits those semantics on 3.11. It is called by ``create_client`` before any client exists.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

import pymongo.lock

T = TypeVar("T")


async def wait_in_own_task(awaitable: Awaitable[T], timeout: float | None) -> T:
    """``asyncio.wait_for`` as Python 3.12 has it: the awaitable runs in the calling task."""
    async with asyncio.timeout(timeout):
        return await awaitable


def make_condition_waits_cancellation_safe() -> bool:
    """Replace the ``wait_for`` PyMongo's condition waits use, on Python before 3.12; idempotent.

    Returns whether PyMongo's waits are (now) safe to cancel. Raises if this PyMongo waits some other
    way on a Python that needs the fix: then this module must be looked at again."""
    if sys.version_info >= (3, 12):
        return True
    current = getattr(pymongo.lock, "wait_for", None)
    if current is wait_in_own_task:
        return True
    if current is not asyncio.wait_for or not hasattr(pymongo.lock, "_async_cond_wait"):
        raise RuntimeError(
            "pymongo.lock no longer waits on conditions with asyncio.wait_for; "
            "check civicgrid_runtime.stores.pymongo_waits against this PyMongo version"
        )
    pymongo.lock.wait_for = wait_in_own_task  # type: ignore[attr-defined,assignment]
    return True
