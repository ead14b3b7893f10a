"""Offsets are committed after handling, in the background, in order (fake consumer, no broker)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.structs import TopicPartition

from civicgrid_runtime.kafka import EventRoutes, create_broker, subscribe_events
from civicgrid_runtime.kafka.commits import OffsetTracker
from civicgrid_runtime.kafka.consumer import BATCH_MAX_RECORDS, POLL_TIMEOUT_MS, _rewind
from civicgrid_runtime.settings import ServiceSettings

TOPIC = "test.commits"


class FakeConsumer:
    """Records every commit; a commit waits until ``release`` is set."""

    def __init__(self, partitions: int = 2) -> None:
        self.assigned = {TopicPartition(TOPIC, p) for p in range(partitions)}
        self.commits: list[dict[TopicPartition, int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.in_flight = 0
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.in_flight += 1
        try:
            await self.release.wait()
            self.commits.append({tp: meta.offset for tp, meta in offsets.items()})
        finally:
            self.in_flight -= 1

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


class Record:
    def __init__(self, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = TOPIC, partition, offset


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_noting_a_record_returns_at_once_while_its_commit_waits_for_the_broker() -> None:
    consumer = FakeConsumer()
    consumer.release.clear()
    tracker = OffsetTracker(max_pending=2, interval=60)
    tracker.note(consumer, TOPIC, 0, 0)
    tracker.note(consumer, TOPIC, 0, 1)
    await _settle()
    assert consumer.in_flight == 1, "the commit was started in the background"
    tracker.note(consumer, TOPIC, 0, 2)
    tracker.note(consumer, TOPIC, 0, 3)
    assert consumer.commits == [], "nothing is committed before the broker answers"
    consumer.release.set()
    await tracker.close()
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 2}, {TopicPartition(TOPIC, 0): 4}]


async def test_offsets_noted_during_a_commit_go_in_the_next_one_and_commits_never_overlap() -> None:
    consumer = FakeConsumer()
    consumer.release.clear()
    tracker = OffsetTracker(max_pending=1, interval=60)
    for offset in range(5):
        tracker.note(consumer, TOPIC, 1, offset)
        await _settle()
        assert consumer.in_flight <= 1
    consumer.release.set()
    await tracker.close()
    assert consumer.commits == [{TopicPartition(TOPIC, 1): 1}, {TopicPartition(TOPIC, 1): 5}]


async def test_a_lower_offset_noted_after_a_higher_one_never_moves_the_commit_back() -> None:
    consumer = FakeConsumer()
    tracker = OffsetTracker(max_pending=100, interval=60)
    tracker.note(consumer, TOPIC, 0, 7)
    tracker.note(consumer, TOPIC, 0, 3)
    await tracker.close()
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 8}]


async def test_the_interval_commits_what_is_waiting_without_reaching_max_pending() -> None:
    consumer = FakeConsumer()
    tracker = OffsetTracker(max_pending=100, interval=0.01)
    tracker.note(consumer, TOPIC, 0, 0)
    tracker.note(consumer, TOPIC, 1, 4)
    for _ in range(100):
        if consumer.commits:
            break
        await asyncio.sleep(0.01)
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 1, TopicPartition(TOPIC, 1): 5}]
    await tracker.close()


async def test_a_partition_no_longer_assigned_is_not_committed() -> None:
    consumer = FakeConsumer(partitions=1)
    tracker = OffsetTracker(max_pending=100, interval=60)
    tracker.note(consumer, TOPIC, 0, 0)
    tracker.note(consumer, TOPIC, 5, 9)
    await tracker.close()
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 1}]


def test_a_failure_mid_batch_rewinds_each_partition_to_its_first_unfinished_record() -> None:
    consumer = FakeConsumer(partitions=2)
    unfinished = [Record(0, 12), Record(1, 40), Record(0, 13), Record(1, 41), Record(3, 2)]
    _rewind(consumer, unfinished)
    assert sorted(consumer.seeks) == [(TopicPartition(TOPIC, 0), 12), (TopicPartition(TOPIC, 1), 40)], (
        "partition 3 is not assigned here: its new owner reads it from the committed offset"
    )


class IdleConsumer:
    def __init__(self) -> None:
        self.polls: list[tuple[int, int | None]] = []

    async def getmany(
        self, timeout_ms: int, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]:
        self.polls.append((timeout_ms, max_records))
        return {TopicPartition(TOPIC, 0): [Record(0, 1), Record(0, 2)]} if len(self.polls) > 1 else {}


async def test_a_batch_subscriber_long_polls_and_an_idle_poll_returns_nothing_instead_of_sleeping() -> None:
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1"))
    subscribe_events(broker, topics=[TOPIC], group_id="idle", routes=EventRoutes(), redrive=False)
    (subscriber,) = broker.subscribers
    consumer = IdleConsumer()
    assert await subscriber.get_msg(consumer) == ()  # type: ignore[attr-defined]
    records = await subscriber.get_msg(consumer)  # type: ignore[attr-defined]
    assert [r.offset for r in records] == [1, 2]
    assert consumer.polls == [(POLL_TIMEOUT_MS, BATCH_MAX_RECORDS)] * 2


async def test_records_finishing_out_of_order_are_committed_only_up_to_the_first_unfinished_one() -> None:
    consumer = FakeConsumer()
    tracker = OffsetTracker(max_pending=100, interval=60)
    tracker.begin(consumer, [Record(0, n) for n in range(10, 15)])
    for offset in (11, 13, 14):
        tracker.note(consumer, TOPIC, 0, offset)
    await tracker.flush()
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 10}], "10 is still in its handler"
    assert tracker.held(consumer) == {TopicPartition(TOPIC, 0): 10}
    tracker.note(consumer, TOPIC, 0, 10)
    await tracker.flush()
    assert consumer.commits[-1] == {TopicPartition(TOPIC, 0): 12}, "12 is still in its handler"
    tracker.note(consumer, TOPIC, 0, 12)
    await tracker.close()
    assert consumer.commits[-1] == {TopicPartition(TOPIC, 0): 15}
    assert tracker.held(consumer) == {}


async def test_a_begun_record_that_escaped_keeps_holding_until_it_is_read_again_and_finished() -> None:
    consumer = FakeConsumer()
    tracker = OffsetTracker(max_pending=100, interval=60)
    tracker.begin(consumer, [Record(1, 3), Record(1, 4), Record(1, 5)])
    tracker.note(consumer, TOPIC, 1, 4)
    tracker.note(consumer, TOPIC, 1, 5)  # 3 escaped: never noted; the consumer seeks back to it
    tracker.begin(consumer, [Record(1, 3), Record(1, 4)])  # read again
    tracker.note(consumer, TOPIC, 1, 4)
    await tracker.flush()
    assert consumer.commits == [{TopicPartition(TOPIC, 1): 3}]
    tracker.note(consumer, TOPIC, 1, 3)
    await tracker.close()
    assert consumer.commits[-1] == {TopicPartition(TOPIC, 1): 6}, "5 had finished the first time"


async def test_holds_of_partitions_moved_away_are_forgotten_and_other_partitions_keep_theirs() -> None:
    consumer = FakeConsumer()
    tracker = OffsetTracker(max_pending=100, interval=60)
    tracker.begin(consumer, [Record(0, 1), Record(0, 2), Record(1, 7), Record(1, 8)])
    tracker.forget(consumer, [TopicPartition(TOPIC, 0)])
    assert tracker.held(consumer) == {TopicPartition(TOPIC, 1): 7}
    tracker.note(consumer, TOPIC, 1, 8)
    await tracker.close()
    assert consumer.commits == [{TopicPartition(TOPIC, 1): 7}]


async def test_records_noted_without_being_begun_commit_as_before() -> None:
    consumer = FakeConsumer()
    tracker = OffsetTracker(max_pending=100, interval=60)
    tracker.begin(consumer, [Record(0, 20)])
    tracker.note(consumer, TOPIC, 1, 4)  # another partition, handled one record at a time
    await tracker.close()
    assert consumer.commits == [{TopicPartition(TOPIC, 1): 5}]
