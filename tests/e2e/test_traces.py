"""Traces end to end (issue 12 item 3): the three services as processes export their spans over OTLP/HTTP
to a receiver in this test, and one org-graph write is one trace across the services it reaches: a grid
defined (both consumers of the places topic), and an appointment to the grid's post — org-graph, then
resources seating the grid worker in the grid's team and publishing that, then notifications handling
both the appointment and resources' events, down to the entry sent on the worker's open stream.

The receiver is a tiny HTTP server taking what a Collector takes on ``/v1/traces`` (protobuf
``ExportTraceServiceRequest``), decoded with opentelemetry-proto.
"""

from __future__ import annotations

import gzip
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from civicgrid_runtime.auth import Role, TokenIssuer
from tests.e2e.processes import Stack
from tests.e2e.test_journey import Api, register_community
from tests.integration.notifications.harness import entries_of, eventually, streaming

pytestmark = pytest.mark.e2e

# Span kinds as OTLP numbers them.
SERVER, PRODUCER, CONSUMER, CLIENT = 2, 4, 5, 3


@dataclass(frozen=True)
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict[str, Any]


class OtlpReceiver:
    """Accepts OTLP/HTTP protobuf exports on ``/v1/traces`` and keeps every span it was sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces" or "protobuf" not in (self.headers.get("Content-Type") or ""):
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.receive(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def receive(self, request: ExportTraceServiceRequest) -> None:
        spans: list[Span] = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        Span(
                            service=resource.get("service.name", ""),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=span.kind,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self._lock:
            self.requests += 1
            self.spans.extend(spans)

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def find(self, service: str, name: str, kind: int) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.service == service and s.name == name and s.kind == kind]

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def _traced(stack: Stack, receiver: OtlpReceiver, name: str, **extra: str) -> Any:
    process = stack.service(name, OTLP_ENDPOINT=receiver.endpoint, **extra)
    process.env["OTEL_BSP_SCHEDULE_DELAY"] = "200"  # export every 0.2 s instead of 5 s
    return process


def _one_span(spans: list[Span], what: str) -> Span:
    assert len(spans) == 1, f"{what}: {spans}"
    return spans[0]


def _ancestors_reach(trace: list[Span], span: Span, ancestor: Span) -> bool:
    """Whether ``ancestor`` is on the parent chain of ``span`` within the trace."""
    by_id = {s.span_id: s for s in trace}
    current: Span | None = span
    while current is not None:
        if current.span_id == ancestor.span_id:
            return True
        current = by_id.get(current.parent_span_id)
    return False


async def test_an_org_graph_write_is_one_trace_through_kafka_to_resources_and_notifications_and_a_grid_appointment_one_trace_through_resources_to_the_workers_feed(  # noqa: E501
    stack: Stack, receiver: OtlpReceiver, issuer: TokenIssuer
) -> None:
    og_process = _traced(stack, receiver, "org-graph")
    rs_process = _traced(stack, receiver, "resources")
    nt_process = _traced(stack, receiver, "notifications")
    for process in (og_process, rs_process, nt_process):
        process.start()
    admin = issuer.mint("e2e-admin", [Role.ADMIN])

    async with httpx.AsyncClient(timeout=30) as client:
        og, nt = Api(client, og_process.url, admin), Api(client, nt_process.url, admin)
        street, community = await register_community(og)
        coordinator = issuer.mint("e2e-coordinator", [Role.COORDINATOR], region=street)

        # 1. A grid defined in org-graph: one trace from the request to both consumers' store writes.
        building = f"{community}-C01-B01"
        await og.ok(
            "POST",
            "/places",
            {"kind": "compound", "code": f"{community}-C01", "parent_code": community, "name": "紫阳苑"},
        )
        await og.ok(
            "POST",
            "/places",
            {"kind": "building", "code": building, "parent_code": f"{community}-C01", "name": "1栋"},
        )
        grid = f"{community}001"
        answer = await og.call(
            "POST", "/grids", {"grid_id": grid, "name": "第一网格", "building_codes": [building]}
        )
        assert answer.status_code == 201, answer.text
        traceparent = answer.headers.get("traceparent")

        async def grid_spans() -> list[Span] | None:
            posts = receiver.find("org-graph", "POST /grids", SERVER)
            if not posts:
                return None
            trace = receiver.trace(posts[-1].trace_id)
            services = {s.service for s in trace if s.kind == CONSUMER and s.name.endswith(" process")}
            writes = {s.service for s in trace if s.kind == CLIENT}
            done = {"resources", "notifications"}
            return trace if services >= done and writes >= done else None

        trace = await eventually(
            grid_spans, timeout=90, interval=0.5, what="the grid's trace in both consumers"
        )
        assert traceparent is None, "the trace context is not sent back to the caller"
        request = _one_span([s for s in trace if s.kind == SERVER], "the request's server span")
        assert request.service == "org-graph"
        assert request.parent_span_id == "", "the request starts the trace"
        graph_write = _one_span(
            [s for s in trace if s.service == "org-graph" and s.kind == CLIENT], "org-graph's Neo4j span"
        )
        assert graph_write.name == "neo4j define_grid"
        assert graph_write.parent_span_id == request.span_id, "the unit of work runs within the request"
        assert graph_write.attributes["db.system.name"] == "neo4j"
        assert graph_write.attributes["db.operation.name"] == "define_grid"
        assert not {k for k in graph_write.attributes if "statement" in k or "parameter" in k}
        sends = [s for s in trace if s.kind == PRODUCER and s.service == "org-graph"]
        assert sends, "org-graph's relay sent the event within the request's trace"
        assert all(_ancestors_reach(trace, s, graph_write) for s in sends), (
            "the events were made (and their outbox entries written) within the Neo4j unit of work"
        )
        assert all(s.name == stack.topic("civicgrid.org.places.v1") + " send" for s in sends)
        for service in ("resources", "notifications"):
            processed = [s for s in trace if s.service == service and s.name.endswith(" process")]
            assert processed, f"{service} handled the event within the trace"
            for span in processed:
                assert _ancestors_reach(trace, span, request), (
                    f"{service}'s handling descends from the request"
                )
                assert span.attributes["cloudevents.event_type"].startswith("cn.civicgrid.org.")
            writes = [s for s in trace if s.service == service and s.kind == CLIENT]
            assert any(_ancestors_reach(trace, w, p) for w in writes for p in processed), (
                f"{service}'s store writes are within its handling span"
            )
        assert {s.service for s in trace} == {"org-graph", "resources", "notifications"}

        # 2. An appointment to a grid post: one trace from org-graph's request through its Neo4j write to
        #    both consumers of the membership; resources seats the grid worker in the grid's team and
        #    its events, sent later by its relay, carry on the same trace to notifications; and the
        #    appointment's entry goes out on the worker's open stream.
        residents = (
            await og.ok(
                "POST",
                "/organisations",
                {"kind": "residents_committee", "place_code": community, "name": "社区居委会"},
            )
        )["org_id"]
        body = {
            "display_name": "王网格员",
            "community_code": community,
            "party_member": False,
            "person_id": f"e2e-{uuid.uuid4().hex[:10]}",
        }
        worker = str((await og.ok("POST", "/people", body))["person_id"])
        member = issuer.mint(worker, [Role.MEMBER], person_id=worker)
        started = "cn.civicgrid.org.membership.started.v1"
        async with streaming(client, f"{nt.base}/members/{worker}/stream", nt.headers(member)) as live:
            await og.ok(
                "POST",
                "/memberships",
                {
                    "person_id": worker,
                    "org_id": residents,
                    "post": "grid_worker",
                    "grid_id": grid,
                    "start_date": "2025-07-01",
                    "basis": "appointment",
                    "basis_reference": "居委会决定2025-7号",
                },
                token=coordinator,
            )

            def appointment_entry() -> dict[str, Any] | None:
                return next(
                    (e for e in entries_of(live) if e["data"]["item"]["title"] == "任职通知：网格员"), None
                )

            async def appointed() -> bool:
                return appointment_entry() is not None

            await eventually(appointed, timeout=60, what="the appointment on the worker's stream")
            entry = appointment_entry()
            assert entry is not None
            # 3. The worker reads it: that change reaches the stream within the read request's trace.
            item_id = entry["data"]["item"]["id"]
            await nt.ok("POST", f"/members/{worker}/feed/{item_id}/state", {"state": "read"}, token=member)

            def read_entry() -> dict[str, Any] | None:
                return next(
                    (
                        e
                        for e in entries_of(live)
                        if e["data"]["item"]["id"] == item_id and e["data"]["item"]["state"] == "read"
                    ),
                    None,
                )

            async def read_arrived() -> bool:
                return read_entry() is not None

            await eventually(read_arrived, timeout=60, what="the read state on the worker's stream")
            read_change = read_entry()
            assert read_change is not None

        rs = Api(client, rs_process.url, admin)

        async def seated_in_team() -> bool:
            answer = await rs.call("GET", f"/grids/{grid}/team")
            return answer.status_code == 200 and [m["person_id"] for m in answer.json()["members"]] == [
                worker
            ]

        await eventually(seated_in_team, timeout=60, what="the grid worker in the grid's team in resources")

        def handling(trace: list[Span], service: str, prefix: str) -> list[Span]:
            return [
                s
                for s in trace
                if s.service == service
                and s.name.endswith(" process")
                and str(s.attributes.get("cloudevents.event_type", "")).startswith(prefix)
            ]

        async def appointment_spans() -> list[Span] | None:
            posts = receiver.find("org-graph", "POST /memberships", SERVER)
            if not posts:
                return None
            trace = receiver.trace(posts[-1].trace_id)
            parts = (
                handling(trace, "resources", started),
                handling(trace, "notifications", started),
                handling(trace, "notifications", "cn.civicgrid.resources.team.member_added."),
                [s for s in trace if s.service == "notifications" and s.name == "sse send"],
            )
            return trace if all(parts) else None

        trace = await eventually(
            appointment_spans,
            timeout=90,
            interval=0.5,
            what="the appointment's trace through the three services",
        )
        assert {s.service for s in trace} == {"org-graph", "resources", "notifications"}
        request = _one_span([s for s in trace if s.kind == SERVER], "the appointment's server span")
        assert request.parent_span_id == "", "the request starts the trace"
        graph_write = _one_span(
            [s for s in trace if s.service == "org-graph" and s.kind == CLIENT],
            "the appointment's Neo4j span",
        )
        assert graph_write.name == "neo4j appoint"
        assert graph_write.parent_span_id == request.span_id
        seated = _one_span(handling(trace, "resources", started), "resources' handling of the appointment")
        assert _ancestors_reach(trace, seated, graph_write), (
            "resources handled an event made within the Neo4j unit of work"
        )
        assert seated.attributes["cloudevents.event_type"] == started
        rs_writes = [s for s in trace if s.service == "resources" and s.kind == CLIENT]
        assert any(_ancestors_reach(trace, w, seated) for w in rs_writes), (
            "resources' store writes are within its handling span"
        )
        rs_sends = [s for s in trace if s.service == "resources" and s.kind == PRODUCER]
        assert rs_sends, "resources' relay sent the events of the seat within the trace"
        assert {s.name for s in rs_sends} == {stack.topic("civicgrid.resources.deployment.v1") + " send"}
        assert all(_ancestors_reach(trace, s, seated) for s in rs_sends), (
            "the team's events were made within resources' handling of the appointment"
        )
        from_resources = handling(trace, "notifications", "cn.civicgrid.resources.")
        assert {s.attributes["cloudevents.event_type"] for s in from_resources} >= {
            "cn.civicgrid.resources.team.formed.v1",
            "cn.civicgrid.resources.team.member_added.v1",
        }
        for span in from_resources:
            assert any(_ancestors_reach(trace, span, send) for send in rs_sends), (
                "notifications handled resources' events as a hop after resources' send"
            )
        handled = handling(trace, "notifications", started)
        assert all(_ancestors_reach(trace, s, graph_write) for s in handled), (
            "notifications handled an event made within the Neo4j unit of work"
        )
        assert any(s.service == "notifications" and s.kind == CLIENT for s in trace), "the feed write"
        delivered = [s for s in trace if s.name == "sse send"]
        assert delivered, "the entry's send on the member's open stream is in the trace"
        for send in delivered:
            assert send.service == "notifications"
            assert send.kind == PRODUCER
            assert any(_ancestors_reach(trace, send, h) for h in handled + from_resources), (
                "the stream's send descends from the handling that wrote the feed entry"
            )
            assert set(send.attributes) == {
                "sse.event",
                "sse.event.id",
                "civicgrid.feed.kind",
                "civicgrid.feed.category",
                "civicgrid.feed.priority",
                "civicgrid.sse.replayed",
            }, "what kind of entry went out, never to whom nor what it said"
            assert send.attributes["civicgrid.feed.kind"] == "personal"
            assert send.attributes["civicgrid.sse.replayed"] is False
            assert worker not in str(list(send.attributes.values()))
        assert entry["id"] in {s.attributes["sse.event.id"] for s in delivered}
        assert read_change["id"] not in {s.attributes["sse.event.id"] for s in delivered}

        async def read_spans() -> list[Span] | None:
            reads = receiver.find("notifications", "POST /members/{member_id}/feed/{item_id}/state", SERVER)
            if not reads:
                return None
            trace = receiver.trace(reads[-1].trace_id)
            return trace if any(s.name == "sse send" for s in trace) else None

        trace = await eventually(read_spans, timeout=60, interval=0.5, what="the read's trace to the stream")
        read = _one_span([s for s in trace if s.kind == SERVER], "the read's server span")
        sent = _one_span([s for s in trace if s.name == "sse send"], "the read's send on the stream")
        assert sent.parent_span_id == read.span_id, "the state change kept the read request's context"
        assert sent.attributes["sse.event.id"] == read_change["id"]

    # No probe, scrape or background poll made a trace of its own.
    with receiver._lock:
        names = {s.name for s in receiver.spans if s.parent_span_id == ""}
    assert not {n for n in names if "healthz" in n or "readyz" in n or "metrics" in n}
    assert not {n for n in names if n.endswith(" receive")}
    assert not {n for n in names if n.startswith("neo4j ") or n == "sse send"}
