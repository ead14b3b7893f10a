"""Local HTTP servers standing in for the push service and the SMS / WeChat gateways."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, dict[str, Any] | None]


@dataclass
class FakeGateway:
    """Answers each POST with the next scripted (status, json body); the last one repeats. A path
    starting with a prefix in ``by_path`` follows that script instead (one per push subscription)."""

    script: list[Answer]
    received: list[Received] = field(default_factory=list)
    url: str = ""
    by_path: dict[str, list[Answer]] = field(default_factory=dict)

    def next_answer(self) -> Answer:
        path = self.received[-1].path
        for prefix, script in self.by_path.items():
            if path.startswith(prefix):
                count = sum(1 for r in self.received if r.path.startswith(prefix))
                return script[min(count - 1, len(script) - 1)]
        index = min(len(self.received) - 1, len(self.script) - 1)
        return self.script[index]

    def paths(self) -> list[str]:
        return [r.path for r in self.received]


@contextmanager
def fake_gateway(*script: Answer, by_path: dict[str, list[Answer]] | None = None) -> Iterator[FakeGateway]:
    gateway = FakeGateway(list(script) or [(201, None)], by_path=dict(by_path or {}))

    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            with lock:
                gateway.received.append(
                    Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                )
                status, body = gateway.next_answer()
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
