"""Dead letters: bounded retries, then ``<topic>.dlq`` with the reason in headers; the consumer carries on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from pydantic import ValidationError

from civicgrid_contracts.catalogue import DEAD_LETTER_SUFFIX, dead_letter_topic
from civicgrid_contracts.envelope import InvalidEvent
from civicgrid_runtime.errors import PermanentFailure
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.pii import redact_text

REASON_LIMIT = 2000
__all__ = ["DEAD_LETTER_SUFFIX", "DeadLetterMiddleware", "DeadLetterPolicy", "dead_letter_topic"]

NOT_RETRIED: tuple[type[BaseException], ...] = (InvalidEvent, PermanentFailure, ValidationError)

log = get_logger(__name__)


class DeadLetterPolicy:
    """A broker middleware factory: FastStream calls it once per message."""

    def __init__(self, max_attempts: int = 3, backoff_seconds: float = 0.2) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._broker: KafkaBroker | None = None

    def bind(self, broker: KafkaBroker) -> None:
        self._broker = broker

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> DeadLetterMiddleware:
        return DeadLetterMiddleware(msg, context=context, policy=self)

    async def dead_letter(self, msg: StreamMessage[Any], error: BaseException, attempts: int) -> None:
        if self._broker is None:
            raise RuntimeError("DeadLetterPolicy is not bound to a broker")
        record = msg.raw_message
        topic = str(getattr(record, "topic", "unknown"))
        headers = {
            key: value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            for key, value in (getattr(record, "headers", None) or ())
        }
        reason = redact_text(str(error) or type(error).__name__)[:REASON_LIMIT]
        headers.update(
            {
                "x-dlq-reason": reason,
                "x-dlq-exception": type(error).__name__,
                "x-dlq-original-topic": topic,
                "x-dlq-original-partition": str(getattr(record, "partition", "")),
                "x-dlq-original-offset": str(getattr(record, "offset", "")),
                "x-dlq-attempts": str(attempts),
                "x-dlq-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        await self._broker.publish(
            getattr(record, "value", None) or b"",
            dead_letter_topic(topic),
            key=getattr(record, "key", None),
            headers=headers,
        )
        log.warning(
            "message dead-lettered",
            dlq_topic=dead_letter_topic(topic),
            reason=reason,
            exception=type(error).__name__,
            attempts=attempts,
        )


class DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: ContextRepo, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        attempts = 0
        while True:
            attempts += 1
            try:
                return await call_next(msg)
            except NOT_RETRIED as error:
                await self.policy.dead_letter(msg, error, attempts)
                return None
            except Exception as error:
                if attempts >= self.policy.max_attempts:
                    await self.policy.dead_letter(msg, error, attempts)
                    return None
                log.info("handler failed, retrying", attempt=attempts, error=redact_text(str(error)))
                await asyncio.sleep(self.policy.backoff_seconds * 2 ** (attempts - 1))
