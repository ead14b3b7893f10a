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


async def test_a_call_queued_past_the_deadline_while_others_are_answered_does_not_prolong_recovery() -> None:
    clock = Clock()
    availability = Neo4jAvailability(deadline_seconds=0.05, quiet_seconds=10.0, clock=clock)
    await _fails_with(availability, ServiceUnavailable("connection refused"))
    clock.now += 5

    async def answered_meanwhile() -> None:
        async with availability.watch():
            pass

    async def queued_behind_a_lock() -> None:
        async with availability.watch():
            await answered_meanwhile()
            await asyncio.sleep(1)

    with pytest.raises(StoreUnavailable):
        await queued_behind_a_lock()
    clock.now += 5
    async with availability.watch():
        pass
    assert availability.deadline() is None, "the last trouble was the outage, 10 s ago"


async def test_a_deadline_passed_while_nothing_is_answered_prolongs_recovery() -> None:
    clock = Clock()
    availability = Neo4jAvailability(deadline_seconds=0.05, quiet_seconds=10.0, clock=clock)
    await _fails_with(availability, ServiceUnavailable("connection refused"))
    clock.now += 5
    with pytest.raises(StoreUnavailable):
        async with availability.watch():
            await asyncio.sleep(1)
    clock.now += 5
    async with availability.watch():
        pass
    assert availability.deadline() == 0.05


async def test_once_neo4j_answers_again_the_calls_in_flight_lose_their_deadline() -> None:
    clock = Clock()
    availability = Neo4jAvailability(deadline_seconds=0.2, quiet_seconds=10.0, clock=clock)
    await _fails_with(availability, ServiceUnavailable("connection refused"))
    clock.now += 10
    release = asyncio.Event()

    async def queued() -> str:
        async with availability.watch():  # started while recovering: a 0.2 s deadline
            await release.wait()
        return "done"

    waiting = asyncio.create_task(queued())
    await asyncio.sleep(0)
    async with availability.watch():  # answered 10 s after the outage: recovery ends
        pass
    await asyncio.sleep(0.4)  # past the deadline the queued call started with
    release.set()
    assert await waiting == "done"


async def test_recovery_ends_a_quiet_while_after_the_last_trouble_if_neo4j_answered_since() -> None:
    clock = Clock()
    availability = Neo4jAvailability(deadline_seconds=2.0, quiet_seconds=10.0, clock=clock)
    await _fails_with(availability, ServiceUnavailable("connection refused"))
    clock.now += 60
    assert availability.deadline() == 2.0, "no answer since the outage: still recovering"
    await _fails_with(availability, ServiceUnavailable("connection refused"))
    clock.now += 1
    async with availability.watch():
        pass
    assert availability.deadline() == 2.0, "answered, but the last trouble was only just before"
    clock.now += 9
    assert availability.deadline() is None, "answered since the last trouble, 10 s ago: a crowd waits freely"


async def test_a_call_in_flight_when_neo4j_goes_away_gets_the_deadline_from_its_start() -> None:
    availability = Neo4jAvailability(deadline_seconds=0.2)
    loop = asyncio.get_running_loop()

    async def sent_before_the_outage() -> None:
        async with availability.watch():  # no deadline yet: Neo4j works
            await asyncio.sleep(5)  # then Neo4j stops answering it

    started = loop.time()
    waiting = asyncio.create_task(sent_before_the_outage())
    await asyncio.sleep(0.05)
    await _fails_with(availability, ServiceUnavailable("connection refused"))  # another call finds it gone
    with pytest.raises(StoreUnavailable):
        await waiting
    assert loop.time() - started < 1.0
