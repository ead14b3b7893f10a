"""Correlation ids across Kafka: bound from ``ce_correlationid`` on consume, stamped on publish."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from faststream import BaseMiddleware
from faststream.message import StreamMessage

from civicgrid_runtime.correlation import CORRELATION_KEY, current_correlation_id, new_correlation_id

CORRELATION_HEADER = "ce_correlationid"


class CorrelationMiddleware(BaseMiddleware):
    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        if isinstance(msg.raw_message, tuple):
            return await call_next(msg)  # a batch of subscribe_events: it binds each record's own
        headers = msg.headers or {}
        correlation_id = headers.get(CORRELATION_HEADER) or headers.get("correlation_id")
        # bind/reset by token: restores exactly what was bound before, without copying the context
        tokens = structlog.contextvars.bind_contextvars(
            **{CORRELATION_KEY: str(correlation_id) if correlation_id else new_correlation_id()},
            topic=getattr(msg.raw_message, "topic", None),
            offset=getattr(msg.raw_message, "offset", None),
        )
        try:
            return await call_next(msg)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:
        correlation_id = current_correlation_id()
        headers = getattr(cmd, "headers", None)
        if correlation_id and isinstance(headers, dict):
            headers.setdefault(CORRELATION_HEADER, correlation_id)
        return await call_next(cmd)
