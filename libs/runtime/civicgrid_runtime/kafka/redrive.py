"""Reading dead letters and replaying them to the one consumer group that rejected them.

Every consumer group made with :func:`~civicgrid_runtime.kafka.consumer.subscribe_events` also listens
on its redrive topic, ``civicgrid.redrive.<group>``. A redrive copies that group's dead letters there
(original key, value and headers, plus ``x-redrive-*`` headers), so no other group sees them again.

What was redriven is tracked with Kafka's own committed offsets: the tool commits, for a consumer
group of its own per target group (``civicgrid.dlq-redrive.<group>``), the position on each
dead-letter partition up to which that group's records were copied. A second redrive starts there
and replays nothing twice. The offsets are committed only after the broker acknowledged every copy;
a redrive interrupted in between copies those records again next time, which idempotent handlers
(keyed by event id) absorb.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from civicgrid_contracts.catalogue import DEAD_LETTER_SUFFIX, redrive_topic
from civicgrid_runtime.kafka.dlq import CONSUMER_GROUP_HEADER, ORIGINAL_TOPIC_HEADER, REDRIVES_HEADER

TRACKER_PREFIX = "civicgrid.dlq-redrive."
UNNAMED_GROUP = "(unnamed)"
"""Dead letters written before records named their consumer group: listed, never redriven."""

__all__ = [
    "DeadLetter",
    "RedriveReport",
    "dead_letter_topics",
    "read_dead_letters",
    "redrive",
    "redrive_positions",
    "tracker_group",
]


def tracker_group(group_id: str) -> str:
    """The consumer group whose committed offsets record what was redriven to ``group_id``."""
    return TRACKER_PREFIX + group_id


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None

    @property
    def group(self) -> str:
        return self.header(CONSUMER_GROUP_HEADER) or UNNAMED_GROUP

    @property
    def reason(self) -> str:
        return self.header("x-dlq-reason") or ""

    @property
    def exception(self) -> str:
        return self.header("x-dlq-exception") or "?"

    @property
    def original_topic(self) -> str:
        return self.header(ORIGINAL_TOPIC_HEADER) or self.topic.removesuffix(DEAD_LETTER_SUFFIX)

    @property
    def failed_at(self) -> str:
        return (
            self.header("x-dlq-failed-at")
            or datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat()
        )

    @property
    def event_type(self) -> str | None:
        return self.header("ce_type")

    @property
    def event_id(self) -> str | None:
        return self.header("ce_id")


@dataclass
class RedriveReport:
    dry_run: bool
    copied: list[DeadLetter] = field(default_factory=list)
    """Records copied (or, in a dry run, that would be) to their group's redrive topic."""
    skipped_unnamed: int = 0
    """Dead letters that name no consumer group (written before they did): not redriven."""
    already_redriven: int = 0

    def by_group(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for letter in self.copied:
            counts[letter.group] = counts.get(letter.group, 0) + 1
        return counts


def _dead_letter_topic(name: str) -> str:
    return name if name.endswith(DEAD_LETTER_SUFFIX) else name + DEAD_LETTER_SUFFIX


async def dead_letter_topics(bootstrap: str, names: Iterable[str] = ()) -> list[str]:
    """The dead-letter topics on the broker (``names``: topics or their ``.dlq``, to narrow it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    wanted = {_dead_letter_topic(n) for n in names}
    found = sorted(t for t in existing if t.endswith(DEAD_LETTER_SUFFIX))
    return [t for t in found if not wanted or t in wanted]


async def read_dead_letters(bootstrap: str, topic: str, timeout: float = 30.0) -> list[DeadLetter]:
    """Every record of ``topic`` present when called, in partition and offset order."""
    partitions = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await _behind(consumer, ends):
            if loop.time() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout:.0f} s")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                letters += [
                    DeadLetter(
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=r.offset,
                        key=r.key,
                        value=r.value or b"",
                        headers=tuple(r.headers or ()),
                        timestamp_ms=r.timestamp,
                    )
                    for r in records
                    if r.offset < ends[tp]
                ]
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        # aiokafka (0.14) awaits a background task it has just cancelled when a consumer without a
        # group stops: a task that never ran raises CancelledError there. Let it run once first.
        await asyncio.sleep(0)
        await consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for t in described if t["error_code"] == 0 for p in t["partitions"])


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def redrive_positions(
    bootstrap: str, group_id: str, topic: str, partitions: Iterable[int]
) -> dict[int, int]:
    """Per partition of the dead-letter ``topic``: the offset before which ``group_id``'s records
    were already redriven (0 when none were)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = [TopicPartition(topic, p) for p in partitions]
        committed = await admin.list_consumer_group_offsets(tracker_group(group_id), partitions=wanted)
    finally:
        await admin.close()
    positions: dict[int, int] = {}
    for tp in wanted:
        offset = getattr(committed.get(tp), "offset", -1)
        positions[tp.partition] = offset if isinstance(offset, int) and offset > 0 else 0
    return positions


async def _commit_positions(bootstrap: str, group_id: str, topic: str, positions: dict[int, int]) -> None:
    tracker = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=tracker_group(group_id), enable_auto_commit=False
    )
    await tracker.start()
    try:
        partitions = [TopicPartition(topic, p) for p in positions]
        tracker.assign(partitions)
        await tracker.commit(
            {TopicPartition(topic, p): OffsetAndMetadata(o, "") for p, o in positions.items()}
        )
    finally:
        await tracker.stop()


async def _ensure_redrive_topic(bootstrap: str, group_id: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            result = await admin.create_topics([NewTopic(redrive_topic(group_id), 1, 1)])
            for _name, code, *_ in getattr(result, "topic_errors", ()):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create {redrive_topic(group_id)} (error {code})")
    finally:
        await admin.close()


def _redrive_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    replaced = {REDRIVES_HEADER, "x-redrive-from", "x-redrive-at"}
    headers = [(k, v) for k, v in letter.headers if k not in replaced]
    count = int(letter.header(REDRIVES_HEADER) or 0) + 1
    return [
        *headers,
        (REDRIVES_HEADER, str(count).encode()),
        ("x-redrive-from", f"{letter.topic}[{letter.partition}]@{letter.offset}".encode()),
        ("x-redrive-at", datetime.now(UTC).isoformat().encode()),
    ]


async def redrive(
    bootstrap: str,
    *,
    topics: Sequence[str] = (),
    group: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
) -> RedriveReport:
    """Copy dead letters not redriven yet to the redrive topic of the group that rejected them.

    ``topics`` narrows to some topics (or their ``.dlq``), ``group`` to one consumer group, ``limit``
    to that many records in all (oldest offsets of each partition first). ``dry_run`` reports what
    would be copied and changes nothing.
    """
    report = RedriveReport(dry_run=dry_run)
    producer: AIOKafkaProducer | None = None
    left = limit
    try:
        for topic in await dead_letter_topics(bootstrap, topics):
            letters = await read_dead_letters(bootstrap, topic)
            partitions = sorted({d.partition for d in letters})
            named = [d for d in letters if d.group != UNNAMED_GROUP]
            report.skipped_unnamed += len(letters) - len(named)
            groups = sorted({d.group for d in named if group is None or d.group == group})
            for target in groups:
                if left is not None and left <= 0:
                    return report
                start = await redrive_positions(bootstrap, target, topic, partitions)
                mine = [d for d in named if d.group == target]
                pending = [d for d in mine if d.offset >= start[d.partition]]
                report.already_redriven += len(mine) - len(pending)
                chosen = pending if left is None else pending[:left]
                if left is not None:
                    left -= len(chosen)
                if not chosen:
                    continue
                report.copied += chosen
                if dry_run:
                    continue
                if producer is None:
                    producer = AIOKafkaProducer(
                        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True
                    )
                    await producer.start()
                await _ensure_redrive_topic(bootstrap, target)
                sends = [
                    await producer.send(
                        redrive_topic(target), d.value, key=d.key, headers=_redrive_headers(d)
                    )
                    for d in chosen
                ]
                await asyncio.gather(*sends)  # every copy acknowledged (acks=all) before tracking it
                await _commit_positions(
                    bootstrap, target, topic, _new_positions(start, pending, chosen, letters)
                )
    finally:
        if producer is not None:
            await producer.stop()
    return report


def _new_positions(
    start: dict[int, int], pending: list[DeadLetter], chosen: list[DeadLetter], letters: list[DeadLetter]
) -> dict[int, int]:
    """Per partition: past every record read, unless a pending record of the group was left out
    (``limit``): then just before the first one left out."""
    chosen_ids = {(d.partition, d.offset) for d in chosen}
    positions: dict[int, int] = {}
    for partition in start:
        left_out = [
            d.offset for d in pending if d.partition == partition and (partition, d.offset) not in chosen_ids
        ]
        read = [d.offset for d in letters if d.partition == partition]
        if left_out:
            positions[partition] = min(left_out)
        elif read:
            positions[partition] = max(start[partition], max(read) + 1)
        else:
            positions[partition] = start[partition]
    return positions
