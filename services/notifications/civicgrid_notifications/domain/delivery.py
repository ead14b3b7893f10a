"""Delivery of one feed entry on one channel: status, retries with backoff and jitter, final failure."""

from __future__ import annotations

import random
from enum import StrEnum


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    """Accepted by the gateway (push service, SMS or WeChat gateway)."""
    DELIVERED = "delivered"
    """The gateway confirmed it reached the phone."""
    FAILED = "failed"
    """Failed for good: the last error and the attempts are kept."""


FINAL = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED})


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: a random delay in [base, min(cap, base * 2**attempt)]."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return (rng or random).uniform(min(base, ceiling), ceiling)


def after_failure(attempts: int, max_attempts: int, permanent: bool) -> DeliveryStatus:
    """Retry (queued) unless the error is permanent or the attempts are used up (failed)."""
    if permanent or attempts >= max_attempts:
        return DeliveryStatus.FAILED
    return DeliveryStatus.QUEUED
