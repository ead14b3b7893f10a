"""structlog configured once per process: JSON lines for structlog and stdlib records alike.

Every line passes through personal-data redaction (phones masked, ID-card numbers removed): the
message, every bound value, and the rendered traceback of an exception, which is redacted after it
is formatted (an exception's text often quotes the input that caused it).

Kafka outages are logged once per state change: aiokafka logs every failed reconnect (over a
hundred lines a second per process); :class:`KafkaOutageFilter` keeps the first, suppresses the
rest, and logs one line when the errors stop, with how long it lasted and how many were suppressed.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import structlog

from civicgrid_runtime.pii import redact


def _redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return {key: redact(value) for key, value in event_dict.items()}


def _stamp_service(service: str) -> structlog.types.Processor:
    def stamp(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return stamp


# What aiokafka (and FastStream's consume loop) say while the broker cannot be reached.
_OUTAGE_MARKERS = (
    "Unable connect",
    "Unable to connect",
    "Connect call failed",
    "Unable to update metadata",
    "Unable to request metadata",
    "Failed fetch messages",
    "NodeNotReadyError",
    "KafkaConnectionError",
    "KafkaTimeoutError",
    "RequestTimedOutError",
    "Connection at",
    "GroupCoordinatorNotAvailable",
    "Group Coordinator Request failed",
    "coordinator dead",
    "Heartbeat send request failed",
    "Kafka error occurred",
)
FASTSTREAM_LOGGER = "civicgrid.faststream"
"""FastStream's broker logger (see ``kafka/broker.py``): propagates to the root handler, unlike
FastStream's own, so its lines are JSON and redacted too."""
_KAFKA_LOGGERS = ("aiokafka", "faststream", FASTSTREAM_LOGGER)
OUTAGE_LOGGER = "civicgrid_runtime.kafka.outage"

Schedule = Callable[[float, Callable[[], None]], None]


def _timer(delay: float, callback: Callable[[], None]) -> None:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()


class KafkaOutageFilter(logging.Filter):
    """A handler filter: one line when Kafka becomes unreachable, none while it stays so, one when
    the connection errors stop (``quiet_seconds`` without any), naming the duration and how many
    lines were suppressed. Other records pass untouched."""

    def __init__(
        self,
        quiet_seconds: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = _timer,
    ) -> None:
        super().__init__()
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self._schedule = schedule
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._down_at: datetime | None = None
        self._last_error = 0.0
        self.suppressed = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(_KAFKA_LOGGERS):
            return True
        if not _is_outage(record):
            return True
        with self._lock:
            now = self._clock()
            self._last_error = now
            if self._down_since is not None:
                self.suppressed += 1
                return False
            self._down_since, self._down_at, self.suppressed = now, datetime.now(UTC), 0
        text = record.getMessage()
        record.msg = "Kafka unreachable: %s; repeats suppressed until it answers again"
        record.args = (text,)
        record.exc_info = None  # the first error's text says enough; its traceback is aiokafka's
        record.exc_text = None
        self._schedule(self.quiet_seconds, self._check)
        return True

    def _check(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            quiet_for = self._clock() - self._last_error
            if quiet_for < self.quiet_seconds:
                again_in = self.quiet_seconds - quiet_for
                down = None
            else:
                down = (self._down_since, self._down_at, self._last_error, self.suppressed)
                self._down_since = self._down_at = None
        if down is None:
            self._schedule(again_in, self._check)
            return
        since, at, last, suppressed = down
        logging.getLogger(OUTAGE_LOGGER).warning(
            "Kafka answers again: no connection error for %.0f s, after %.1f s of errors (since %s); "
            "%d repeated error lines suppressed",
            self.quiet_seconds,
            last - since,
            at.isoformat(timespec="seconds") if at else "?",
            suppressed,
        )


def _is_outage(record: logging.LogRecord) -> bool:
    try:
        text = record.getMessage()
    except Exception:
        text = str(record.msg)
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text += f" {type(error).__name__} {error}"
    return any(marker in text for marker in _OUTAGE_MARKERS)


def _add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """``trace_id`` and ``span_id`` of the span current when the line was logged, as the logging
    instrumentation stamped them on the record (``otelTraceID``/``otelSpanID``; "0" outside a span)."""
    record = event_dict.get("_record")
    trace_id = getattr(record, "otelTraceID", "0")
    if trace_id != "0":
        event_dict.setdefault("trace_id", trace_id)
        event_dict.setdefault("span_id", getattr(record, "otelSpanID", "0"))
    return event_dict


def configure_logging(
    service: str, level: str = "INFO", json_output: bool = True, *, trace_ids: bool = False
) -> None:
    """Route structlog and stdlib logging through one formatter with shared processors.

    ``trace_ids`` (tracing on, :mod:`civicgrid_runtime.tracing`): every line logged within a span
    carries its ``trace_id`` and ``span_id`` (W3C hex), so logs and traces are found from each other."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.CallsiteParameterAdder({structlog.processors.CallsiteParameter.MODULE}),
        _redact_personal_data,
        _stamp_service(service),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            *([_add_trace_ids] if trace_ids else []),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_personal_data,  # again: the traceback rendered just above
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(KafkaOutageFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for noisy in ("aiokafka", "neo4j", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
