"""Correlation ids across Kafka: bound from ``ce_correlationid`` on consume, stamped on publish."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from faststream import BaseMiddleware
from faststream.message import StreamMessage

from civicgrid_runtime.correlation import bind_correlation_id, current_correlation_id

CORRELATION_HEADER = "ce_correlationid"


class CorrelationMiddleware(BaseMiddleware):
    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        headers = msg.headers or {}
        correlation_id = headers.get(CORRELATION_HEADER) or headers.get("correlation_id")
        with structlog.contextvars.bound_contextvars():
            bind_correlation_id(str(correlation_id) if correlation_id else None)
            structlog.contextvars.bind_contextvars(
                topic=getattr(msg.raw_message, "topic", None),
                offset=getattr(msg.raw_message, "offset", None),
            )
            return await call_next(msg)

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:
        correlation_id = current_correlation_id()
        headers = getattr(cmd, "headers", None)
        if correlation_id and isinstance(headers, dict):
            headers.setdefault(CORRELATION_HEADER, correlation_id)
        return await call_next(cmd)
