"""Log lines never hold personal data, tracebacks included; Kafka outages are logged per state change."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from civicgrid_runtime.logging import KafkaOutageFilter, configure_logging, get_logger

PHONE, ID_NUMBER = "13812345678", "42010619900101123X"


def _raise_with_canaries() -> None:
    raise ValueError(f"name 张三 {PHONE} holds an ID number {ID_NUMBER}")


def test_a_traceback_logged_through_structlog_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("tests", "INFO")
    try:
        _raise_with_canaries()
    except ValueError:
        get_logger("tests.logging").exception("import failed")
    out = capsys.readouterr().out
    assert "_raise_with_canaries" in out, "the traceback is there"
    assert "138****5678" in out
    assert PHONE not in out
    assert ID_NUMBER not in out


def test_a_traceback_logged_by_a_library_through_stdlib_logging_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("tests", "INFO")
    try:
        _raise_with_canaries()
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    out = capsys.readouterr().out
    assert "Traceback" in out
    assert PHONE not in out
    assert ID_NUMBER not in out


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Timers:
    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.pending.append((delay, callback))

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        for _, callback in pending:
            callback()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _is_down(outage: KafkaOutageFilter) -> bool:
    return outage.down


def _record(name: str, message: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def _connect_error() -> logging.LogRecord:
    return _record("aiokafka", "Unable connect to node with id %s: %s", 1, "[Errno 111] Connect call failed")


def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends() -> None:
    clock, timers = _Clock(), _Timers()
    outage = KafkaOutageFilter(quiet_seconds=5, clock=clock, schedule=timers)
    first = _connect_error()
    assert outage.filter(first)
    assert first.getMessage().startswith("Kafka unreachable: Unable connect to node with id 1")
    passed = 0
    for i in range(2000):
        clock.now = i * 0.01
        record = _connect_error() if i % 2 else _record("aiokafka", "Unable to update metadata from %s", [1])
        passed += outage.filter(record)
    assert passed == 0, "every repeat while down is suppressed"
    assert _is_down(outage)

    clock.now = 19.99 + 2  # errors stopped 2 s ago: not quiet long enough yet
    timers.fire()
    assert _is_down(outage)
    assert timers.pending, "checks again later"

    handler = _Collect()
    back = handler.records
    logging.getLogger("civicgrid_runtime.kafka.outage").addHandler(handler)
    try:
        clock.now = 19.99 + 6
        timers.fire()
    finally:
        logging.getLogger("civicgrid_runtime.kafka.outage").removeHandler(handler)
    assert not _is_down(outage)
    assert len(back) == 1
    assert "Kafka answers again" in back[0].getMessage()
    assert "2000 repeated error lines suppressed" in back[0].getMessage()


def test_other_records_pass_the_outage_filter_untouched() -> None:
    outage = KafkaOutageFilter(schedule=lambda _delay, _callback: None)
    assert outage.filter(_connect_error())
    assert outage.filter(_record("civicgrid_resources.service", "Unable connect to the SMS gateway"))
    assert outage.filter(_record("aiokafka.consumer", "Heartbeat failed: rebalance in progress"))
    assert outage.filter(_record("aiokafka", "Unable connect to node", level=logging.DEBUG))
    assert not outage.filter(_connect_error())


def test_a_dead_letter_copy_masks_phones_and_removes_id_numbers_but_keeps_everything_else() -> None:
    from civicgrid_runtime.kafka.dlq import masked_value

    original = '{"summary": "来电13912345678，证件420106199001011234", "n": 1}'.encode()
    copy = masked_value(original).decode()
    assert "13912345678" not in copy
    assert "420106199001011234" not in copy
    assert copy.startswith('{"summary": "来电139')
    assert copy.endswith('", "n": 1}')


def test_a_dead_letter_copy_of_bytes_that_are_not_text_is_unchanged_apart_from_the_personal_data() -> None:
    from civicgrid_runtime.kafka.dlq import masked_value

    assert masked_value(b"\xff\x00plain") == b"\xff\x00plain"
    assert b"13912345678" not in masked_value(b"\xff13912345678")
