"""Concurrent handling by key (``subscribe_events(key=..., max_in_flight=...)``) on a real broker:
per-key order, a slow key holding nobody else, and commits that never pass an unfinished record."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import Hashable
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord

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
SLOW, FAST = "420106002001", "420106002002"
ROOT = Path(__file__).resolve().parents[3]


def _settings(bootstrap: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=bootstrap, service_name="tests", consumer_commit_interval_seconds=0.1
    )


def _community(record: ConsumerRecord[bytes, bytes]) -> Hashable:
    key: bytes | None = record.key
    return key


async def _publish(bootstrap: str, topic: str, events: list[CloudEvent]) -> None:
    broker = create_broker(_settings(bootstrap))
    await broker.start()
    try:
        await KafkaEventPublisher(broker).publish_many([(topic, e) for e in events])
    finally:
        await stop_broker(broker)


async def test_a_slow_record_holds_its_own_key_and_the_commit_but_not_other_keys(kafka_bootstrap, unique):
    topic, group = f"test.concurrent.{unique}", f"concurrent-{unique}"
    await create_topics(kafka_bootstrap, topic)
    # One partition, published before the group starts: the first poll returns all ten in one batch.
    # Offsets 0..9: the slow community at 0, 2, 4, 6, 8; the other at 1, 3, 5, 7, 9.
    await _publish(
        kafka_bootstrap,
        topic,
        [population_reported(SLOW if n % 2 else FAST, residents=n) for n in range(1, 11)],
    )
    release = asyncio.Event()
    handled: list[tuple[str, int]] = []

    async def handle(event: CloudEvent) -> None:
        if event.data["residents"] == 1:
            await release.wait()
        handled.append((event.data["community_code"], event.data["residents"]))

    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker,
        topics=[topic],
        group_id=group,
        routes=EventRoutes({POPULATION_REPORTED: handle}),
        key=_community,
        max_in_flight=4,
        redrive=False,  # one member: no second join rebalancing the group (a re-read) mid-test
    )
    await broker.start()
    try:
        assert await wait_for(lambda: len(handled) == 5, timeout=30)
        assert handled == [(FAST, n) for n in (2, 4, 6, 8, 10)], (
            "the other community went on; the slow one's later records waited behind its first"
        )
        await asyncio.sleep(0.5)  # several commit intervals pass while offset 0 is in its handler
        assert await committed_offset(kafka_bootstrap, group, topic) in (None, 0), (
            "no commit passes the record still in its handler, though later ones of the other key finished"
        )
        release.set()
        assert await wait_for(lambda: len(handled) == 10, timeout=30)
        assert [n for c, n in handled if c == SLOW] == [1, 3, 5, 7, 9]
        assert await wait_for(lambda: _committed(kafka_bootstrap, group, topic, 10), timeout=15)
    finally:
        release.set()
        await stop_broker(broker)


async def _committed(bootstrap: str, group: str, topic: str, expected: int) -> bool:
    return await committed_offset(bootstrap, group, topic) == expected


async def test_records_of_each_key_are_handled_in_order_while_keys_run_side_by_side(kafka_bootstrap, unique):
    topic, group = f"test.keyorder.{unique}", f"keyorder-{unique}"
    await create_topics(kafka_bootstrap, topic)
    communities = [f"42010600200{n}" for n in range(1, 7)]
    rng = random.Random(7)
    events = [population_reported(rng.choice(communities), residents=n) for n in range(1, 121)]
    await _publish(kafka_bootstrap, topic, events)
    handled: dict[str, list[int]] = {c: [] for c in communities}
    running: set[str] = set()
    overlaps: list[str] = []
    most_at_once = 0

    async def handle(event: CloudEvent) -> None:
        nonlocal most_at_once
        community = event.data["community_code"]
        if community in running:
            overlaps.append(community)
        running.add(community)
        most_at_once = max(most_at_once, len(running))
        await asyncio.sleep(rng.uniform(0, 0.01))
        handled[community].append(event.data["residents"])
        running.discard(community)

    broker = create_broker(_settings(kafka_bootstrap))
    subscribe_events(
        broker,
        topics=[topic],
        group_id=group,
        routes=EventRoutes({POPULATION_REPORTED: handle}),
        key=_community,
        max_in_flight=4,
        redrive=False,  # one member: no second join rebalancing the group (a re-read) mid-test
    )
    await broker.start()
    try:
        assert await wait_for(lambda: sum(map(len, handled.values())) >= 120, timeout=60)
        assert await wait_for(lambda: _committed(kafka_bootstrap, group, topic, 120), timeout=15)
    finally:
        await stop_broker(broker)
    for community in communities:
        published = [e.data["residents"] for e in events if e.data["community_code"] == community]
        assert handled[community] == published, f"{community}: out of publication order"
    assert overlaps == [], "two records of one key were never handled at once"
    assert 1 < most_at_once <= 4, "different keys ran side by side, never more than max_in_flight"


def test_concurrency_is_an_opt_in_that_needs_a_key() -> None:
    broker = create_broker(ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1"))
    with pytest.raises(ValueError, match="needs a key"):
        subscribe_events(broker, topics=["t"], group_id="g", routes=EventRoutes(), max_in_flight=4)


def _spawn(bootstrap: str, topic: str, group: str, journal: Path, hang_at: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.runtime.concurrent_consumer_process",
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


def _done(path: Path) -> list[int]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [int(line.split()[1]) for line in lines if line.startswith("done ")]


def _journal(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_a_concurrent_consumer_killed_with_a_record_in_its_handler_loses_nothing_and_keeps_key_order(
    kafka_bootstrap, unique, tmp_path
):
    topic, group = f"test.concurrentkill.{unique}", f"concurrentkill-{unique}"
    await create_topics(kafka_bootstrap, topic)
    # Offsets 0..9 carry residents 1..10: the slow community the odd ones, the other the even ones.
    await _publish(
        kafka_bootstrap,
        topic,
        [population_reported(SLOW if n % 2 else FAST, residents=n) for n in range(1, 11)],
    )
    first_journal, second_journal = tmp_path / "first.log", tmp_path / "second.log"
    first = _spawn(kafka_bootstrap, topic, group, first_journal, hang_at=3)
    try:
        assert await wait_for(lambda: "started 3" in _journal(first_journal), timeout=60)
        assert await wait_for(lambda: {2, 4, 6, 8, 10} <= set(_done(first_journal)), timeout=60)
        assert await wait_for(lambda: _committed(kafka_bootstrap, group, topic, 2), timeout=15)
        await asyncio.sleep(0.5)  # commit intervals pass; the other key's later records are finished
        assert await committed_offset(kafka_bootstrap, group, topic) == 2, "held at the record in its handler"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert set(_done(first_journal)) == {1, 2, 4, 6, 8, 10}, "the slow key's later records waited"

    second = _spawn(kafka_bootstrap, topic, group, second_journal, hang_at=0)
    try:
        assert await wait_for(lambda: {3, 5, 7, 9} <= set(_done(second_journal)), timeout=60)
        assert await wait_for(lambda: _committed(kafka_bootstrap, group, topic, 10), timeout=15)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait()
    done = _done(second_journal)
    assert not {1, 2} & set(done), "what was committed is not read again"
    assert [n for n in done if n % 2] == [3, 5, 7, 9], (
        "the slow key resumes at its unfinished record, in order"
    )
    assert set(done) <= set(range(3, 11)), "finished records after it may be read again (at-least-once)"
