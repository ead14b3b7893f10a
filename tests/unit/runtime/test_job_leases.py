"""Periodic jobs across replicas: one instance holds a job's lease and runs it; the others take it over
only once it has expired (fake clock, leases in memory)."""

from __future__ import annotations

import asyncio

from civicgrid_runtime.jobs import Lease, MemoryLeases, Starter, Stop, leased


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_of_two_instances_only_the_first_takes_a_free_lease() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = Lease(store, "sla-sweeper", "a", 10, clock), Lease(store, "sla-sweeper", "b", 10, clock)

    assert await a.hold() is True
    assert await b.hold() is False
    assert (a.held, b.held) == (True, False)


async def test_a_holder_that_renews_keeps_its_lease_past_the_first_expiry() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = Lease(store, "job", "a", 10, clock), Lease(store, "job", "b", 10, clock)
    await a.hold()
    for _ in range(5):
        clock.now += 4
        assert await a.hold() is True
        assert await b.hold() is False


async def test_another_instance_takes_over_only_after_a_silent_holder_s_lease_expired() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = Lease(store, "job", "a", 10, clock), Lease(store, "job", "b", 10, clock)
    await a.hold()

    clock.now += 9.9
    assert await b.hold() is False
    clock.now += 0.2
    assert a.held is False  # the holder stops acting at the expiry it wrote, before anyone takes over
    assert await b.hold() is True
    assert await a.hold() is False  # the old holder, back, finds it taken


async def test_a_holder_that_cannot_reach_the_store_keeps_acting_only_until_its_lease_runs_out() -> None:
    clock = Clock()

    class Flaky(MemoryLeases):
        away = False

        async def take(self, name: str, owner: str, ttl: float, now: float) -> bool:
            if self.away:
                raise ConnectionError("store away")
            return await super().take(name, owner, ttl, now)

    store = Flaky()
    a = Lease(store, "job", "a", 10, clock)
    await a.hold()
    store.away = True
    clock.now += 5
    assert await a.hold() is True
    clock.now += 5
    assert await a.hold() is False


async def test_a_released_lease_is_taken_at_once_by_another_instance() -> None:
    store, clock = MemoryLeases(), Clock()
    a, b = Lease(store, "job", "a", 10, clock), Lease(store, "job", "b", 10, clock)
    await a.hold()
    await a.release()
    assert await b.hold() is True


async def test_leased_runs_the_task_in_the_holder_only_and_moves_it_when_the_holder_dies() -> None:
    store, clock = MemoryLeases(), Clock()
    running: list[str] = []

    def task_of(owner: str) -> Starter:
        async def start() -> Stop:
            running.append(owner)

            async def stop() -> None:
                running.remove(owner)

            return stop

        return start

    stop_a = await leased("relay", store, task_of("a"), owner="a", ttl=10, clock=clock, renew_every=0.01)()
    await asyncio.sleep(0.05)
    stop_b = await leased("relay", store, task_of("b"), owner="b", ttl=10, clock=clock, renew_every=0.01)()
    await asyncio.sleep(0.05)
    assert running == ["a"]

    # "a" dies without releasing: its loop stops renewing, its task is gone with it.
    store_before = dict(store.leases)
    await stop_a()
    store.leases = store_before  # as if killed: the lease stays in the store until it expires
    await asyncio.sleep(0.05)
    assert running == []
    clock.now += 10.5
    await asyncio.sleep(0.05)
    assert running == ["b"]
    await stop_b()
    assert running == []
    assert store.leases == {}


async def test_an_instance_whose_task_fails_to_start_gives_the_lease_up_for_another() -> None:
    store, clock = MemoryLeases(), Clock()

    async def broken() -> Stop:
        raise ConnectionError("the store is away")

    stop = await leased("relay", store, broken, owner="a", ttl=10, clock=clock, renew_every=60)()
    await asyncio.sleep(0.05)  # "a" took the lease, failed to start its task, and waits for its next try
    assert await Lease(store, "relay", "b", 10, clock).hold() is True
    await stop()
