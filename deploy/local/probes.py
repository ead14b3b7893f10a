"""Readiness probes speaking just enough of each wire protocol (stdlib sockets only)."""

from __future__ import annotations

import socket
import struct
from typing import Any

DEFAULT_TIMEOUT = 2.0


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(chunks)} of {n} bytes")
        chunks += chunk
    return bytes(chunks)


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with _connect(host, port, timeout):
            return True
    except OSError:
        return False


# --- Kafka -------------------------------------------------------------------------------

_METADATA_KEY = 3
_METADATA_VERSION = 4  # Kafka 4 removed Metadata v0-v3; v4 is the oldest non-flexible one left


def kafka_metadata_request(correlation_id: int, client_id: str = "civicgrid-probe") -> bytes:
    """A framed Metadata v4 request for all topics, request header v1."""
    cid = client_id.encode()
    header = struct.pack(">hhih", _METADATA_KEY, _METADATA_VERSION, correlation_id, len(cid)) + cid
    body = struct.pack(">ib", -1, 0)  # topics = null (all), allow_auto_topic_creation = false
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def parse_kafka_metadata_brokers(payload: bytes, correlation_id: int) -> list[tuple[int, str, int]]:
    """(node_id, host, port) of each broker in a Metadata v4 response (without its length prefix)."""
    got_id, _throttle, count = struct.unpack_from(">iii", payload, 0)
    if got_id != correlation_id:
        raise ValueError(f"correlation id {got_id} != {correlation_id}")
    offset = 12
    brokers: list[tuple[int, str, int]] = []
    for _ in range(count):
        (node_id, host_len) = struct.unpack_from(">ih", payload, offset)
        offset += 6
        host = payload[offset : offset + host_len].decode()
        offset += host_len
        (port, rack_len) = struct.unpack_from(">ih", payload, offset)
        offset += 6 + max(rack_len, 0)
        brokers.append((node_id, host, port))
    return brokers


def kafka_brokers(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> list[tuple[int, str, int]]:
    """Ask a Kafka broker for cluster metadata; the list of live brokers it reports."""
    with _connect(host, port, timeout) as sock:
        sock.sendall(kafka_metadata_request(correlation_id=7))
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        return parse_kafka_metadata_brokers(_recv_exact(sock, size), correlation_id=7)


def kafka_ready(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """The broker answers Metadata and reports at least one registered broker."""
    return len(kafka_brokers(host, port, timeout)) > 0


# --- Neo4j (Bolt) --------------------------------------------------------------------------

BOLT_PREAMBLE = b"\x60\x60\xb0\x17"
# Proposals, most preferred first: 5.0-5.4 (range 4 below 5.4), 4.4, none, none.
BOLT_PROPOSALS = bytes([0, 4, 4, 5, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0])


def bolt_handshake(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, int]:
    """Negotiate a Bolt version; (major, minor), (0, 0) if the server accepts none."""
    with _connect(host, port, timeout) as sock:
        sock.sendall(BOLT_PREAMBLE + BOLT_PROPOSALS)
        reply = _recv_exact(sock, 4)
    return reply[3], reply[2]


# Bolt 5.0 or 4.4 only for queries: both take the credentials in HELLO (5.1+ want a LOGON message).
BOLT_QUERY_PROPOSALS = bytes([0, 0, 0, 5, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0])
_HELLO, _RUN, _BEGIN, _ROLLBACK, _PULL = 0x01, 0x10, 0x11, 0x13, 0x3F
_SUCCESS, _RECORD, _IGNORED, _FAILURE = 0x70, 0x71, 0x7E, 0x7F
# A restarted Neo4j passes the handshake seconds before it answers queries (it compiles each query
# afresh, its JIT is cold), and writes sent then waited with no answer: "ready" means it answered a read
# and a write (the write in a transaction rolled back: the probe leaves nothing in the graph).
READY_READ = "RETURN 1 AS ready"
READY_WRITE = "CREATE (p:DeployLocalProbe {at: timestamp()}) RETURN p.at AS at"
QUERY_TIMEOUT = 10.0


def _pack(value: object) -> bytes:
    """PackStream for what a probe sends: str, small int, dict of those (and nested dicts)."""
    if isinstance(value, bool):
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        if -16 <= value < 128:
            return struct.pack(">b", value)
        return b"\xca" + struct.pack(">i", value)
    if isinstance(value, str):
        data = value.encode()
        if len(data) < 16:
            return bytes([0x80 + len(data)]) + data
        if len(data) < 256:
            return b"\xd0" + bytes([len(data)]) + data
        return b"\xd1" + struct.pack(">H", len(data)) + data
    if isinstance(value, dict):
        if len(value) >= 16:
            raise ValueError("a probe sends maps of fewer than 16 entries")
        return bytes([0xA0 + len(value)]) + b"".join(_pack(k) + _pack(v) for k, v in value.items())
    raise TypeError(f"cannot pack {value!r}")


def bolt_message(signature: int, *fields: object) -> bytes:
    """One Bolt message (a PackStream structure) in a single chunk, with the end marker."""
    body = bytes([0xB0 + len(fields), signature]) + b"".join(_pack(f) for f in fields)
    return struct.pack(">H", len(body)) + body + b"\x00\x00"


def _bolt_reply(sock: socket.socket) -> int:
    """The signature of the next message from the server (its chunks read and joined)."""
    data = bytearray()
    while True:
        (size,) = struct.unpack(">H", _recv_exact(sock, 2))
        if size == 0:
            if data:
                return data[1]
            continue  # a NOOP chunk (keep-alive)
        data += _recv_exact(sock, size)


def _run(sock: socket.socket, query: str) -> bool:
    """RUN ``query`` and PULL all its records; whether both succeeded."""
    sock.sendall(bolt_message(_RUN, query, {}, {}) + bolt_message(_PULL, {"n": -1}))
    if _bolt_reply(sock) != _SUCCESS:  # RUN
        return False
    while (reply := _bolt_reply(sock)) == _RECORD:
        pass
    return reply == _SUCCESS  # PULL


def bolt_queries(
    host: str, port: int, read: str = READY_READ, write: str = READY_WRITE, timeout: float = QUERY_TIMEOUT
) -> bool:
    """Open a Bolt session (authentication off), run ``read`` (auto-commit) and ``write`` in a
    transaction rolled back; True if both succeeded within ``timeout`` (connecting: ``DEFAULT_TIMEOUT``)."""
    with _connect(host, port, DEFAULT_TIMEOUT) as sock:
        sock.sendall(BOLT_PREAMBLE + BOLT_QUERY_PROPOSALS)
        if _recv_exact(sock, 4)[2:] == b"\x00\x00":
            return False
        sock.settimeout(timeout)
        sock.sendall(bolt_message(_HELLO, {"user_agent": "civicgrid-deploy-local/1", "scheme": "none"}))
        if _bolt_reply(sock) != _SUCCESS:
            return False
        if not _run(sock, read):
            return False
        sock.sendall(bolt_message(_BEGIN, {}))
        if _bolt_reply(sock) != _SUCCESS or not _run(sock, write):
            return False
        sock.sendall(bolt_message(_ROLLBACK))
        return _bolt_reply(sock) == _SUCCESS


def neo4j_ready(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """The handshake succeeds, and a read and a write answer (see READY_READ, READY_WRITE)."""
    return bolt_handshake(host, port, timeout) != (0, 0) and bolt_queries(host, port)


# --- MongoDB wire protocol (FerretDB) ------------------------------------------------------

OP_MSG = 2013


def _cstring(value: str) -> bytes:
    return value.encode() + b"\0"


def bson_encode(doc: dict[str, int | str]) -> bytes:
    """BSON for a flat document of int32 and string values (enough for a command)."""
    body = bytearray()
    for key, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"unsupported BSON value for {key!r}: {value!r}")
        if isinstance(value, int):
            body += b"\x10" + _cstring(key) + struct.pack("<i", value)
        else:
            encoded = value.encode() + b"\0"
            body += b"\x02" + _cstring(key) + struct.pack("<i", len(encoded)) + encoded
    return struct.pack("<i", len(body) + 5) + bytes(body) + b"\0"


_FIXED_SIZES = {1: 8, 7: 12, 8: 1, 9: 8, 10: 0, 16: 4, 17: 8, 18: 8, 19: 16, 127: 0, 255: 0}


def bson_decode_top_level(data: bytes) -> dict[str, Any]:
    """Top-level scalar fields of a BSON document; nested documents and binaries are skipped."""
    (length,) = struct.unpack_from("<i", data, 0)
    offset, end = 4, length - 1
    out: dict[str, Any] = {}
    while offset < end:
        kind = data[offset]
        name_end = data.index(b"\0", offset + 1)
        name = data[offset + 1 : name_end].decode()
        offset = name_end + 1
        if kind == 1:
            out[name] = struct.unpack_from("<d", data, offset)[0]
        elif kind == 2:
            (slen,) = struct.unpack_from("<i", data, offset)
            out[name] = data[offset + 4 : offset + 4 + slen - 1].decode()
            offset += 4 + slen
            continue
        elif kind == 8:
            out[name] = data[offset] == 1
        elif kind == 16:
            out[name] = struct.unpack_from("<i", data, offset)[0]
        elif kind == 18:
            out[name] = struct.unpack_from("<q", data, offset)[0]
        if kind in (3, 4):  # document, array: skip
            offset += struct.unpack_from("<i", data, offset)[0]
        elif kind == 5:  # binary: int32 length, subtype, bytes
            offset += 5 + struct.unpack_from("<i", data, offset)[0]
        elif kind in (2, 13, 14):  # string-like (JS code, symbol)
            offset += 4 + struct.unpack_from("<i", data, offset)[0]
        elif kind == 11:  # regex: two cstrings
            offset = data.index(b"\0", data.index(b"\0", offset) + 1) + 1
        elif kind in _FIXED_SIZES:
            offset += _FIXED_SIZES[kind]
        else:
            raise ValueError(f"unsupported BSON element type {kind:#x} for {name!r}")
    return out


def mongo_op_msg(command: dict[str, int | str], request_id: int) -> bytes:
    """An OP_MSG with one body section (kind 0) and no flags."""
    body = struct.pack("<I", 0) + b"\0" + bson_encode(command)
    return struct.pack("<iiii", 16 + len(body), request_id, 0, OP_MSG) + body


def parse_op_msg_reply(message: bytes, request_id: int) -> dict[str, Any]:
    """The body document of an OP_MSG reply (full message including its 16-byte header)."""
    _length, _rid, response_to, opcode = struct.unpack_from("<iiii", message, 0)
    if opcode != OP_MSG:
        raise ValueError(f"expected OP_MSG reply, got opcode {opcode}")
    if response_to != request_id:
        raise ValueError(f"reply to {response_to}, expected {request_id}")
    if message[20] != 0:
        raise ValueError(f"expected a body section first, got kind {message[20]}")
    return bson_decode_top_level(message[21:])


def mongo_command(
    host: str, port: int, command: dict[str, int | str], timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    with _connect(host, port, timeout) as sock:
        sock.sendall(mongo_op_msg(command, request_id=1))
        header = _recv_exact(sock, 16)
        (length,) = struct.unpack_from("<i", header, 0)
        return parse_op_msg_reply(header + _recv_exact(sock, length - 16), request_id=1)


def mongo_ready(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """``hello`` on ``admin`` answers ok: 1."""
    reply = mongo_command(host, port, {"hello": 1, "$db": "admin"}, timeout)
    return float(reply.get("ok", 0)) == 1.0
