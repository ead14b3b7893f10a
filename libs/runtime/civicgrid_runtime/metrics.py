"""``/metrics`` in the Prometheus text format: the figures every service has, and a place for its own.

One :class:`ServiceMetrics` per service (its own registry: several apps in one test process never
clash). :class:`~civicgrid_runtime.service.Service` makes it and wires it; what it measures:

========================================================  ===========================================
``civicgrid_http_requests_total{method,route,status}``     requests answered, by route *template*
``civicgrid_http_request_duration_seconds{method,route}``  time to the response's start (histogram)
``civicgrid_consumer_lag{group,topic,partition}``          records not yet handled, per partition
``civicgrid_outbox_pending``                               entries the relay found pending, unpublished
``civicgrid_outbox_oldest_age_seconds``                    age of the oldest of them (0: none)
``civicgrid_outbox_published_total``                       entries published by the relay
``civicgrid_outbox_relay_failures_total``                  relay rounds that failed (store or broker)
``civicgrid_dead_letters_total{topic,reason}``             records dead-lettered (reason: the exception)
``civicgrid_job_runs_total{job,outcome}``                  periodic job runs, ``ok`` or ``error``
``civicgrid_job_duration_seconds{job}``                    how long each run took (histogram)
========================================================  ===========================================

A service adds its own with :meth:`ServiceMetrics.gauge` / :meth:`ServiceMetrics.counter` and, for
figures read from a store, :meth:`ServiceMetrics.on_scrape` (run before each scrape, bounded in time).
Names start with ``civicgrid_``; labels never carry personal data or unbounded values (ids, paths).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from faststream.kafka import KafkaBroker
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicgrid_runtime.kafka.broker import dead_letter_policy
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.outbox import OutboxRelay

log = get_logger(__name__)
Refresh = Callable[[], Awaitable[None]]
METRICS_PATH = "/metrics"
UNMATCHED = "(unmatched)"
SCRAPE_REFRESH_SECONDS = 2.0
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._refreshers: list[Refresh] = []
        self.http_requests = self.counter(
            "civicgrid_http_requests",
            "HTTP requests answered, by route template.",
            ("method", "route", "status"),
        )
        self.http_duration = Histogram(
            "civicgrid_http_request_duration_seconds",
            "Seconds from a request's arrival to the start of its response, by route template.",
            ("method", "route"),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.consumer_lag = self.gauge(
            "civicgrid_consumer_lag",
            "Records on a partition this process consumes that were not handled yet.",
            ("group", "topic", "partition"),
        )
        self.dead_letters = self.counter(
            "civicgrid_dead_letters",
            "Records sent to a dead-letter topic, by original topic and exception.",
            ("topic", "reason"),
        )
        self.job_runs = self.counter("civicgrid_job_runs", "Runs of periodic jobs.", ("job", "outcome"))
        self.job_duration = Histogram(
            "civicgrid_job_duration_seconds",
            "Seconds each run of a periodic job took.",
            ("job",),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )

    # -- a service's own figures -------------------------------------------------------------------

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter; Prometheus shows it as ``<name>_total``."""
        return Counter(name, documentation, labels, registry=self.registry)

    def on_scrape(self, refresh: Refresh) -> None:
        """Run ``refresh`` before each scrape (e.g. set a gauge from a store count). A refresh that
        fails or takes longer than 2 s is logged and its gauges keep their last values."""
        self._refreshers.append(refresh)

    # -- the runtime's figures ---------------------------------------------------------------------

    def observe_job(self, job: str, outcome: str, seconds: float) -> None:
        self.job_runs.labels(job, outcome).inc()
        self.job_duration.labels(job).observe(seconds)

    def watch_broker(self, broker: KafkaBroker) -> None:
        """Dead letters (counted as they are sent) and consumer lag (read at each scrape)."""
        dead_letter_policy(broker).observers.append(
            lambda topic, reason: self.dead_letters.labels(topic, reason).inc()
        )

        async def lag() -> None:
            # Committed offsets, not fetch positions: a consumer holding a record on an outage keeps
            # prefetching, so its position runs ahead of what was handled.
            self.consumer_lag.clear()
            for group, consumer in _consumers(broker):
                for tp in consumer.assignment():
                    end = consumer.highwater(tp)
                    if end is None:
                        continue  # nothing fetched from this partition yet
                    done = await consumer.committed(tp)
                    if done is None:
                        done = await consumer.position(tp)
                    self.consumer_lag.labels(group, tp.topic, str(tp.partition)).set(max(0, end - done))

        self.on_scrape(lag)

    def watch_relay(self, relay: OutboxRelay) -> None:
        self.registry.register(_RelayCollector(relay))

    # -- serving -----------------------------------------------------------------------------------

    async def render(self) -> bytes:
        for refresh in self._refreshers:
            try:
                async with asyncio.timeout(SCRAPE_REFRESH_SECONDS):
                    await refresh()
            except Exception as error:
                log.warning("a metrics refresh failed; its figures keep their last values", error=str(error))
        return generate_latest(self.registry)

    def install(self, app: FastAPI) -> None:
        """Serve ``GET /metrics`` and measure every request of ``app``."""
        router = APIRouter(tags=["health"])

        @router.get(METRICS_PATH, summary="Prometheus metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(await self.render(), media_type=CONTENT_TYPE_LATEST)

        app.include_router(router)
        app.add_middleware(HttpMetricsMiddleware, metrics=self)


def _consumers(broker: KafkaBroker) -> Iterable[tuple[str, AIOKafkaConsumer]]:
    for subscriber in broker.subscribers:
        group = str(getattr(subscriber, "group_id", "") or "")
        consumers = getattr(subscriber, "consumer_subgroup", None) or [getattr(subscriber, "consumer", None)]
        for consumer in consumers:
            if isinstance(consumer, AIOKafkaConsumer):
                yield group, consumer


class _RelayCollector(Collector):
    def __init__(self, relay: OutboxRelay) -> None:
        self._relay = relay

    def collect(self) -> Iterable[Metric]:
        relay = self._relay
        oldest = relay.oldest_pending_time
        age = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        yield GaugeMetricFamily(
            "civicgrid_outbox_pending",
            "Outbox entries the relay found pending at its last poll, not yet published (at most a batch).",
            value=relay.pending_seen,
        )
        yield GaugeMetricFamily(
            "civicgrid_outbox_oldest_age_seconds",
            "Age of the oldest outbox entry the relay found pending and has not published (0: none).",
            value=age,
        )
        yield GaugeMetricFamily(
            "civicgrid_outbox_last_poll_timestamp_seconds",
            "When the relay last read the outbox (0: never).",
            value=relay.last_poll_time or 0.0,
        )
        yield CounterMetricFamily(
            "civicgrid_outbox_published",
            "Outbox entries published by the relay.",
            value=relay.published_total,
        )
        yield CounterMetricFamily(
            "civicgrid_outbox_relay_failures",
            "Relay rounds that failed (the store or the broker unavailable).",
            value=relay.failures_total,
        )


class HttpMetricsMiddleware:
    """Counts and times each HTTP request by its route template (``/requests/{request_id}``), never
    by its path: ids stay out of the labels. Unrouted requests share one ``(unmatched)`` label."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not status:
                status.append(int(message["status"]))
                self._observe(scope, status[0], time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            if not status:
                self._observe(scope, 500, time.perf_counter() - started)
            raise

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", "?"))
        route = _route_template(scope)
        self.metrics.http_requests.labels(method, route, str(status)).inc()
        self.metrics.http_duration.labels(method, route).observe(seconds)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED
