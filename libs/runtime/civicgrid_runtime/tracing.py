"""OpenTelemetry tracing: one trace from an HTTP request through the outbox and Kafka to every consumer.

Off unless ``otlp_endpoint`` is set (``<PREFIX>OTLP_ENDPOINT``): then nothing of OpenTelemetry's SDK
is even imported, no instrumentation is installed and the hot paths test one module flag
(:data:`ENABLED`) or one event attribute that is None.

On, :func:`configure_tracing` installs, once per process:

- a ``TracerProvider`` named after the service (``service.name``), exporting in batches over OTLP/HTTP
  protobuf to ``<otlp_endpoint>/v1/traces`` (the Collector of ``docker-compose.yml``);
- the maintained instrumentations: FastAPI/ASGI (one server span per request, by route template;
  :func:`instrument_app`), PyMongo (a client span per command), aiokafka (a producer span per record
  sent, with W3C ``traceparent`` in its headers, and a receive span per record fetched) and logging
  (trace and span ids on every log record, rendered by ``logging.py`` as ``trace_id``/``span_id``);
- the CloudEvents distributed-tracing extension: every event made while a span is current carries its
  ``traceparent``/``tracestate`` (``CloudEvent`` fields, ``ce_traceparent``/``ce_tracestate`` headers in
  binary mode). The outbox stores events whole, so each entry keeps the context of the request that
  wrote it; the relay, running later, sends each record under that context (the aiokafka producer span
  joins the request's trace);
- on the consuming side (``kafka/consumer.py``), the handler of each record runs in a ``<topic>
  process`` span whose parent is the record's ``traceparent`` header (the producer span), else its
  ``ce_traceparent``: the consumer's store writes and the events it emits continue the same trace;
- stores without a maintained instrumentation (Neo4j): :func:`store_call`, a client span per unit of
  work named after its use case;
- deliveries made later, outside the writer's context (notifications' live stream, fed by a poll):
  the writer stores :func:`store_context` with what it wrote and the deliverer opens
  :func:`start_send_span` from it.

Spans nobody asked for are not recorded: a store command or a Kafka poll outside any trace (the relay's
and the jobs' polling) would otherwise make a trace of its own every half second.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from civicgrid_contracts import envelope

if TYPE_CHECKING:
    from fastapi import FastAPI

    from civicgrid_contracts.envelope import CloudEvent
    from civicgrid_runtime.settings import ServiceSettings

ENABLED = False
"""True once :func:`configure_tracing` installed tracing in this process (read on hot paths)."""

TRACES_PATH = "/v1/traces"
EXCLUDED_URLS = "/healthz,/readyz,/metrics"
"""Probes and scrapes make no spans."""

_provider: Any = None
_tracer: Any = None
_propagator: Any = None
_current_span: Any = None


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector's base address (``http://host:4318``)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def configure_tracing(settings: ServiceSettings, *, exporter: Any = None) -> bool:
    """Install tracing for this process if ``settings.otlp_endpoint`` is set; True when tracing is on.

    Once per process (the instrumentations patch classes): a second call, e.g. a second app made by a
    test, keeps the first provider. ``exporter`` (tests): a span exporter used instead of OTLP, each
    span exported as it ends."""
    global ENABLED, _provider, _tracer, _propagator, _current_span
    if not settings.otlp_endpoint:
        return ENABLED
    if _provider is not None:
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.logging import LoggingInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    resource = Resource.create(
        {
            "service.name": settings.service_name,
            "service.namespace": "civicgrid",
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource, sampler=_sampler(settings.trace_sample_ratio))
    if exporter is None:
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint)))
        )
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)  # the global one, for other libraries (set once per process)
    AIOKafkaInstrumentor().instrument(tracer_provider=provider)
    PymongoInstrumentor().instrument(tracer_provider=provider)
    LoggingInstrumentor().instrument(
        tracer_provider=provider,
        set_logging_format=False,
        inject_trace_context=True,
        enable_log_auto_instrumentation=False,  # ids on records only; logs stay on stdout
    )
    _provider, _propagator, _current_span = provider, TraceContextTextMapPropagator(), trace.get_current_span
    _tracer = provider.get_tracer("civicgrid_runtime")
    envelope.set_trace_source(current_trace_context)
    ENABLED = True
    return True


def _sampler(ratio: float) -> Any:
    from opentelemetry.sdk.trace.sampling import (
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )
    from opentelemetry.trace import SpanKind

    class BackgroundDropped(Sampler):
        """Roots that are a client call (a store command) or a Kafka poll are dropped: they are the
        background polling of relays, jobs and live feeds, not something a request or an event did."""

        def __init__(self, ratio: float) -> None:
            self._ratio = TraceIdRatioBased(ratio)

        def should_sample(  # type: ignore[no-untyped-def]
            self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
        ) -> SamplingResult:
            if kind == SpanKind.CLIENT or (kind == SpanKind.CONSUMER and name.endswith(" receive")):
                return SamplingResult(Decision.DROP)
            return self._ratio.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"BackgroundDropped({self._ratio.get_description()})"

    return ParentBased(root=BackgroundDropped(ratio))


def instrument_app(app: FastAPI) -> None:
    """Server spans for the app's requests (FastAPI/ASGI instrumentation), when tracing is on. The
    ASGI ``send``/``receive`` sub-spans are left out: a live stream would make one per message."""
    if not ENABLED:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"]
    )


def flush(timeout_millis: int = 5_000) -> None:
    """Export the spans still buffered (at stop)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def current_trace_context() -> tuple[str, str | None] | None:
    """The current span's W3C ``traceparent`` (and ``tracestate``, if any), or None outside a span."""
    if _current_span is None:
        return None
    context = _current_span().get_span_context()
    if not context.is_valid:
        return None
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    return traceparent, (context.trace_state.to_header() or None) if context.trace_state else None


def _event_carrier(event: CloudEvent) -> dict[str, str]:
    carrier = {"traceparent": event.traceparent or ""}
    if event.tracestate:
        carrier["tracestate"] = event.tracestate
    return carrier


@contextlib.contextmanager
def event_context(event: CloudEvent) -> Iterator[None]:
    """Run the block under the trace context the event was made in (the relay sends an outbox entry
    under its writer's context, so the producer span joins the writer's trace)."""
    if _propagator is None or not event.traceparent:
        yield
        return
    from opentelemetry import context

    token = context.attach(_propagator.extract(_event_carrier(event)))
    try:
        yield
    finally:
        context.detach(token)


def _record_carrier(headers: Sequence[tuple[str, bytes]], event: CloudEvent) -> dict[str, str]:
    """The record's own ``traceparent`` header (set by the producer's instrumentation: the send span),
    else the event's ``ce_traceparent`` (the span that made the event)."""
    carrier: dict[str, str] = {}
    for name, value in headers:
        if name in ("traceparent", "tracestate"):
            carrier[name] = bytes(value).decode("latin-1")
    return carrier if "traceparent" in carrier else _event_carrier(event)


@contextlib.contextmanager
def processing(record: Any, event: CloudEvent, group: str) -> Iterator[None]:
    """A consumer span ``<topic> process`` around the handler of a Kafka record (an aiokafka
    ``ConsumerRecord``), continuing the record's trace."""
    if _tracer is None:
        yield
        return
    from opentelemetry.trace import SpanKind

    topic, partition, offset = record.topic, record.partition, record.offset
    parent = _propagator.extract(_record_carrier(record.headers or (), event))
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": str(partition),
        "messaging.kafka.offset": offset,
        "messaging.consumer.group.name": group,
        "messaging.message.id": event.id,
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        "cloudevents.event_source": event.source,
    }
    with _tracer.start_as_current_span(
        f"{topic} process", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def store_context() -> dict[str, str]:
    """The current trace context as fields of a stored document (``traceparent`` and, if any,
    ``tracestate``), for a write whose later delivery happens outside the writer's context (the live
    stream's poller); empty outside a span or with tracing off."""
    context = current_trace_context()
    if context is None:
        return {}
    traceparent, tracestate = context
    return (
        {"traceparent": traceparent, "tracestate": tracestate} if tracestate else {"traceparent": traceparent}
    )


def start_send_span(
    name: str, traceparent: str | None, tracestate: str | None = None, *, attributes: dict[str, Any]
) -> Any:
    """A short producer span (not made current; the caller ends it) whose parent is a stored trace
    context: the delivery of something written earlier joins the writer's trace. None with tracing
    off or without a stored context; a parent that was not sampled makes a span that is not recorded."""
    if _tracer is None or not traceparent:
        return None
    from opentelemetry.trace import SpanKind

    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    parent = _propagator.extract(carrier)
    return _tracer.start_span(name, context=parent, kind=SpanKind.PRODUCER, attributes=attributes)


@contextlib.contextmanager
def store_call(system: str, operation: str, namespace: str | None = None) -> Iterator[None]:
    """A client span ``<system> <operation>`` around one unit of work on a store that has no maintained
    instrumentation (Neo4j): ``db.system.name`` and ``db.operation.name`` (the use case, never a
    query or its parameters). Current while the block runs, so the events the unit of work makes are
    its children. Outside any trace (a periodic job) there is no span at all: a dropped one would
    still hand its events an unsampled context, and their consumers could not start a trace of
    their own."""
    if _tracer is None or not _current_span().get_span_context().is_valid:
        yield
        return
    from opentelemetry.trace import SpanKind

    attributes = {
        "db.system.name": system,
        "db.system": system,  # the attribute's older name, still what many back ends group by
        "db.operation.name": operation,
    }
    if namespace:
        attributes["db.namespace"] = namespace
    with _tracer.start_as_current_span(f"{system} {operation}", kind=SpanKind.CLIENT, attributes=attributes):
        yield


def shutdown_tracing() -> None:
    """Flush, then remove everything :func:`configure_tracing` installed (tests; a process that
    stops simply flushes)."""
    global ENABLED, _provider, _tracer, _propagator, _current_span
    if _provider is None:
        return
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.logging import LoggingInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    for instrumentor in (AIOKafkaInstrumentor(), PymongoInstrumentor(), LoggingInstrumentor()):
        instrumentor.uninstrument()
    _provider.shutdown()
    ENABLED, _provider, _tracer, _propagator, _current_span = False, None, None, None, None
    envelope.set_trace_source(None)
