"""Dead letters for bad records only; a store or broker that is down holds the partition instead.

Per record, the middleware tells three kinds of failure apart:

- **permanent** (``InvalidEvent``, ``PermanentFailure``, pydantic ``ValidationError``): retrying
  cannot help; the record goes to ``<topic>.dlq`` at once;
- **transient** (:func:`civicgrid_runtime.faults.is_transient`: a store or the broker is
  unavailable): the record is good and its effect must not be lost, so the handler is retried for
  ever with capped exponential backoff and jitter, holding the partition (nothing after it is read,
  nothing is skipped, nothing is dead-lettered). One log line when the stall begins, one when it
  ends; readiness answers 503 meanwhile (:mod:`civicgrid_runtime.kafka.stalls`). While it waits the
  consumer keeps polling with its partitions paused, so a stall longer than ``max_poll_interval_ms``
  does not make it leave its group;
- **anything else** (a bug, an unexpected error): bounded retries, then the dead-letter topic.

Dead-letter records keep the original key, value and headers and gain ``x-dlq-*`` headers, among
them ``x-dlq-consumer-group``: the group that rejected the record, which ``./civicgrid dlq
redrive`` replays it to (through that group's redrive topic, see :mod:`.redrive`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from pydantic import ValidationError

from civicgrid_contracts.catalogue import DEAD_LETTER_SUFFIX, dead_letter_topic, is_redrive_topic
from civicgrid_contracts.envelope import InvalidEvent
from civicgrid_runtime.errors import PermanentFailure
from civicgrid_runtime.faults import describe, is_transient
from civicgrid_runtime.kafka.stalls import ConsumerStalls, Stall
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.pii import redact_text

REASON_LIMIT = 2000
__all__ = [
    "CONSUMER_GROUP_HEADER",
    "DEAD_LETTER_SUFFIX",
    "DeadLetterMiddleware",
    "DeadLetterPolicy",
    "TransientBackoff",
    "dead_letter_topic",
]

NOT_RETRIED: tuple[type[BaseException], ...] = (InvalidEvent, PermanentFailure, ValidationError)
CONSUMER_GROUP_HEADER = "x-dlq-consumer-group"
ORIGINAL_TOPIC_HEADER = "x-dlq-original-topic"
ORIGINAL_PARTITION_HEADER = "x-dlq-original-partition"
ORIGINAL_OFFSET_HEADER = "x-dlq-original-offset"
REDRIVES_HEADER = "x-redrive-count"

log = get_logger(__name__)


class TransientBackoff:
    """Capped exponential backoff with jitter: ``initial`` doubling to ``cap`` seconds.

    Each wait is drawn from [d/2, d] for the current step d ("equal jitter"), so consumers stalled on
    the same outage do not retry in lock step.
    """

    def __init__(self, initial: float = 0.2, cap: float = 10.0, rng: random.Random | None = None) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError("need 0 < initial <= cap")
        self.initial = initial
        self.cap = cap
        self._rng = rng or random.Random()

    def delays(self) -> Any:
        step = self.initial
        while True:
            yield step / 2 + self._rng.uniform(0, step / 2)
            step = min(self.cap, step * 2)


class DeadLetterPolicy:
    """A broker middleware factory: FastStream calls it once per message."""

    def __init__(
        self,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        *,
        transient_backoff: TransientBackoff | None = None,
        stalls: ConsumerStalls | None = None,
        stop_check_seconds: float = 0.5,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.transient_backoff = transient_backoff or TransientBackoff()
        self.stalls = stalls or ConsumerStalls()
        self.stop_check_seconds = stop_check_seconds
        self._broker: KafkaBroker | None = None
        self.observers: list[Callable[[str, str], None]] = []
        """Called with the original topic and the exception's name of each record dead-lettered."""

    def bind(self, broker: KafkaBroker) -> None:
        self._broker = broker

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> DeadLetterMiddleware:
        return DeadLetterMiddleware(msg, context=context, policy=self)

    async def dead_letter(
        self,
        msg: StreamMessage[Any] | ConsumerRecord[Any, Any],
        error: BaseException,
        attempts: int,
        group_id: str | None = None,
    ) -> None:
        if self._broker is None:
            raise RuntimeError("DeadLetterPolicy is not bound to a broker")
        record = msg.raw_message if isinstance(msg, StreamMessage) else msg
        topic = str(getattr(record, "topic", "unknown"))
        headers = {
            key: redact_text(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
            for key, value in (getattr(record, "headers", None) or ())
        }
        original = {
            ORIGINAL_TOPIC_HEADER: topic,
            ORIGINAL_PARTITION_HEADER: str(getattr(record, "partition", "")),
            ORIGINAL_OFFSET_HEADER: str(getattr(record, "offset", "")),
        }
        if is_redrive_topic(topic) and headers.get(ORIGINAL_TOPIC_HEADER):
            # A redriven record that fails again goes back to the dead letters of its own topic,
            # still naming where it first came from.
            original = {key: headers.get(key, value) for key, value in original.items()}
        target = dead_letter_topic(original[ORIGINAL_TOPIC_HEADER])
        reason = redact_text(str(error) or type(error).__name__)[:REASON_LIMIT]
        headers.update(
            {
                "x-dlq-reason": reason,
                "x-dlq-exception": type(error).__name__,
                **original,
                "x-dlq-attempts": str(attempts),
                "x-dlq-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        if group_id:
            headers[CONSUMER_GROUP_HEADER] = group_id
        await self._broker.publish(
            masked_value(getattr(record, "value", None) or b""),
            target,
            key=getattr(record, "key", None),
            headers=headers,
        )
        for observe in self.observers:
            observe(original[ORIGINAL_TOPIC_HEADER], type(error).__name__)
        log.warning(
            "message dead-lettered",
            dlq_topic=target,
            consumer_group=group_id,
            reason=reason,
            exception=type(error).__name__,
            attempts=attempts,
        )

    async def handle(
        self,
        call: Callable[[], Awaitable[Any]],
        record: Any,
        *,
        consumer: Any,
        group_id: str | None,
        subscriber: Any = None,
    ) -> Any:
        """Run ``call`` (the handling of ``record``) under this policy: dead-letter permanent failures
        at once, hold the partition and retry for ever on transient ones, dead-letter other errors
        after bounded retries. Returns the handler's result (None when dead-lettered). What escapes
        (the consumer stopping during a stall, a dead letter that could not be published) leaves the
        record unfinished: the caller must not commit it and must read it again.

        The happy path costs one ``try``: the retry state is set up on the first failure only.
        """
        try:
            return await call()
        except NOT_RETRIED as error:
            await self.dead_letter(record, error, 1, group_id)
            return None
        except Exception as error:
            first = error
        return await self._retry(call, record, first, consumer, group_id, subscriber)

    async def _retry(
        self,
        call: Callable[[], Awaitable[Any]],
        record: Any,
        first: Exception,
        consumer: Any,
        group_id: str | None,
        subscriber: Any,
    ) -> Any:
        attempts = 0
        delays = self.transient_backoff.delays()
        stall: Stall | None = None
        stall_token = 0
        stopped = False
        error: Exception = first
        try:
            while True:
                if is_transient(error):
                    text = redact_text(describe(error))[:300]
                    if stall is None:
                        stall = _stall_of(record, group_id, text)
                        stall_token = self.stalls.stalled(stall)
                        log.warning(
                            "consumer stalled: a store or the broker is unavailable; "
                            "holding the partition and retrying",
                            **_where(stall),
                            error=text,
                        )
                    else:
                        stall.tries += 1
                        stall.error = text
                    if not await self._wait(next(delays), consumer, subscriber):
                        stopped = True
                        raise asyncio.CancelledError("the consumer is stopping") from None
                else:
                    attempts += 1
                    if attempts >= self.max_attempts:
                        await self.dead_letter(record, error, attempts, group_id)
                        return None
                    log.info("handler failed, retrying", attempt=attempts, error=redact_text(str(error)))
                    await asyncio.sleep(self.backoff_seconds * 2 ** (attempts - 1))
                try:
                    return await call()
                except NOT_RETRIED as permanent:
                    await self.dead_letter(record, permanent, attempts + 1, group_id)
                    return None
                except Exception as again:
                    error = again
        finally:
            if stall is not None:
                self.stalls.cleared(stall_token)
                log.warning(
                    "consumer stopped while stalled; the record is read again on restart"
                    if stopped
                    else "consumer recovered; the held record went on",
                    **_where(stall),
                    stalled_seconds=round(stall.seconds, 1),
                    tries=stall.tries,
                )

    async def _wait(self, seconds: float, consumer: Any, subscriber: Any) -> bool:
        """Sleep ``seconds`` (in short slices, so a stopping subscriber is noticed); keep the consumer
        in its group meanwhile. False when the subscriber is stopping."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, self.stop_check_seconds))
            if not getattr(subscriber, "running", True):
                return False
        if isinstance(consumer, AIOKafkaConsumer):
            with contextlib.suppress(Exception):  # best effort: a failing poll changes nothing here
                await keep_polling(consumer)
        return True


def _subscriber(context: ContextRepo) -> Any:
    return context.get_local("handler_")


def consumer_group_of(context: ContextRepo, msg: StreamMessage[Any]) -> str | None:
    """The consumer group of the subscriber handling ``msg`` (FastStream's ``handler_`` context)."""
    group = getattr(_subscriber(context), "group_id", None)
    if not group:
        group = getattr(getattr(msg, "consumer", None), "_group_id", None)
    return str(group) if group else None


_POLLING: weakref.WeakKeyDictionary[AIOKafkaConsumer, asyncio.Lock] = weakref.WeakKeyDictionary()


async def keep_polling(consumer: AIOKafkaConsumer) -> None:
    """Poll once with every assigned partition paused: no record is returned (nothing is skipped,
    the positions stay where they are), but the consumer counts as polling, so a long stall does
    not exceed ``max_poll_interval_ms`` and make it leave its group. Records handled concurrently
    may stall together: their polls take turns (one pauses and resumes at a time)."""
    lock = _POLLING.get(consumer)
    if lock is None:
        lock = _POLLING[consumer] = asyncio.Lock()
    async with lock:
        paused = consumer.assignment() - consumer.paused()
        consumer.pause(*paused)
        try:
            await consumer.getmany(timeout_ms=0)
        finally:
            consumer.resume(*(tp for tp in paused if tp in consumer.assignment()))


def _stall_of(record: Any, group_id: str | None, error: str) -> Stall:
    return Stall(
        group_id=group_id or "?",
        topic=str(getattr(record, "topic", "?")),
        partition=int(getattr(record, "partition", -1)),
        offset=int(getattr(record, "offset", -1)),
        error=error,
    )


def _where(stall: Stall) -> dict[str, object]:
    return {
        "consumer_group": stall.group_id,
        "topic": stall.topic,
        "partition": stall.partition,
        "offset": stall.offset,
    }


def masked_value(value: bytes) -> bytes:
    """A dead-letter copy with phones masked and ID-card numbers removed (the contracts' rule).

    Dead letters are read by operators and kept longer than the traffic they came from, so they never
    hold personal data in clear, even when the rejected record did (an inbound record refused for
    exactly that). Bytes that are not UTF-8 survive unchanged around the masked text. A redriven copy
    carries the masked values: no consumer of this project reads a phone or ID number in clear.
    """
    text = value.decode("utf-8", "surrogateescape")
    masked = redact_text(text)
    return value if masked == text else masked.encode("utf-8", "surrogateescape")


class DeadLetterMiddleware(BaseMiddleware):
    """The policy around per-record subscribers. Batch subscribers (``subscribe_events``) apply the
    policy to each record themselves, so a batch passes through untouched."""

    def __init__(self, msg: Any, /, *, context: ContextRepo, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        if isinstance(msg.raw_message, tuple):
            return await call_next(msg)
        return await self.policy.handle(
            lambda: call_next(msg),
            msg.raw_message,
            consumer=getattr(msg, "consumer", None),
            group_id=consumer_group_of(self.context, msg),
            subscriber=_subscriber(self.context),
        )
