"""Neo4jAvailability: no deadline while Neo4j works, a short one (then 503) while it recovers."""

from __future__ import annotations

import asyncio

import pytest
from neo4j.exceptions import ServiceUnavailable, TransientError

from civicgrid_runtime.errors import StoreUnavailable
from civicgrid_runtime.faults import is_transient
from civicgrid_runtime.stores.neo4j import Neo4jAvailability


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _fails_with(availability: Neo4jAvailability, error: Exception) -> None:
    with pytest.raises(type(error)):
        async with availability.watch():
            raise error


async def test_a_slow_call_on_a_working_neo4j_is_never_cut_short() -> None:
    availability = Neo4jAvailability(deadline_seconds=0.05)
    async with availability.watch():
        await asyncio.sleep(0.2)  # e.g. a writer queued on a hot post's lock
    assert not availability.recovering


async def test_after_an_outage_a_call_neo4j_does_not_answer_becomes_a_prompt_store_unavailable() -> None:
    availability = Neo4jAvailability(deadline_seconds=0.05)
    await _fails_with(availability, ServiceUnavailable("connection refused"))
    assert availability.recovering

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StoreUnavailable) as raised:
        async with availability.watch():
            await asyncio.sleep(5)  # a restarted Neo4j that accepts the query and does not answer
    assert loop.time() - started < 1.0
    assert is_transient(raised.value)


async def test_deadlocks_are_contention_and_start_no_deadline() -> None:
    availability = Neo4jAvailability(deadline_seconds=0.05)
    deadlock = TransientError("deadlock detected")
    await _fails_with(availability, deadlock)
    assert not availability.recovering
    async with availability.watch():
        await asyncio.sleep(0.2)


async def test_the_deadline_goes_only_once_a_call_succeeds_a_quiet_while_after_the_last_trouble() -> None:
    clock = Clock()
    availability = Neo4jAvailability(deadline_seconds=2.0, quiet_seconds=10.0, clock=clock)
    await _fails_with(availability, ServiceUnavailable("connection refused"))

    clock.now += 3
    async with availability.watch():
        pass
    assert availability.deadline() == 2.0, "one prompt answer right after the restart is not enough"

    clock.now += 10
    async with availability.watch():
        pass
    assert availability.deadline() is None
