"""The delivery worker with fakes: digest grouping, retries, permanent failures."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from civicgrid_notifications.domain.delivery import DeliveryStatus
from civicgrid_notifications.service_layer.delivery import (
    DeliveryError,
    DeliveryWorker,
    DueDelivery,
    Outbound,
)


def due(entry: str, digest: bool = False, attempts: int = 0) -> DueDelivery:
    return DueDelivery(
        entry, "p1", "420106002003", "sms", attempts, digest, "team", "low", f"标题{entry}", "正文", None
    )


class FakeStore:
    def __init__(self, items: list[DueDelivery]) -> None:
        self.items = items
        self.records: list[tuple[str, DeliveryStatus, int, datetime | None, str | None]] = []

    async def claim_due(self, channel: str, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
        taken, self.items = self.items, []
        return taken

    async def record(
        self,
        due: DueDelivery,
        status: DeliveryStatus,
        *,
        attempts: int,
        next_at: datetime | None,
        error: str | None,
    ) -> None:
        self.records.append((due.entry_id, status, attempts, next_at, error))


class FakeChannel:
    name = "sms"

    def __init__(self, error: DeliveryError | None = None) -> None:
        self.sent: list[Outbound] = []
        self.error = error

    async def send(self, outbound: Outbound, address: Mapping[str, Any]) -> DeliveryStatus:
        self.sent.append(outbound)
        if self.error:
            raise self.error
        return DeliveryStatus.SENT


class Addresses:
    async def address(self, member_id: str) -> dict[str, Any]:
        return {"sms": "13800000000"}


NOW = datetime(2025, 7, 1, 12, tzinfo=UTC)


def worker(store: FakeStore, channel: FakeChannel) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        Addresses(),
        {"sms": channel},
        backoff_base=1,
        backoff_cap=8,
        clock=lambda: NOW,
        rng=random.Random(1),
    )


async def test_digest_entries_of_a_member_go_out_as_one_message_and_each_is_recorded() -> None:
    store, channel = FakeStore([due("a", digest=True), due("b", digest=True), due("c")]), FakeChannel()
    assert await worker(store, channel).run_once() == 3
    assert [o.entry_ids for o in channel.sent] == [("c",), ("a", "b")]
    assert channel.sent[1].title == "您有2条新通知"
    assert [(r[0], r[1]) for r in store.records] == [("c", "sent"), ("a", "sent"), ("b", "sent")]


async def test_a_transient_error_requeues_with_a_later_time_and_a_permanent_one_fails_at_once() -> None:
    store, channel = FakeStore([due("a", attempts=1)]), FakeChannel(DeliveryError("HTTP 503"))
    await worker(store, channel).run_once()
    [(entry, status, attempts, next_at, error)] = store.records
    assert (entry, status, attempts, error) == ("a", DeliveryStatus.QUEUED, 2, "HTTP 503")
    assert next_at is not None
    assert NOW + timedelta(seconds=1) <= next_at <= NOW + timedelta(seconds=2)

    store, channel = FakeStore([due("b")]), FakeChannel(DeliveryError("no number", permanent=True))
    await worker(store, channel).run_once()
    assert store.records == [("b", DeliveryStatus.FAILED, 1, None, "no number")]
