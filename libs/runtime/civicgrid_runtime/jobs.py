"""Periodic jobs: run a step, sleep, repeat; an error is logged and counted, never fatal.

Every service's background loops (SLA sweeper, delivery worker, reconcilers...) are made here, so
they all behave alike: a step that returns a positive count did work and runs again at once (a
backlog is drained batch after batch), otherwise the job sleeps ``interval_seconds``.

With replicas, a job must run once per period across the instances of a service, not once per
instance: :func:`leased` runs a job (or the outbox relay) only in the instance that holds its lease
in the service's store (:class:`MongoLeases`, :class:`Neo4jLeases`); the others stand by and take
the lease over when the holder stops renewing it (dies) and it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

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


# -- leases: one instance runs a job across replicas ---------------------------------------------

Clock = Callable[[], float]
"""Wall-clock seconds (``time.time``): lease expiries are compared across processes."""

DEFAULT_LEASE_TTL = 10.0


class LeaseStore(Protocol):
    """Where leases live: the service's own store (MongoDB ``leases``, a Neo4j ``:Lease`` node)."""

    async def take(self, name: str, owner: str, ttl: float, now: float) -> bool:
        """Take the lease when it is free or expired, or renew it when ``owner`` holds it; ``True`` when
        ``owner`` holds it until ``now + ttl``. Only one of several owners taking at once can win."""
        ...

    async def release(self, name: str, owner: str) -> None:
        """Give the lease up now, if ``owner`` holds it (a successor need not wait for the expiry)."""
        ...


class Lease:
    """One owner's view of a named lease: :meth:`hold` takes or renews it, :attr:`held` says whether
    it may act now. Held locally only until the expiry it last wrote, so an owner that cannot renew
    (store away, loop stalled) stops acting no later than another may take over."""

    def __init__(
        self, store: LeaseStore, name: str, owner: str, ttl: float, clock: Clock = time.time
    ) -> None:
        self.store, self.name, self.owner, self.ttl, self._clock = store, name, owner, ttl, clock
        self._until = 0.0

    @property
    def held(self) -> bool:
        return self._clock() < self._until

    @property
    def until(self) -> float:
        """When the lease this owner last took or renewed runs out (0: not held)."""
        return self._until

    async def hold(self) -> bool:
        """Take or renew; ``False`` when another owner holds it (or the store could not be asked and
        the last renewal has run out)."""
        now = self._clock()
        try:
            taken = await self.store.take(self.name, self.owner, self.ttl, now)
        except Exception as error:  # the store is away: keep what was held until it runs out
            log.warning("lease not renewed", lease=self.name, error=str(error))
            return self.held
        self._until = now + self.ttl if taken else 0.0
        return taken

    async def release(self) -> None:
        self._until = 0.0
        try:
            await self.store.release(self.name, self.owner)
        except Exception as error:  # it expires on its own
            log.warning("lease not released", lease=self.name, error=str(error))


def new_owner() -> str:
    """This process's lease owner id: host, pid and a random part (a restarted pid is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def leased(
    name: str,
    store: LeaseStore,
    starter: Starter,
    *,
    owner: str,
    ttl: float = DEFAULT_LEASE_TTL,
    clock: Clock = time.time,
    renew_every: float | None = None,
) -> Starter:
    """A starter that runs ``starter``'s task only while this process holds lease ``name``.

    Every instance of a service runs this; one holds the lease and runs the task, the others only try
    to take the lease every ``renew_every`` seconds (``ttl / 3``). The holder renews it as often; when
    it dies its lease expires after ``ttl`` and another instance takes over; when it loses the lease
    (it could not renew in time) it stops the task. A stop releases the lease for a successor.
    """
    lease = Lease(store, name, owner, ttl, clock)
    every = renew_every if renew_every is not None else ttl / 3

    async def hold() -> bool:
        # Bounded by what is left of the lease: a store call that hangs (a stalled server) must not keep
        # the task running past the expiry another instance goes by.
        left = lease.until - clock() if lease.held else ttl
        try:
            async with asyncio.timeout(max(left, 0.001)):  # in this task: nothing is left running after it
                return await lease.hold()
        except TimeoutError:
            log.warning("lease not renewed in time", lease=name, owner=owner)
            return False

    async def loop() -> None:
        inner: Stop | None = None
        try:
            while True:
                held = await hold()
                if held and inner is None:
                    log.info("lease taken; running", lease=name, owner=owner)
                    try:
                        inner = await starter()
                    except Exception as error:  # let another instance try rather than hold it idle
                        log.warning("task under lease failed to start", lease=name, error=str(error))
                        await lease.release()
                elif not held and inner is not None:
                    log.warning("lease lost; stopping", lease=name, owner=owner)
                    await inner()
                    inner = None
                await asyncio.sleep(every)
        finally:
            if inner is not None:
                await inner()

    async def start() -> Stop:
        task = asyncio.create_task(loop(), name=f"lease:{name}")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await lease.release()

        return stop

    return start


class MemoryLeases:
    """Leases in a dict, for unit tests and single-process tools."""

    def __init__(self) -> None:
        self.leases: dict[str, tuple[str, float]] = {}

    async def take(self, name: str, owner: str, ttl: float, now: float) -> bool:
        current = self.leases.get(name)
        if current is not None and current[0] != owner and current[1] > now:
            return False
        self.leases[name] = (owner, now + ttl)
        return True

    async def release(self, name: str, owner: str) -> None:
        if self.leases.get(name, ("", 0.0))[0] == owner:
            del self.leases[name]


class MongoLeases:
    """Leases in a MongoDB/FerretDB collection (``leases``), one document per lease and term.

    FerretDB 1.24 does not apply a conditional update atomically (10 concurrent
    ``update_one({_id, version: 0})`` matched 3-10 times, see docs/local-servers.md), but an insert
    is: the unique ``_id`` is enforced by SQLite. So a lease is taken by inserting its next term,
    ``{_id: "<name>#<term>", name, term, owner, expires_at}``: of several instances taking an expired
    lease at once, one insert wins. Only the holder updates its term's document (renewal, release);
    the winner of a new term deletes the older ones. Same code, same guarantee on MongoDB.
    """

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def _current(self, name: str) -> dict[str, Any] | None:
        docs = await self.collection.find({"name": name}).sort("term", -1).limit(1).to_list(1)
        return docs[0] if docs else None

    async def take(self, name: str, owner: str, ttl: float, now: float) -> bool:
        current = await self._current(name)
        if current is not None and current["expires_at"] > now:
            if current["owner"] != owner:
                return False
            renewed = await self.collection.update_one(
                {"_id": current["_id"], "owner": owner}, {"$set": {"expires_at": now + ttl}}
            )
            return bool(renewed.matched_count)
        term = (current["term"] if current is not None else 0) + 1
        try:
            await self.collection.insert_one(
                {"_id": f"{name}#{term}", "name": name, "term": term, "owner": owner, "expires_at": now + ttl}
            )
        except DuplicateKeyError:
            return False
        await self.collection.delete_many({"name": name, "term": {"$lt": term}})
        return True

    async def release(self, name: str, owner: str) -> None:
        current = await self._current(name)
        if current is not None and current["owner"] == owner:
            await self.collection.update_one(
                {"_id": current["_id"], "owner": owner}, {"$set": {"expires_at": 0.0}}
            )


class Neo4jLeases:
    """Leases as ``(:Lease {name, owner, expires_at})`` nodes (unique name). Taking writes a lock
    property first, so the owner and expiry are read under the node's write lock: two instances
    taking at once are serialised by Neo4j and the second sees the first's owner."""

    def __init__(self, driver: Any, database: str | None = None) -> None:
        self.driver, self.database = driver, database

    async def ensure_schema(self) -> None:
        await self.driver.execute_query(
            "CREATE CONSTRAINT civicgrid_lease_name IF NOT EXISTS FOR (l:Lease) REQUIRE l.name IS UNIQUE",
            database_=self.database,
        )

    async def take(self, name: str, owner: str, ttl: float, now: float) -> bool:
        records, _, _ = await self.driver.execute_query(
            "MERGE (l:Lease {name: $name}) SET l.locked = true "
            "WITH l WHERE l.owner IS NULL OR l.owner = $owner OR l.expires_at <= $now "
            "SET l.owner = $owner, l.expires_at = $now + $ttl RETURN l.owner AS owner",
            name=name,
            owner=owner,
            now=now,
            ttl=ttl,
            database_=self.database,
        )
        return bool(records)

    async def release(self, name: str, owner: str) -> None:
        await self.driver.execute_query(
            "MATCH (l:Lease {name: $name, owner: $owner}) SET l.expires_at = 0.0",
            name=name,
            owner=owner,
            database_=self.database,
        )
