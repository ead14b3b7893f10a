"""An unreachable broker costs one log line when it starts failing and one when the errors stop."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from civicgrid_runtime.logging import configure_logging

pytestmark = pytest.mark.integration


def _refusing_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"  # closed again: connections are refused


async def test_repeated_reconnect_errors_become_two_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("tests", "INFO")
    (handler,) = logging.getLogger().handlers
    (outage,) = handler.filters
    outage.quiet_seconds = 1.0  # type: ignore[union-attr]
    address = _refusing_address()
    for _ in range(30):
        producer = AIOKafkaProducer(bootstrap_servers=address, request_timeout_ms=200)
        with pytest.raises(KafkaConnectionError):
            await producer.start()
        await producer.stop()
    await asyncio.sleep(2.5)  # quiet long enough: the errors stopped
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    kafka_lines = [line for line in lines if "Kafka" in line["event"] or "Unable" in line["event"]]
    print("\n".join(line["event"] for line in kafka_lines))
    assert len(kafka_lines) == 2, "one line when it went down, one when the errors stopped"
    assert kafka_lines[0]["event"].startswith(f'Kafka unreachable: Unable connect to "{address}"')
    assert kafka_lines[1]["event"].startswith("Kafka answers again")
    assert "29 repeated error lines suppressed" in kafka_lines[1]["event"]
