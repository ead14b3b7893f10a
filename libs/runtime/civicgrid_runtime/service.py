"""Lifecycle of a service process: start the store, the broker and the outbox relay; stop them in reverse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from civicgrid_runtime.http.health import HealthChecks
from civicgrid_runtime.kafka.broker import consumer_stalls, stop_broker
from civicgrid_runtime.kafka.topics import (
    ensure_redrive_topics,
    ensure_topics,
    redrive_topics_of,
    with_dead_letters,
)
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.outbox import OutboxRelay
from civicgrid_runtime.settings import ServiceSettings

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
    topics: Sequence[str] = ()
    """Catalogue topics this service produces or consumes; created (with their ``.dlq``) at start,
    under the service's names for them (``settings.topic_suffix``)."""

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
        if self.topics:
            await ensure_topics(
                self.settings.kafka_bootstrap_servers,
                with_dead_letters(self.topics),
                topics=self.settings.topic_names(),
            )
        # Each group's redrive topic exists before its consumer joins: otherwise the first
        # metadata fetch logs "topic not found" and the group rebalances once more.
        await ensure_redrive_topics(self.settings.kafka_bootstrap_servers, redrive_topics_of(self.broker))
        await self.broker.start()
        stoppers: list[Hook] = []
        if self.settings.run_background_workers:
            if self.relay is not None:
                self.relay.start()
            for starter in self.background:
                stoppers.append(await starter())
        log.info("service started", kafka=self.settings.kafka_bootstrap_servers)
        try:
            yield
        finally:
            for stop in reversed(stoppers):
                await stop()
            if self.relay is not None:
                await self.relay.stop()
            try:
                # Bounded: a consumer caught in a group rebalance can wait for minutes to leave; what
                # it had not committed is simply read again by the group (at-least-once).
                await asyncio.wait_for(stop_broker(self.broker), timeout=self.stop_timeout_seconds)
            except TimeoutError:
                log.warning("Kafka did not stop in time; leaving the group by session timeout")
            for hook in reversed(self.on_stop):
                await hook()
            log.info("service stopped")
