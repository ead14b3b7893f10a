"""deploy.local's Neo4j probe: ready means a read and a write were answered, not just a Bolt handshake."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from deploy.local import probes

SUCCESS = probes.bolt_message(0x70, {})
FAILURE = probes.bolt_message(0x7F, {"code": "Neo.TransientError.General.DatabaseUnavailable"})
RECORD = probes.bolt_message(0x71)


def _messages(conn: socket.socket) -> Iterator[int]:
    """Signatures of the client's messages, one by one."""
    while True:
        data = b""
        while True:
            (size,) = struct.unpack(">H", conn.recv(2, socket.MSG_WAITALL))
            if size == 0:
                break
            data += conn.recv(size, socket.MSG_WAITALL)
        yield data[1]


@pytest.fixture
def bolt_server() -> Iterator[tuple[int, list[int], dict[int, bytes]]]:
    """A fake Neo4j that agrees Bolt 5.0 and answers SUCCESS to each message unless told otherwise:
    (port, signatures received, {signature: reply})."""
    received: list[int] = []
    replies: dict[int, bytes] = {}
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(20, socket.MSG_WAITALL)
            conn.sendall(bytes([0, 0, 0, 5]))
            try:
                for signature in _messages(conn):
                    received.append(signature)
                    conn.sendall(replies.get(signature, SUCCESS))
            except (struct.error, OSError):
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], received, replies
    thread.join(timeout=5)
    listener.close()


def test_a_neo4j_that_answers_a_read_and_a_rolled_back_write_is_ready(
    bolt_server: tuple[int, list[int], dict[int, bytes]],
) -> None:
    port, received, replies = bolt_server
    replies[0x3F] = RECORD + SUCCESS  # PULL: one record, then its summary
    assert probes.bolt_queries("127.0.0.1", port)
    # HELLO, RUN+PULL (read), BEGIN, RUN+PULL (write), ROLLBACK: nothing is committed
    assert received == [0x01, 0x10, 0x3F, 0x11, 0x10, 0x3F, 0x13]


def test_a_neo4j_that_accepts_the_handshake_but_fails_the_query_is_not_ready(
    bolt_server: tuple[int, list[int], dict[int, bytes]],
) -> None:
    port, _, replies = bolt_server
    replies[0x10] = FAILURE  # e.g. the database is still starting
    assert not probes.bolt_queries("127.0.0.1", port)


def test_bolt_messages_are_packstream_structures_in_one_chunk() -> None:
    message = probes.bolt_message(0x10, "RETURN 1", {}, {})
    assert message == b"\x00\x0d" + b"\xb3\x10" + b"\x88RETURN 1" + b"\xa0\xa0" + b"\x00\x00"
