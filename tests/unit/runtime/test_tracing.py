"""Tracing: log lines carry trace and span ids, events carry the trace they were made in (CloudEvents
distributed-tracing extension), consumers continue it, and nothing of it exists when tracing is off."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from civicgrid_contracts import CloudEvent, new_event
from civicgrid_contracts.examples import example_payloads
from civicgrid_runtime import tracing
from civicgrid_runtime.logging import configure_logging, get_logger
from civicgrid_runtime.settings import ServiceSettings


def _event() -> CloudEvent:
    return new_event(example_payloads()["cn.civicgrid.org.person.registered.v1"], source="/civicgrid/tests")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    settings = ServiceSettings(service_name="tracing-tests", otlp_endpoint="http://127.0.0.1:4318")
    assert tracing.configure_tracing(settings, exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown_tracing()


def _tracer() -> Any:
    return tracing._provider.get_tracer("tests")


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_log_lines_within_a_span_carry_its_trace_and_span_ids(
    spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("tracing-tests", "INFO", trace_ids=True)
    with _tracer().start_as_current_span("work") as span:
        get_logger("tests.tracing").info("structlog line")
        logging.getLogger("tests.stdlib").warning("stdlib line")
    get_logger("tests.tracing").info("line outside any span")
    lines = {line["event"]: line for line in _lines(capsys.readouterr().out)}
    context = span.get_span_context()
    for name in ("structlog line", "stdlib line"):
        assert lines[name]["trace_id"] == format(context.trace_id, "032x")
        assert lines[name]["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in lines["line outside any span"]


def test_an_event_made_within_a_span_carries_its_traceparent_in_the_ce_header(
    spans: InMemorySpanExporter,
) -> None:
    with _tracer().start_as_current_span("request") as span:
        event = _event()
    context = span.get_span_context()
    assert event.traceparent is not None
    assert event.traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    headers = dict(event.to_kafka().headers)
    assert headers["ce_traceparent"] == event.traceparent.encode()
    assert "traceparent" not in headers, "the producer's instrumentation adds its own, at send"


def test_an_event_made_outside_any_span_carries_no_trace_context(spans: InMemorySpanExporter) -> None:
    event = _event()
    assert event.traceparent is None
    assert "ce_traceparent" not in dict(event.to_kafka().headers)


def test_a_received_event_keeps_its_own_trace_context_not_the_receivers(spans: InMemorySpanExporter) -> None:
    with _tracer().start_as_current_span("request"):
        sent = _event()
    untraced = _event()
    with _tracer().start_as_current_span("elsewhere"):
        record = sent.to_kafka()
        received = CloudEvent.from_kafka(record.key, record.value, record.headers)
        plain = untraced.to_kafka()
        received_untraced = CloudEvent.from_kafka(plain.key, plain.value, plain.headers)
    assert received.traceparent == sent.traceparent
    assert received_untraced.traceparent is None


def test_an_outbox_entry_stored_and_read_back_keeps_the_writers_trace_context(
    spans: InMemorySpanExporter,
) -> None:
    with _tracer().start_as_current_span("request"):
        event = _event()
    stored = event.model_dump(mode="json")  # what the outbox stores (MongoDB and Neo4j alike)
    assert CloudEvent.model_validate(stored).traceparent == event.traceparent


@dataclass
class _Record:
    topic: str = "civicgrid.org.places.v1"
    partition: int = 3
    offset: int = 42
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def test_a_consumer_span_continues_the_records_traceparent_header_else_the_events(
    spans: InMemorySpanExporter,
) -> None:
    with _tracer().start_as_current_span("request") as request:
        event = _event()
    with _tracer().start_as_current_span("send", kind=SpanKind.PRODUCER) as send:
        pass
    send_context = send.get_span_context()
    header = f"00-{send_context.trace_id:032x}-{send_context.span_id:016x}-01".encode()
    with tracing.processing(_Record(headers=[("traceparent", header)]), event, "group-a"):
        pass
    with tracing.processing(_Record(), event, "group-b"):
        pass
    processed = [s for s in spans.get_finished_spans() if s.name == "civicgrid.org.places.v1 process"]
    assert [s.kind for s in processed] == [SpanKind.CONSUMER, SpanKind.CONSUMER]
    by_header, by_event = processed
    assert by_header.parent is not None
    assert by_header.parent.span_id == send_context.span_id
    assert by_event.parent is not None
    assert by_event.parent.span_id == request.get_span_context().span_id
    assert by_event.context.trace_id == request.get_span_context().trace_id
    assert by_event.attributes is not None
    assert by_event.attributes["messaging.consumer.group.name"] == "group-b"
    assert by_event.attributes["cloudevents.event_id"] == event.id


def test_background_store_calls_and_kafka_polls_outside_any_trace_are_not_recorded(
    spans: InMemorySpanExporter,
) -> None:
    tracer = _tracer()
    with tracer.start_as_current_span("find", kind=SpanKind.CLIENT):
        pass
    with tracer.start_as_current_span("civicgrid.org.places.v1 receive", kind=SpanKind.CONSUMER):
        pass
    with (
        tracer.start_as_current_span("GET /places/{code}", kind=SpanKind.SERVER),
        tracer.start_as_current_span("find", kind=SpanKind.CLIENT),
    ):
        pass
    assert sorted(s.name for s in spans.get_finished_spans()) == ["GET /places/{code}", "find"]


def test_a_delivery_made_later_from_a_stored_context_is_a_send_span_in_the_writers_trace(
    spans: InMemorySpanExporter,
) -> None:
    with _tracer().start_as_current_span("feed write") as writer:
        stored = tracing.store_context()
    assert tracing.store_context() == {}, "nothing to store outside a span"
    span = tracing.start_send_span("sse send", stored["traceparent"], attributes={"sse.event": "entry"})
    assert span is not None
    span.end()
    sent = [s for s in spans.get_finished_spans() if s.name == "sse send"]
    assert len(sent) == 1
    assert sent[0].kind == SpanKind.PRODUCER
    assert sent[0].parent is not None
    assert sent[0].parent.span_id == writer.get_span_context().span_id
    assert sent[0].context.trace_id == writer.get_span_context().trace_id
    assert tracing.start_send_span("sse send", None, attributes={}) is None, "no stored context, no span"


def test_a_store_call_is_a_client_span_named_after_its_use_case_whose_events_are_its_children(
    spans: InMemorySpanExporter,
) -> None:
    with (
        _tracer().start_as_current_span("POST /memberships", kind=SpanKind.SERVER) as request,
        tracing.store_call("neo4j", "appoint", "neo4j"),
    ):
        event = _event()
    call = [s for s in spans.get_finished_spans() if s.name == "neo4j appoint"]
    assert len(call) == 1
    assert call[0].kind == SpanKind.CLIENT
    assert call[0].parent is not None
    assert call[0].parent.span_id == request.get_span_context().span_id
    assert dict(call[0].attributes or {}) == {
        "db.system.name": "neo4j",
        "db.system": "neo4j",
        "db.operation.name": "appoint",
        "db.namespace": "neo4j",
    }
    assert event.traceparent is not None
    assert event.traceparent.split("-")[2] == f"{call[0].context.span_id:016x}"


def test_a_store_call_outside_any_trace_makes_no_span_and_gives_its_events_no_context(
    spans: InMemorySpanExporter,
) -> None:
    with tracing.store_call("neo4j", "expire_terms"):
        event = _event()
    assert spans.get_finished_spans() == ()
    assert event.traceparent is None, "its consumers may still start a trace of their own"


def test_tracing_is_off_without_an_otlp_endpoint_and_events_carry_nothing() -> None:
    assert not tracing.configure_tracing(ServiceSettings(service_name="untraced"))
    assert not tracing.ENABLED
    assert tracing.current_trace_context() is None
    assert tracing.store_context() == {}
    stored = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    assert tracing.start_send_span("sse send", stored, attributes={}) is None
    assert _event().traceparent is None


def test_the_otlp_endpoint_is_the_collectors_base_address_or_the_full_traces_url() -> None:
    assert tracing.traces_url("http://otel-collector:4318") == "http://otel-collector:4318/v1/traces"
    assert tracing.traces_url("http://otel-collector:4318/") == "http://otel-collector:4318/v1/traces"
    assert tracing.traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def test_an_otlp_endpoint_that_is_not_an_http_address_is_refused() -> None:
    with pytest.raises(ValueError, match="otlp_endpoint"):
        ServiceSettings(otlp_endpoint="otel-collector:4318")
