"""The delivery worker with fakes: digest grouping, retries, permanent failures, one state per address."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from civicgrid_notifications.domain.delivery import (
    PRIMARY,
    DeliveryStatus,
    TargetState,
    channel_status,
)
from civicgrid_notifications.service_layer.delivery import (
    NO_ADDRESS,
    REMOVED,
    DeliveryError,
    DeliveryOutcome,
    DeliveryWorker,
    DueDelivery,
    Outbound,
)

NOW = datetime(2025, 7, 1, 12, tzinfo=UTC)


def due(entry: str, digest: bool = False, attempts: int = 0, **targets: TargetState) -> DueDelivery:
    return DueDelivery(
        entry,
        "p1",
        "420106002003",
        "sms",
        attempts,
        digest,
        "team",
        "low",
        f"标题{entry}",
        "正文",
        None,
        targets=targets,
    )


class FakeStore:
    def __init__(self, items: list[DueDelivery]) -> None:
        self.items = items
        self.records: list[tuple[str, DeliveryOutcome]] = []

    async def claim_due(self, channel: str, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
        taken, self.items = self.items, []
        return taken

    async def record(self, due: DueDelivery, outcome: DeliveryOutcome) -> None:
        self.records.append((due.entry_id, outcome))


class FakeChannel:
    """Addresses ``a``, ``b``... each answering with its own scripted error (None: accepted)."""

    name = "sms"

    def __init__(self, errors: Mapping[str, DeliveryError | None] | None = None) -> None:
        self.sent: list[tuple[str, Outbound]] = []
        self.errors = dict(errors) if errors is not None else {PRIMARY: None}

    def targets(self, addresses: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        return {key: {"key": key} for key in self.errors}

    async def send(self, outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus:
        self.sent.append((str(target["key"]), outbound))
        error = self.errors[str(target["key"])]
        if error:
            raise error
        return DeliveryStatus.SENT


class Addresses:
    async def address(self, member_id: str) -> dict[str, Any]:
        return {}


def worker(
    store: FakeStore, channel: FakeChannel, max_attempts: int = 5, now: datetime = NOW
) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        Addresses(),
        {"sms": channel},
        max_attempts=max_attempts,
        backoff_base=1,
        backoff_cap=8,
        clock=lambda: now,
        rng=random.Random(1),
    )


async def test_digest_entries_of_a_member_go_out_as_one_message_and_each_is_recorded() -> None:
    store, channel = FakeStore([due("a", digest=True), due("b", digest=True), due("c")]), FakeChannel()
    assert await worker(store, channel).run_once() == 3
    assert [o.entry_ids for _key, o in channel.sent] == [("c",), ("a", "b")]
    assert channel.sent[1][1].title == "您有2条新通知"
    assert [(entry, o.status, o.became_final) for entry, o in store.records] == [
        ("c", "sent", (PRIMARY,)),
        ("a", "sent", (PRIMARY,)),
        ("b", "sent", (PRIMARY,)),
    ]


async def test_a_transient_error_requeues_with_a_later_time_and_a_permanent_one_fails_at_once() -> None:
    store = FakeStore([due("a", attempts=1, primary=TargetState(DeliveryStatus.QUEUED, 1, NOW))])
    await worker(store, FakeChannel({PRIMARY: DeliveryError("HTTP 503")})).run_once()
    [(entry, outcome)] = store.records
    assert (entry, outcome.status, outcome.attempts, outcome.last_error) == ("a", "queued", 2, "HTTP 503")
    assert outcome.due is not None
    assert NOW + timedelta(seconds=1) <= outcome.due <= NOW + timedelta(seconds=2)
    assert outcome.became_final == ()

    store = FakeStore([due("b")])
    await worker(store, FakeChannel({PRIMARY: DeliveryError("no number", permanent=True)})).run_once()
    [(entry, outcome)] = store.records
    assert (entry, outcome.status, outcome.attempts, outcome.due) == ("b", "failed", 1, None)
    assert outcome.became_final == (PRIMARY,)


async def test_each_address_of_a_channel_is_retried_on_its_own_and_the_channel_is_not_delivered() -> None:
    """Two browsers, one answering 500: that one is retried, the other is not sent again."""
    channel = FakeChannel({"a": None, "b": DeliveryError("push service answered HTTP 500")})
    store = FakeStore([due("n1")])
    await worker(store, channel, max_attempts=2).run_once()
    [(_entry, first)] = store.records
    assert first.status is DeliveryStatus.QUEUED
    assert (first.targets["a"].status, first.targets["b"].status) == ("sent", "queued")
    assert first.became_final == ("a",)
    assert first.due == first.targets["b"].due

    retry = replace(due("n1"), targets=first.targets)
    store.items = [replace(retry)]
    store.records.clear()
    channel.sent.clear()
    assert first.due is not None
    await worker(store, channel, max_attempts=2, now=first.due).run_once()
    [(_entry, second)] = store.records
    assert [key for key, _o in channel.sent] == ["b"]
    assert (second.targets["a"].status, second.targets["b"].status) == ("sent", "failed")
    assert (second.status, second.targets["b"].attempts, second.became_final) == ("partial", 2, ("b",))


async def test_an_address_removed_before_its_retry_fails_and_no_address_at_all_fails_the_channel() -> None:
    channel = FakeChannel({"a": None})
    queued = TargetState(DeliveryStatus.QUEUED, 1, NOW)
    store = FakeStore([due("n1", a=queued, gone=queued)])
    await worker(store, channel).run_once()
    [(_entry, outcome)] = store.records
    assert (outcome.targets["gone"].status, outcome.targets["gone"].last_error) == ("failed", REMOVED)
    assert (outcome.status, outcome.became_final) == ("partial", ("a", "gone"))

    store = FakeStore([due("n2")])
    await worker(store, FakeChannel({})).run_once()
    [(_entry, outcome)] = store.records
    assert (outcome.status, outcome.last_error, outcome.targets) == ("failed", NO_ADDRESS, {})


async def test_an_address_not_due_yet_is_left_for_later_and_keeps_the_channel_due() -> None:
    later = NOW + timedelta(minutes=5)
    targets = {"a": TargetState(DeliveryStatus.SENT, 1), "b": TargetState(DeliveryStatus.QUEUED, 2, later)}
    channel = FakeChannel({"a": None, "b": None})
    store = FakeStore([replace(due("n1"), targets=targets)])
    await worker(store, channel).run_once()
    [(_entry, outcome)] = store.records
    assert channel.sent == []
    assert (outcome.status, outcome.due, outcome.became_final) == ("queued", later, ())


def test_a_channel_is_delivered_only_when_every_address_confirmed() -> None:
    s = DeliveryStatus
    assert channel_status({"a": TargetState(s.DELIVERED), "b": TargetState(s.DELIVERED)}) is s.DELIVERED
    assert channel_status({"a": TargetState(s.DELIVERED), "b": TargetState(s.SENT)}) is s.SENT
    assert channel_status({"a": TargetState(s.DELIVERED), "b": TargetState(s.QUEUED)}) is s.QUEUED
    assert channel_status({"a": TargetState(s.DELIVERED), "b": TargetState(s.FAILED)}) is s.PARTIAL
    assert channel_status({"a": TargetState(s.FAILED)}) is s.FAILED
    assert channel_status({}) is s.FAILED


async def test_an_unexpected_error_on_one_address_is_a_failed_attempt_of_that_address_only() -> None:
    channel = FakeChannel({"a": None, "b": None})
    original = channel.send

    async def send(outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus:
        if target["key"] == "b":
            raise KeyError("p256dh")
        return await original(outbound, target)

    channel.send = send  # type: ignore[method-assign]
    store = FakeStore([due("n1")])
    await worker(store, channel).run_once()
    [(_entry, outcome)] = store.records
    assert (outcome.targets["a"].status, outcome.targets["b"].status) == ("sent", "queued")
    assert outcome.targets["b"].last_error == "sms send failed: KeyError"
