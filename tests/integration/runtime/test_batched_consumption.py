"""Batched consumption keeps at-least-once: commits cover finished records only; a kill replays the rest."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker

from civicgrid_contracts.envelope import CloudEvent
from civicgrid_runtime.kafka import (
    EventRoutes,
    KafkaEventPublisher,
    create_broker,
    stop_broker,
    subscribe_events,
)
from civicgrid_runtime.settings import ServiceSettings
from tests.support.events import POPULATION_REPORTED, population_reported
from tests.support.kafka import committed_offset, create_topics, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=bootstrap, service_name="tests", consumer_commit_interval_seconds=0.1
    )


async def _publish_residents(bootstrap: str, topic: str, residents: range) -> None:
    broker = create_broker(_settings(bootstrap))
    await broker.start()
    try:
        await KafkaEventPublisher(broker).publish_many(
            [(topic, population_reported(residents=n)) for n in residents]
        )
    finally:
        await stop_broker(broker)


async def _settled(broker: KafkaBroker) -> bool:
    consumers = [getattr(sub, "consumer", None) for sub in broker.subscribers]
    return all(consumer is not None and consumer.assignment() for consumer in consumers)


async def _committed_is(bootstrap: str, group: str, topic: str, expected: int) -> bool:
    return await committed_offset(bootstrap, group, topic) == expected


def _spawn(bootstrap: str, topic: str, group: str, journal: Path, hang_at: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.runtime.batch_consumer_process",
            bootstrap,
            topic,
            group,
            str(journal),
            str(hang_at),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )


def _journal(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_records_of_one_batch_are_committed_up_to_the_one_still_in_its_handler(kafka_bootstrap, unique):
    topic, group = f"test.batchcommit.{unique}", f"batchcommit-{unique}"
    await create_topics(kafka_bootstrap, topic)
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        if event.data["residents"] == 6:
            await release.wait()
        handled.append(event.data["residents"])

    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker, topics=[topic], group_id=group, routes=EventRoutes({POPULATION_REPORTED: handle})
    )
    await broker.start()
    try:
        # Published once the group has settled (its redrive member joins after the subscriber: a
        # rebalance before that may re-read uncommitted records, which at-least-once allows).
        assert await wait_for(lambda: _settled(broker), timeout=30)
        await _publish_residents(kafka_bootstrap, topic, range(1, 11))
        assert await wait_for(lambda: handled == [1, 2, 3, 4, 5], timeout=30)
        assert await wait_for(lambda: _committed_is(kafka_bootstrap, group, topic, 5), timeout=15)
        await asyncio.sleep(0.5)  # several commit intervals pass while record 6 is in its handler
        assert await committed_offset(kafka_bootstrap, group, topic) == 5
        release.set()
        assert await wait_for(lambda: handled == list(range(1, 11)), timeout=30)
        assert await wait_for(lambda: _committed_is(kafka_bootstrap, group, topic, 10), timeout=15)
    finally:
        release.set()
        await stop_broker(broker)


async def test_a_consumer_killed_mid_batch_loses_nothing_and_its_successor_skips_what_was_committed(
    kafka_bootstrap, unique, tmp_path
):
    topic, group = f"test.batchkill.{unique}", f"batchkill-{unique}"
    await create_topics(kafka_bootstrap, topic)
    first_journal, second_journal = tmp_path / "first.log", tmp_path / "second.log"

    first = _spawn(kafka_bootstrap, topic, group, first_journal, hang_at=6)
    try:
        assert await wait_for(lambda: "ready" in _journal(first_journal), timeout=60)
        await _publish_residents(kafka_bootstrap, topic, range(1, 11))
        assert await wait_for(lambda: "started 6" in _journal(first_journal), timeout=60)
        assert await wait_for(lambda: _committed_is(kafka_bootstrap, group, topic, 5), timeout=15)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert [line for line in _journal(first_journal) if line.startswith("done")] == [
        f"done {n}" for n in range(1, 6)
    ]

    second = _spawn(kafka_bootstrap, topic, group, second_journal, hang_at=0)
    try:
        assert await wait_for(lambda: "done 10" in _journal(second_journal), timeout=60)
        assert await wait_for(lambda: _committed_is(kafka_bootstrap, group, topic, 10), timeout=15)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait()
    done = [line for line in _journal(second_journal) if line.startswith("done")]
    # The successor's own start may rebalance its group once (its redrive member joins), which can
    # re-read a record it had not committed yet: at-least-once. What was committed is never read again.
    assert set(done) == {f"done {n}" for n in range(6, 11)}, (
        "the record in its handler at the kill and those after it are handled again; committed ones are not"
    )
    assert done[0] == "done 6", "the successor starts at the first record that was not finished"


async def test_a_member_commits_what_it_finished_when_its_partitions_move_so_the_next_owner_skips_it(
    kafka_bootstrap, unique
):
    topic, group = f"test.revoke.{unique}", f"revoke-{unique}"
    await create_topics(kafka_bootstrap, topic, partitions=2)
    # No periodic commit during the test: only the rebalance can commit.
    settings = _settings(kafka_bootstrap).model_copy(
        update={"consumer_commit_interval_seconds": 60.0, "consumer_commit_every": 100_000}
    )
    handled_by: dict[str, list[int]] = {"first": [], "second": []}

    def routes(member: str) -> EventRoutes:
        async def handle(event: CloudEvent) -> None:
            handled_by[member].append(event.data["residents"])

        return EventRoutes({POPULATION_REPORTED: handle})

    first = create_broker(settings)
    subscribe_events(first, topics=[topic], group_id=group, routes=routes("first"), redrive=False)
    await first.start()
    second = create_broker(settings)
    subscribe_events(second, topics=[topic], group_id=group, routes=routes("second"), redrive=False)
    try:
        assert await wait_for(lambda: _settled(first), timeout=30)
        await _publish_residents(kafka_bootstrap, topic, range(1, 21))
        assert await wait_for(lambda: len(handled_by["first"]) == 20, timeout=30)
        assert await committed_offset(kafka_bootstrap, group, topic, 0) in (None, -1)
        await second.start()  # the group rebalances: the first member's partitions are revoked
        assert await wait_for(lambda: _settled(second), timeout=30)
        ends = [await committed_offset(kafka_bootstrap, group, topic, p) for p in (0, 1)]
        assert sum(e for e in ends if e and e > 0) == 20, f"committed on revocation: {ends}"
        await asyncio.sleep(1.0)
        assert handled_by["second"] == [], "the next owner starts after what was finished"
    finally:
        await stop_broker(second)
        await stop_broker(first)
