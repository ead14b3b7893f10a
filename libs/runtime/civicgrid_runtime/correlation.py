"""The correlation id of the work in progress, carried across HTTP requests and Kafka messages."""

from __future__ import annotations

import uuid

import structlog

CORRELATION_KEY = "correlation_id"


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def bind_correlation_id(correlation_id: str | None) -> str:
    """Bind (or create) the correlation id for everything logged in this context."""
    value = correlation_id or new_correlation_id()
    structlog.contextvars.bind_contextvars(**{CORRELATION_KEY: value})
    return value


def current_correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get(CORRELATION_KEY)
    return str(value) if value is not None else None
