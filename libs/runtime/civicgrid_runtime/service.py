"""The service skeleton: what every CivicGrid service process is made of, wired once.

A service's ``bootstrap.py`` makes one :class:`Service`, adds only what is its own (its store, its
consumers, its jobs, its routes, its gauges) and returns :meth:`Service.app`::

    def create_app(settings: DeliberationSettings | None = None) -> FastAPI:
        settings = settings or load_settings(DeliberationSettings)
        service = Service(settings, title="CivicGrid deliberation", description="...",
                          produces=["civicgrid.deliberation.topics.v1"])
        db = service.mongo(settings.mongo_uri, settings.mongo_database)  # client, readiness, close
        service.outbox(MongoEmbeddedOutbox([db["topics"]]))              # relay, started and measured
        consumers.subscribe(service.broker, ..., settings.consumer_group)
        service.periodic("closer", closer.run_once, settings.close_interval_seconds)
        return service.app(http.router(service.auth, ...))

:class:`Service` wires: logging (``configure_logging``), the Kafka broker (``create_broker``: topic
suffix, dead letters, offsets), the topics created at start (those produced and those subscribed),
the outbox relay, health (``/healthz``, ``/readyz`` with ``kafka``, each store and ``consumers``),
bearer-token auth, periodic jobs, ``/metrics`` and tracing (:mod:`civicgrid_runtime.tracing`: on when
``otlp_endpoint`` is set; :meth:`Service._trace`).
:class:`ServiceLifecycle` is the lifespan underneath (start hooks, topics, broker, relay, jobs; stop
in reverse).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import all_topics
from civicgrid_runtime.auth import TokenVerifier
from civicgrid_runtime.auth.keys import read_public_key
from civicgrid_runtime.http.app import create_service_app
from civicgrid_runtime.http.health import HealthChecks, Probe
from civicgrid_runtime.http.security import Authenticator
from civicgrid_runtime.jobs import Job, LeaseStore, MongoLeases, Starter, Stop, leased, periodic
from civicgrid_runtime.kafka.broker import consumer_stalls, create_broker, stop_broker
from civicgrid_runtime.kafka.publisher import KafkaEventPublisher
from civicgrid_runtime.kafka.topics import (
    ensure_redrive_topics,
    ensure_topics,
    redrive_topics_of,
    with_dead_letters,
)
from civicgrid_runtime.logging import configure_logging, get_logger
from civicgrid_runtime.metrics import ServiceMetrics
from civicgrid_runtime.outbox import OutboxRelay, OutboxStore
from civicgrid_runtime.settings import ServiceSettings
from civicgrid_runtime.stores.mongo import create_client, ping
from civicgrid_runtime.tracing import configure_tracing, flush, instrument_app

Hook = Callable[[], Awaitable[None]]
log = get_logger(__name__)


@dataclass
class ServiceLifecycle:
    settings: ServiceSettings
    broker: KafkaBroker
    relay: OutboxRelay | None = None
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    background: list[Callable[[], Awaitable[Hook]]] = field(default_factory=list)
    stop_timeout_seconds: float = 15.0
    leases: LeaseStore | None = None
    """Where the periodic jobs' and the relay's leases live (one runner across replicas); None: every
    instance runs them (a store without leases)."""
    topics: Sequence[str] = ()
    """Catalogue topics this service produces or consumes; created (with their ``.dlq``) at start,
    under the service's names for them (``settings.topic_suffix``). The catalogue topics its
    subscribers listen on are added at start."""

    def add_readiness(self, health: HealthChecks) -> None:
        """Add the ``consumers`` check: not ready while a consumer holds a record because a store or
        the broker is unavailable (it names the consumer group and since when). Done by
        :meth:`lifespan` for the app made by ``create_service_app``; idempotent."""
        if "consumers" not in health:
            health.add("consumers", consumer_stalls(self.broker).probe)

    async def kafka_ready(self) -> None:
        if not await self.broker.ping(timeout=2.0):
            raise ConnectionError(f"Kafka at {self.settings.kafka_bootstrap_servers} does not answer")

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        health = getattr(app.state, "health", None)
        if isinstance(health, HealthChecks):
            self.add_readiness(health)
        for hook in self.on_start:
            await hook()
        topics = sorted({*self.topics, *consumed_catalogue_topics(self.broker, self.settings)})
        if topics:
            await ensure_topics(
                self.settings.kafka_bootstrap_servers,
                with_dead_letters(topics),
                topics=self.settings.topic_names(),
            )
        # Each group's redrive topic exists before its consumer joins: otherwise the first
        # metadata fetch logs "topic not found" and the group rebalances once more.
        await ensure_redrive_topics(self.settings.kafka_bootstrap_servers, redrive_topics_of(self.broker))
        await self.broker.start()
        stoppers: list[Hook] = []
        if self.settings.run_background_workers:
            if self.relay is not None:
                stoppers.append(await self.singleton("outbox-relay", self._relay_starter(self.relay))())
            for starter in self.background:
                stoppers.append(await starter())
        log.info("service started", kafka=self.settings.kafka_bootstrap_servers)
        try:
            yield
        finally:
            # Every step is bounded, so a stop always ends: a background task or a consumer that does
            # not stop in time is left behind (what it had not finished is done again: outbox and
            # at-least-once consumption), and the log names it. A shutdown that hung once failed a CI
            # run; Kubernetes would SIGKILL such a pod after its grace period anyway.
            await _bounded(
                "background tasks", [stop() for stop in reversed(stoppers)], self.stop_timeout_seconds / 3
            )
            # A consumer caught in a group rebalance can wait for minutes to leave; what it had not
            # committed is simply read again by the group.
            await _bounded("Kafka", [stop_broker(self.broker)], self.stop_timeout_seconds)
            for hook in reversed(self.on_stop):
                await _bounded("a store", [hook()], self.stop_timeout_seconds / 3)
            log.info("service stopped")

    def singleton(self, name: str, starter: Starter) -> Starter:
        """``starter`` run by one instance at a time across the service's replicas: the holder of lease
        ``name`` (scoped by the topic suffix) in :attr:`leases`; every instance when there is none."""

        async def start() -> Stop:
            if self.leases is None:
                return await starter()
            settings = self.settings
            owner = f"{settings.service_name}@{settings.instance_id or socket.gethostname()}"
            lease = name + settings.topic_suffix
            return await leased(lease, self.leases, starter, owner=owner, ttl=settings.lease_ttl_seconds)()

        return start

    @staticmethod
    def _relay_starter(relay: OutboxRelay) -> Starter:
        async def start() -> Stop:
            relay.start()
            return relay.stop

        return start


async def _bounded(what: str, steps: Sequence[Awaitable[None]], seconds: float) -> None:
    """Run ``steps`` side by side for at most ``seconds``; what is not done by then is left running
    (never waited for: a step that swallows its cancellation would hang a ``wait_for`` on Python 3.11)."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("a stop step failed", what=what, error=f"{type(error).__name__}: {error}")
    if pending:
        log.warning("did not stop in time; left behind", what=what, seconds=seconds, left=len(pending))
        for task in pending:
            task.cancel()


def consumed_catalogue_topics(broker: KafkaBroker, settings: ServiceSettings) -> list[str]:
    """The catalogue topics behind the names the broker's subscribers listen on."""
    names = settings.topic_names()
    catalogue = {t.name for t in all_topics()}
    listened = {name for sub in broker.subscribers for name in getattr(sub, "topic_names", ())}
    return sorted({names.catalogue_name(n) for n in listened} & catalogue)


class Service:
    """One service process: settings, logging, broker, outbox relay, health, auth, jobs, metrics.

    Made at the top of a bootstrap's ``create_app``; nothing connects until the app starts. Public
    attributes a bootstrap uses: ``settings``, ``broker`` (subscribe consumers on it), ``publisher``,
    ``health``, ``metrics``, ``lifecycle``, ``auth``, ``relay`` (after :meth:`outbox`) and
    ``components`` (named objects for tests and operators' scripts: ``app.state.components``).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        title: str,
        description: str,
        produces: Iterable[str] = (),
        version: str = "0.1.0",
    ) -> None:
        self.tracing = configure_tracing(settings)
        configure_logging(
            settings.service_name, settings.log_level, settings.log_json, trace_ids=self.tracing
        )
        if self.tracing:
            log.info("tracing on", otlp_endpoint=settings.otlp_endpoint, sampled=settings.trace_sample_ratio)
        self.settings = settings
        self.title, self.description, self.version = title, description, version
        self.topic_names = settings.topic_names()
        self.broker = create_broker(settings)
        self.publisher = KafkaEventPublisher(self.broker)
        self.lifecycle = ServiceLifecycle(settings=settings, broker=self.broker, topics=list(produces))
        self.health = HealthChecks()
        self.health.add("kafka", self.lifecycle.kafka_ready)
        self.metrics = ServiceMetrics()
        self.metrics.watch_broker(self.broker)
        self.relay: OutboxRelay | None = None
        self.components: dict[str, Any] = {}
        self._auth: Authenticator | None = None
        self._app: FastAPI | None = None

    # -- what a bootstrap adds -------------------------------------------------------------------

    @property
    def auth(self) -> Authenticator:
        """Bearer-token auth with the deployment's public key (made in development if missing)."""
        if self._auth is None:
            settings = self.settings
            key = read_public_key(settings.keys_dir, create_if_missing=settings.environment != "production")
            self._auth = Authenticator(TokenVerifier(key, settings.jwt_issuer, settings.jwt_audience))
        return self._auth

    def produces(self, *topics: str) -> None:
        """Catalogue topics this service publishes to (created, with their dead letters, at start)."""
        self.lifecycle.topics = [*self.lifecycle.topics, *topics]

    def store(
        self,
        name: str,
        ready: Probe,
        *,
        start: Hook | None = None,
        close: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """A store: ``ready`` is its readiness probe (``/readyz`` check ``name``), ``start`` runs at
        start (indexes, schema), ``close`` at stop."""
        self.health.add(name, ready)
        if start is not None:
            self.lifecycle.on_start.append(start)
        if close is not None:
            stop = close

            async def closing() -> None:
                await stop()

            self.lifecycle.on_stop.append(closing)

    def mongo(self, uri: str, database: str) -> Any:
        """A MongoDB (FerretDB) database: client made, ``mongodb`` readiness, closed at stop."""
        client = create_client(uri, self.settings.service_name)
        db = client[database]

        async def ready() -> None:
            await ping(db)

        self.store("mongodb", ready, close=client.close)
        if self.lifecycle.leases is None:
            self.lifecycle.leases = MongoLeases(db["leases"])
        return db

    def leases(self, store: LeaseStore) -> None:
        """Where the periodic jobs' and the outbox relay's leases live (a service on MongoDB has them
        in its database's ``leases`` collection without asking)."""
        self.lifecycle.leases = store

    def outbox(self, store: OutboxStore) -> OutboxRelay:
        """The transactional outbox's relay for ``store`` (one per service), publishing through the
        broker with the service's topic names; started with the background workers, measured."""
        if self.relay is not None:
            raise RuntimeError("a service has one outbox relay")
        self.relay = OutboxRelay(
            store,
            self.publisher,
            batch_size=self.settings.outbox_batch_size,
            poll_interval=self.settings.outbox_poll_interval_seconds,
        )
        self.lifecycle.relay = self.relay
        self.metrics.watch_relay(self.relay)
        self.components["relay"] = self.relay
        return self.relay

    def on_start(self, hook: Hook) -> None:
        self.lifecycle.on_start.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self.lifecycle.on_stop.append(hook)

    def periodic(
        self,
        name: str,
        job: Job,
        interval_seconds: float,
        *,
        first_after: float = 0.0,
        lease: str | None = None,
    ) -> None:
        """A background job run every ``interval_seconds`` (again at once while it returns a positive
        count), when the process runs background workers; runs counted in ``/metrics``. Across replicas
        one instance runs it: the holder of its lease (``lease``, by default the job's name)."""
        job_loop = periodic(
            name, job, interval_seconds, first_after=first_after, observers=[self.metrics.observe_job]
        )
        self.background(self.lifecycle.singleton(lease or name, job_loop))

    def background(self, starter: Starter) -> None:
        """A background task of another shape (started after the broker, stopped before it)."""
        self.lifecycle.background.append(starter)

    # -- the app ---------------------------------------------------------------------------------

    def app(self, *routers: APIRouter) -> FastAPI:
        """The FastAPI app: health, problems, limits, correlation ids, ``/metrics``, the routers; its
        lifespan runs the lifecycle. ``app.state.service`` is this object."""
        if self._app is not None:
            raise RuntimeError("Service.app() is called once")
        app = create_service_app(
            self.title,
            self.description,
            self.health,
            lifespan=self.lifecycle.lifespan,
            version=self.version,
            settings=self.settings,
        )
        for router in routers:
            app.include_router(router)
        self.metrics.install(app)
        self._trace(app)
        app.state.service = self
        app.state.components = self.components
        self._app = app
        return app

    def _trace(self, app: FastAPI) -> None:
        """OpenTelemetry, when ``otlp_endpoint`` is set (installed for the process in ``__init__``:
        exporter, PyMongo, aiokafka, logging): a server span per request, and the spans still
        buffered exported at stop. Off: nothing at all."""
        if not self.tracing:
            return
        instrument_app(app)

        async def flush_spans() -> None:
            await asyncio.to_thread(flush)

        self.lifecycle.on_stop.insert(0, flush_spans)  # stop hooks run in reverse: flushed last
