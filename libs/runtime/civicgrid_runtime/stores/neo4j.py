"""Neo4j helpers: driver factory, outbox nodes written in the change's own transaction, inbox."""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from civicgrid_contracts.catalogue import topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.errors import StoreUnavailable
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.outbox import PendingEvent

log = get_logger(__name__)

SCHEMA = (
    "CREATE CONSTRAINT outbox_id IF NOT EXISTS FOR (o:OutboxEvent) REQUIRE o.id IS UNIQUE",
    "CREATE INDEX outbox_pending IF NOT EXISTS FOR (o:OutboxEvent) ON (o.pending)",
    "CREATE CONSTRAINT processed_event IF NOT EXISTS FOR (p:ProcessedEvent) REQUIRE p.key IS UNIQUE",
)


# Outage behaviour (issue 8): a dead Neo4j must fail a call in well under 3 s (the HTTP layer then
# answers 503), and a Neo4j that is back must be used again at once.
CONNECTION_TIMEOUT_SECONDS = 2.0
"""TCP connect + Bolt handshake. Neo4j opens its port before it is ready and lets connections wait:
with the default 30 s every call made while it starts hung for up to 30 s per retry."""
ACQUISITION_TIMEOUT_SECONDS = 5.0
"""Waiting for a pooled connection (100 by default) including opening one; above the connect timeout."""
MAX_TRANSACTION_RETRY_SECONDS = 1.0
"""How long a managed transaction (``execute_write``/``execute_read``) keeps retrying retryable
errors (deadlocks, leader switches, lost connections). With the delays below that is 5-6 attempts
in at most ~2 s, instead of the default 30 s of retrying with delays growing to 16 s, which made
calls take up to 85 s in an outage and kept writes failing long after Neo4j was back (measured:
docs/architecture.md, Faults)."""
INITIAL_RETRY_DELAY_SECONDS = 0.1
"""First delay between those retries (doubling, ±20 % jitter); the driver's default is 1 s."""
LIVENESS_CHECK_SECONDS = 10.0
"""A pooled connection idle this long is checked (one RESET round trip, bounded by the acquisition
timeout) before use: without it, a connection to a server that stopped answering without closing
it (paused, or half-way through a restart) hangs the next call for ever."""


QUIET_NOTIFICATION_CLASSIFICATIONS = ("UNRECOGNIZED",)
"""Notifications the server is asked not to send: "property key / label does not exist" (01N50-01N52)
for a property no node has yet (``end_date`` before any membership ended). The driver logged each as a
warning: 760 lines in one fault-suite run, four per appointment, burying the lines that mattered.
Performance, deprecation and security notifications still arrive."""
RECOVERY_DEADLINE_SECONDS = 1.5
"""After Neo4j was unreachable, how long one unit of work may wait for it before it answers 503. A
Neo4j that has just restarted accepts connections (and passes a Bolt handshake) long before it answers
queries promptly: it compiles every query afresh and its JIT is cold, which on a loaded 2-core machine
took 10-30 s during which writes sent to it got no answer at all (measured: docs/faults.md)."""
RECOVERY_QUIET_SECONDS = 10.0
"""The deadline stays until a call succeeds this long after the last sign of trouble: one prompt answer
right after the restart does not mean the next query (another plan to compile) will be prompt."""


def _unreachable(error: BaseException) -> bool:
    """The call could not reach a working Neo4j (not: it reached one and lost a race or broke a rule).

    Deadlocks and lock timeouts are ``TransientError`` too, but they come from a Neo4j that works: they
    are contention, and never start the recovery deadline (writers queued on a hot post may rightly wait
    long)."""
    if isinstance(error, ServiceUnavailable | SessionExpired | ConnectionError | TimeoutError | OSError):
        return True
    code = getattr(error, "code", None)
    return isinstance(code, str) and code.endswith("General.DatabaseUnavailable")


class Neo4jAvailability:
    """What the calls on one driver have seen of Neo4j: reachable, or recovering from an outage.

    Healthy, :meth:`watch` adds nothing (a writer may wait on a lock as long as it takes). Once a call
    found Neo4j unreachable, every call watched afterwards gets :data:`RECOVERY_DEADLINE_SECONDS`
    and, past it, is cancelled (the driver drops its connection; Neo4j rolls back what was not
    committed) and raises :class:`StoreUnavailable`, answered 503 + ``Retry-After``. Calls already in
    flight when the trouble is first seen get the same deadline, counted from their start (a write
    sent just before Neo4j went down must not wait on it unbounded either).

    Recovery ends once :data:`RECOVERY_QUIET_SECONDS` passed since the last trouble and a call was
    answered after it; the calls then in flight lose their deadline. Trouble is an unreachable Neo4j,
    or a deadline passed while no call at all was answered: a call that waited past it while others
    were answered was queued behind them (contention on a hot post), which says Neo4j works.
    """

    def __init__(
        self,
        deadline_seconds: float = RECOVERY_DEADLINE_SECONDS,
        quiet_seconds: float = RECOVERY_QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deadline_seconds = deadline_seconds
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self._trouble_at: float | None = None
        self._answered_at: float | None = None
        self._in_flight: dict[asyncio.Timeout, float] = {}  # each call's scope: its start (loop time)

    @property
    def recovering(self) -> bool:
        return self._trouble_at is not None

    def deadline(self) -> float | None:
        """Seconds a call may take now, or None (no limit) when Neo4j has been working."""
        self._settle()
        return self.deadline_seconds if self._trouble_at is not None else None

    def trouble(self, error: BaseException | None = None) -> None:
        """Neo4j was unreachable (or did not answer in time): calls get the deadline from now on."""
        if error is not None and not _unreachable(error):
            return
        if self._trouble_at is None:
            log.warning(
                "neo4j unreachable: its calls answer 503 after a deadline until it answers again",
                deadline_seconds=self.deadline_seconds,
            )
            self._reschedule(lambda started, now: max(now, started + self.deadline_seconds))
        self._trouble_at = self._clock()

    def answered(self) -> None:
        """A call succeeded (or Neo4j refused it for a reason of its own: it answered)."""
        self._answered_at = self._clock()
        self._settle()

    def _settle(self) -> None:
        """End recovery if Neo4j answered after the last trouble and the quiet time has passed."""
        trouble, answered = self._trouble_at, self._answered_at
        if trouble is None or answered is None or answered < trouble:
            return
        if self._clock() - trouble >= self.quiet_seconds:
            self._trouble_at = None
            self._reschedule(lambda _started, _now: None)
            log.info("neo4j answers again: calls wait for it without a deadline")

    def _reschedule(self, when: Callable[[float, float], float | None]) -> None:
        """Move the deadline of every call in flight to ``when(its start, now)`` (loop times)."""
        if not self._in_flight:
            return
        now = asyncio.get_running_loop().time()
        for scope, started in self._in_flight.items():
            if not scope.expired():
                scope.reschedule(when(started, now))

    @asynccontextmanager
    async def watch(self) -> AsyncIterator[None]:
        """Around one unit of work: bounded while recovering; its outcome updates the state."""
        limit = self.deadline()
        started = self._clock()
        try:
            async with asyncio.timeout(limit) as scope:
                self._in_flight[scope] = asyncio.get_running_loop().time()
                try:
                    yield
                finally:
                    del self._in_flight[scope]
        except TimeoutError as error:
            if not scope.expired():
                self.trouble()  # a socket's own timeout: unreachable
                raise
            if self._answered_at is None or self._answered_at < started:
                self.trouble()  # nothing was answered meanwhile: Neo4j does not answer
            raise StoreUnavailable(
                f"neo4j did not answer within {self.deadline_seconds} s (it is unreachable or recovering)"
            ) from error
        except Exception as error:
            if _unreachable(error):
                self.trouble()
            else:
                self.answered()
            raise
        self.answered()


_AVAILABILITY: weakref.WeakKeyDictionary[AsyncDriver, Neo4jAvailability] = weakref.WeakKeyDictionary()


def availability_of(driver: AsyncDriver) -> Neo4jAvailability:
    """The one :class:`Neo4jAvailability` of ``driver``, shared by everything that uses it."""
    found = _AVAILABILITY.get(driver)
    if found is None:
        found = _AVAILABILITY[driver] = Neo4jAvailability()
    return found


def create_driver(
    uri: str,
    user: str | None = None,
    password: str | None = None,
    *,
    connection_timeout: float = CONNECTION_TIMEOUT_SECONDS,
    connection_acquisition_timeout: float = ACQUISITION_TIMEOUT_SECONDS,
    max_transaction_retry_time: float = MAX_TRANSACTION_RETRY_SECONDS,
    initial_retry_delay: float = INITIAL_RETRY_DELAY_SECONDS,
    liveness_check_timeout: float | None = LIVENESS_CHECK_SECONDS,
    **config: Any,
) -> AsyncDriver:
    """Create (not connect) a driver; close it explicitly in the lifespan.

    The timeouts bound how long a call can wait on an unavailable Neo4j (see the constants above);
    none of them limits how long a query runs once it runs (a long analytics query is unaffected;
    give one a server-side limit with ``neo4j.Query(..., timeout=...)`` where wanted). Other driver
    settings pass through ``config``.
    """
    auth = (user, password or "") if user else None
    return AsyncGraphDatabase.driver(
        uri,
        auth=auth,
        connection_timeout=connection_timeout,
        connection_acquisition_timeout=connection_acquisition_timeout,
        max_transaction_retry_time=max_transaction_retry_time,
        initial_retry_delay=initial_retry_delay,
        liveness_check_timeout=liveness_check_timeout,
        **{"notifications_disabled_classifications": list(QUIET_NOTIFICATION_CLASSIFICATIONS), **config},
    )


async def ensure_schema(driver: AsyncDriver, statements: Sequence[str] = SCHEMA) -> None:
    for statement in statements:
        await driver.execute_query(statement)


async def append_outbox(tx: AsyncManagedTransaction, events: Sequence[CloudEvent]) -> None:
    """Write outbox nodes inside the caller's transaction, so they commit with the change."""
    if not events:
        return
    rows = [
        {
            "id": e.id,
            "topic": topic_for(e.type),
            "event": json.dumps(e.model_dump(mode="json"), ensure_ascii=False),
            "time": e.time.isoformat(),
        }
        for e in events
    ]
    result = await tx.run(
        "UNWIND $rows AS row "
        "CREATE (o:OutboxEvent {id: row.id, topic: row.topic, event: row.event, pending: true, "
        "created_at: datetime(row.time), seq: timestamp()})",
        rows=rows,
    )
    await result.consume()


async def claim_event(tx: AsyncManagedTransaction, consumer: str, event_id: str) -> bool:
    """Inside a handler's transaction, before its effect: True if this consumer sees the event first.

    The MERGE on the uniquely constrained key takes a write lock, so a concurrent handler of the same
    event (a redelivery during a rebalance) waits for this transaction and then gets False. If the
    effect's transaction rolls back, so does the claim.
    """
    result = await tx.run(
        "MERGE (p:ProcessedEvent {key: $key}) "
        "ON CREATE SET p.at = datetime(), p.fresh = true ON MATCH SET p.fresh = false "
        "RETURN p.fresh AS fresh",
        key=f"{consumer}:{event_id}",
    )
    record = await result.single()
    return bool(record and record["fresh"])


class Neo4jOutboxStore:
    def __init__(self, driver: AsyncDriver, database: str | None = None) -> None:
        self._driver = driver
        self._database = database

    async def fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        try:
            return await self._fetch_pending(limit)
        except Exception as error:
            # The relay polls even when no one writes: an outage it meets puts the writers on their
            # deadline too (a restarted Neo4j is slow to answer at first; see Neo4jAvailability).
            availability_of(self._driver).trouble(error)
            raise

    async def _fetch_pending(self, limit: int) -> Sequence[PendingEvent]:
        records, _, _ = await self._driver.execute_query(
            "MATCH (o:OutboxEvent) WHERE o.pending = true "
            "RETURN o.id AS id, o.topic AS topic, o.event AS event "
            "ORDER BY o.created_at, o.seq LIMIT $limit",
            limit=limit,
            database_=self._database,
        )
        pending: list[PendingEvent] = []
        unreadable: dict[str, str] = {}
        for r in records:
            try:
                event = CloudEvent.model_validate(json.loads(r["event"]))
            except (TypeError, ValueError) as error:  # pydantic's ValidationError is a ValueError
                unreadable[str(r["id"])] = f"{type(error).__name__}: {error}"[:500]
                continue
            pending.append(PendingEvent(outbox_id=r["id"], topic=r["topic"], event=event))
        if unreadable:
            await self._set_aside(unreadable)
        return pending

    async def _set_aside(self, unreadable: dict[str, str]) -> None:
        """Entries that are no event (written around the outbox, or damaged) can never be published; left
        pending they would stop the relay for good. They stay, out of the relay's way, with the reason."""
        for outbox_id, reason in unreadable.items():
            log.error(
                "outbox entry is not an event; set aside, not published", outbox_id=outbox_id, reason=reason
            )
        await self._driver.execute_query(
            "UNWIND $rows AS row MATCH (o:OutboxEvent {id: row.id}) WHERE o.pending = true "
            "SET o.pending = false, o.unreadable = row.reason, o.set_aside_at = datetime()",
            rows=[{"id": k, "reason": v} for k, v in unreadable.items()],
            database_=self._database,
        )

    async def mark_published(self, entries: Sequence[PendingEvent]) -> None:
        await self._driver.execute_query(
            "UNWIND $ids AS id MATCH (o:OutboxEvent {id: id}) "
            "SET o.pending = false, o.published_at = datetime()",
            ids=[e.outbox_id for e in entries],
            database_=self._database,
        )
