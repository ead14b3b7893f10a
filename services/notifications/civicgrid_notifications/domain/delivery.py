"""Delivery of one notification on one channel, to each of the member's addresses on it (every push
subscription, the SMS number, the WeChat openid): status, retries with backoff and jitter, final failure."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    """Accepted by the gateway (push service, SMS or WeChat gateway)."""
    DELIVERED = "delivered"
    """The gateway confirmed it reached the phone."""
    FAILED = "failed"
    """Failed for good: the last error and the attempts are kept."""
    PARTIAL = "partial"
    """Of a channel with several addresses: some got it, the others failed for good."""


FINAL = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED})

PRIMARY = "primary"
"""The target key of a channel with one address per member (SMS number, WeChat openid)."""


@dataclass(frozen=True)
class TargetState:
    """The delivery to one address (one push subscription, the SMS number...)."""

    status: DeliveryStatus
    attempts: int = 0
    due: datetime | None = None
    last_error: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL


def channel_status(targets: Mapping[str, TargetState]) -> DeliveryStatus:
    """A channel's status from its addresses': queued while any is retried; delivered only if every
    address confirmed; failed if every one failed; partial if some failed and others got it."""
    statuses = {t.status for t in targets.values()}
    if not statuses or statuses == {DeliveryStatus.FAILED}:
        return DeliveryStatus.FAILED
    if DeliveryStatus.QUEUED in statuses:
        return DeliveryStatus.QUEUED
    if DeliveryStatus.FAILED in statuses:
        return DeliveryStatus.PARTIAL
    if DeliveryStatus.SENT in statuses:
        return DeliveryStatus.SENT
    return DeliveryStatus.DELIVERED


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
