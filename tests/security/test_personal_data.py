"""Personal data canaries: a phone and an ID-card number of the run, fed through every text field of every
route and through the inbound municipal topics; then every service log and every topic of the run (dead-
letter copies included) is scanned, and any clear hit fails.

Text fields come from the OpenAPI documents (every string of every JSON body that is not an enum or a
date), so a new field is fed without touching this file. Fields meant for personal data (a person's
phone and ID number, a member's SMS number) are fed too: they must be accepted and then appear only
masked or hashed.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from civicgrid_contracts.catalogue import dead_letter_topic, new_event
from civicgrid_contracts.events.municipal import HotlineRequestSubmitted, PopulationReported
from tests.security.calls import CALLS
from tests.security.canaries import Canaries, Leak, Scan, excerpt, scan_logs
from tests.security.matrix import MATRIX
from tests.security.openapi import Document, TextField, put
from tests.security.stack import HOTLINE_TOPIC, POPULATION_TOPIC, SecurityStack, supports_topic_suffix
from tests.security.world import Actor, Api, World

PERSONAL_DATA_FIELDS = {
    ("org-graph", "POST /people", "phone"),
    ("org-graph", "POST /people", "id_number"),
    ("notifications", "PUT /members/{member_id}/contacts", "sms"),
    ("notifications", "PUT /members/{member_id}/contacts", "wechat"),
    ("notifications", "POST /auth/sms-code", "phone"),
}
"""Inputs that are personal data by design: accepted, then kept masked (phone) or hashed (ID number)."""

ROSTER_TEXT_COLUMNS = ("compound_name", "building_name", "grid_name")
POST_ROSTER_TEXT_COLUMNS = ("display_name", "basis_reference")
INBOUND_SERVICE = {HOTLINE_TOPIC: "resources", POPULATION_TOPIC: "org-graph"}


@dataclass
class FieldResult:
    service: str
    route: str
    field: str
    sent: str
    status: int
    answer: str


@dataclass
class CanaryRun:
    canaries: Canaries
    fields: list[FieldResult] = field(default_factory=list)
    designated: list[FieldResult] = field(default_factory=list)
    queries: list[FieldResult] = field(default_factory=list)
    inbound: dict[str, list[str]] = field(default_factory=dict)
    """Per inbound topic, ``partition:offset`` of the canary records published that break the contract."""
    not_isolated: list[str] = field(default_factory=list)


def first_allowed(service: str, route: str) -> Actor | None:
    expected = MATRIX[service][route].expected()
    return next(
        (a for a in (Actor.ADMIN, Actor.COORDINATOR_HERE, Actor.MEMBER_CONCERNED) if expected[a] == "ok"),
        None,
    )


def carrier(text_field: TextField, canaries: Canaries) -> str | None:
    """A canary-bearing value the field's own pattern and length accept (so only content is judged)."""
    return next((v for v in canaries.texts() if text_field.accepts(v)), None)


async def documents(api: Api) -> dict[str, Document]:
    found = {}
    for service in MATRIX:
        response = await api.call(service, "GET", "/openapi.json", None)
        found[service] = Document(response.json())
    return found


async def feed_http(api: Api, world: World, run: CanaryRun) -> None:
    docs = await documents(api)
    for service, doc in docs.items():
        for route in sorted(doc.routes() & set(MATRIX[service])):
            actor = first_allowed(service, route)
            if actor is None:
                continue
            row = MATRIX[service][route]
            builder = CALLS[service][route]
            method = route.split()[0]
            token = world.token_of(actor, row.concerned)
            schema = doc.body_schema(route)
            base = await builder(world, actor, row.concerned)
            for text_field in doc.text_fields(schema) if schema else []:
                value = carrier(text_field, run.canaries)
                if value is None:
                    continue
                designated = (service, route, text_field.name) in PERSONAL_DATA_FIELDS
                if designated:
                    value = (
                        run.canaries.phone
                        if "phone" in text_field.name or text_field.name == "sms"
                        else run.canaries.id_number
                    )
                body = put(base.json or {}, text_field.path, value)
                response = await api.call(
                    service, method, base.path, token, json=body, params=base.params or None
                )
                result = FieldResult(
                    service, route, text_field.name, value, response.status_code, response.text
                )
                (run.designated if designated else run.fields).append(result)
                if response.status_code < 300:
                    base = await builder(world, actor, row.concerned)  # it changed something: a fresh one
            for name, param in doc.query_parameters(route):
                if param.get("type") != "string" or "enum" in param or param.get("format"):
                    continue
                value = run.canaries.texts()[0]
                params = {**(base.params or {}), name: value}
                response = await api.call(service, method, base.path, token, json=base.json, params=params)
                run.queries.append(
                    FieldResult(service, route, f"?{name}", value, response.status_code, response.text)
                )


def with_canary(
    content: bytes, columns: tuple[str, ...], canaries: Canaries, new_person: str | None = None
) -> dict[str, bytes]:
    """One CSV per column, that column's first non-empty cell carrying a canary (with ``new_person``:
    in a new row, a copy of the first with that person id, so the row is a new term, not a skipped one)."""
    text = content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, "the export to re-import is empty"
    header = list(rows[0])
    made = {}
    for column in columns:
        changed = [dict(r) for r in rows]
        if new_person is not None:
            changed.append({**changed[0], "person_id": f"{new_person}-{column[:4]}", "phone": ""})
            target = changed[-1]
        else:
            target = next((r for r in changed if r.get(column)), changed[0])
        target[column] = f"联系{canaries.phone}"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        writer.writerows(changed)
        made[column] = out.getvalue().encode()
    return made


async def feed_imports(api: Api, world: World, run: CanaryRun) -> None:
    for what, columns in (("roster", ROSTER_TEXT_COLUMNS), ("posts", POST_ROSTER_TEXT_COLUMNS)):
        export = await world.og(
            "GET", f"/exports/{what}", params={"region": world.community_a, "format": "csv"}
        )
        for column, content in with_canary(export, columns, run.canaries).items():
            for dry_run in ("true", "false"):
                response = await api.call(
                    "org-graph",
                    "POST",
                    f"/imports/{what}",
                    world.admin,
                    params={"dry_run": dry_run},
                    files={"file": (f"{what}.csv", content, "text/csv")},
                )
                route = f"POST /imports/{what}?dry_run={dry_run}"
                run.fields.append(
                    FieldResult("org-graph", route, column, "csv cell", response.status_code, response.text)
                )


async def publish(bootstrap: str, topic: str, records: list[Record]) -> list[str]:
    """Publish; the ``partition:offset`` of each record."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        placed = []
        for key, value, headers in records:
            meta = await producer.send_and_wait(topic, value, key=key, headers=headers)
            placed.append(f"{meta.partition}:{meta.offset}")
        return placed
    finally:
        await producer.stop()


Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def hotline_records(world: World, canaries: Canaries) -> list[tuple[Record, bool]]:
    """Records that each break the contract with a canary (so each must be dead-lettered)."""
    from datetime import UTC, datetime

    valid = HotlineRequestSubmitted(
        community_code=world.community_a,
        ticket_no=world.fresh("t"),
        received_at=datetime.now(UTC),
        kind="help",
        category="水电维修",
        urgency="ordinary",
        address="一号小区1栋",
        description="楼道漏水",
        caller_phone="139****0000",
    )
    records: list[tuple[Record, bool]] = []
    for key_path, value in (
        ("description", f"漏水，回电{canaries.phone}"),
        ("address", f"一号小区，身份证{canaries.id_number}"),
        ("category", f"水电{canaries.phone}"),
        ("caller_phone", canaries.phone),
        ("ticket_no", f"t-{canaries.phone}"),
    ):
        event = new_event(valid.model_copy(update={"ticket_no": world.fresh("t")}), source="/municipal/12345")
        record = event.to_kafka()
        data = json.loads(record.value)
        data[key_path] = value
        records.append(
            ((record.key, json.dumps(data, ensure_ascii=False).encode(), list(record.headers)), True)
        )
    broken = f"not json, 联系 {canaries.phone} {canaries.id_number}".encode()
    records.append(((world.community_a.encode(), broken, []), True))
    return records


def population_records(world: World, canaries: Canaries) -> list[tuple[Record, bool]]:
    """An unknown extra field (ignored: additive changes are allowed within a version), a bad value and
    a broken record, each with a canary; the last two must be dead-lettered."""
    from datetime import date

    valid = PopulationReported(
        community_code=world.community_a, as_of=date(2025, 6, 30), residents=3000, households=1000
    )
    records: list[tuple[Record, bool]] = []
    for extra, subject, broken in (
        ({"note": f"统计员{canaries.phone}"}, None, False),
        ({"residents": f"约{canaries.id_number}"}, f"x-{canaries.phone}", True),
    ):
        record = new_event(valid, source="/municipal/statistics", subject=subject).to_kafka()
        data = {**json.loads(record.value), **extra}
        records.append(
            ((record.key, json.dumps(data, ensure_ascii=False).encode(), list(record.headers)), broken)
        )
    records.append(
        ((world.community_a.encode(), f"{{broken {canaries.id_number} {canaries.phone}".encode(), []), True)
    )
    return records


async def wait_consumed(stack: SecurityStack, topic: str, group: str, timeout: float = 90.0) -> None:
    """Until ``group`` has committed up to the end of every partition of ``topic`` that holds records.

    A group commits a record only after it was handled or dead-lettered (the runtime commits after
    processing), so when this returns the dead-letter copies are on their topic. A partition the group
    has committed nothing on yet counts as not consumed: on a topic created for this run the group
    has no commit before the first record it finishes."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        assert partitions, f"{topic} has no partitions"
        ends = {tp: end for tp, end in (await consumer.end_offsets(partitions)).items() if end > 0}
        deadline = time.monotonic() + timeout
        behind: dict[TopicPartition, tuple[int, int]] = {}
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(group, partitions=list(ends))
            behind = {}
            for tp, end in ends.items():
                meta = committed.get(tp)
                offset = meta.offset if meta is not None else -1
                if offset < end:
                    behind[tp] = (offset, end)
            if not behind:
                return
            await asyncio.sleep(0.5)
        where = ", ".join(f"{tp.partition}: {o} of {e}" for tp, (o, e) in sorted(behind.items()))
        raise AssertionError(
            f"consumer group {group} did not finish {topic} in {timeout} s (committed of end: {where})"
        )
    finally:
        await consumer.stop()
        await admin.close()


async def feed_inbound(stack: SecurityStack, world: World, run: CanaryRun) -> None:
    for topic, records in (
        (HOTLINE_TOPIC, hotline_records(world, run.canaries)),
        (POPULATION_TOPIC, population_records(world, run.canaries)),
    ):
        service = INBOUND_SERVICE[topic]
        if not supports_topic_suffix(service):
            # never publish to a shared inbound topic: another stack's consumers would read it
            run.not_isolated.append(f"{service} ({topic})")
            continue
        name = stack.topic(service, topic)
        placed = await publish(stack.kafka, name, [r for r, _ in records])
        run.inbound[name] = [where for where, (_, broken) in zip(placed, records, strict=True) if broken]
        await wait_consumed(stack, name, stack.inbound_group(topic))


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` up to its end now.

    The reader resets to the earliest offset by default too: with aiokafka's default (latest), the
    reset that assigning partitions starts in the background can land after ``seek_to_beginning``
    and put the position at the end, and the loop below then stops having read nothing (a quarter
    of the reads of a just-written topic did, on the test servers)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not parts:
            return []
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        await consumer.seek_to_beginning(*parts)
        records: list[Any] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in parts}
            if all(positions[tp] >= end for tp, end in ends.items()):
                break
            batch = await consumer.getmany(timeout_ms=500)
            for items in batch.values():
                records.extend(items)
        return records
    finally:
        await consumer.stop()


def record_text(record: Any) -> str:
    parts = [(record.key or b"").decode("utf-8", "replace"), (record.value or b"").decode("utf-8", "replace")]
    parts += [f"{k}={v.decode('utf-8', 'replace')}" for k, v in record.headers]
    return " | ".join(parts)


@pytest.fixture(scope="module")
async def canary_run(api: Api, world: World, security_stack: SecurityStack) -> CanaryRun:
    run = CanaryRun(Canaries.new())
    await feed_http(api, world, run)
    await feed_imports(api, world, run)
    await feed_inbound(security_stack, world, run)
    await asyncio.sleep(2)  # outbox relays publish what the accepted calls changed
    return run


def named(result: FieldResult) -> bool:
    leaf = result.field.split(".")[-1].lstrip("?")
    return leaf in result.answer


async def test_every_free_text_field_refuses_a_clear_phone_or_id_number_naming_the_field(
    canary_run: CanaryRun,
) -> None:
    wrong = [
        f"  {r.service} {r.route} {r.field}: {r.status} {r.answer[:140]!r}"
        for r in canary_run.fields
        if r.status != 422 or not named(r)
    ]
    assert canary_run.fields, "no text field was fed"
    assert not wrong, (
        f"{len(wrong)} of {len(canary_run.fields)} fields did not answer 422 naming the field:\n"
        + "\n".join(wrong)
    )


async def test_a_refusal_never_echoes_the_personal_data_it_refused(canary_run: CanaryRun) -> None:
    echoed = [
        f"  {r.service} {r.route} {r.field}: {excerpt(r.answer, canary_run.canaries)!r}"
        for r in canary_run.fields + canary_run.queries
        if canary_run.canaries.hits(r.answer)
    ]
    assert not echoed, "answers that repeat the canary in clear:\n" + "\n".join(echoed)


async def test_personal_data_fields_accept_the_number_and_answer_it_only_masked(
    canary_run: CanaryRun,
) -> None:
    wrong = [
        f"  {r.service} {r.route} {r.field}: {r.status} {r.answer[:140]!r}"
        for r in canary_run.designated
        if r.status >= 300 or canary_run.canaries.hits(r.answer)
    ]
    assert {r.field for r in canary_run.designated} >= {"phone", "id_number", "sms", "wechat"}
    assert not wrong, "personal-data fields refused the number or answered it in clear:\n" + "\n".join(wrong)


async def test_canary_query_parameters_never_cause_a_server_error(canary_run: CanaryRun) -> None:
    failed = [f"  {r.service} {r.route} {r.field}: {r.status}" for r in canary_run.queries if r.status >= 500]
    assert not failed, "\n".join(failed)


async def test_every_inbound_topic_can_be_fed_without_touching_a_shared_topic(canary_run: CanaryRun) -> None:
    assert not canary_run.not_isolated, (
        "these consumers of inbound topics have no topic_suffix setting, so the canaries could only be "
        f"published on the shared topics (not done): {canary_run.not_isolated}"
    )


async def test_every_canary_record_on_an_inbound_topic_is_dead_lettered_with_its_personal_data_masked(
    canary_run: CanaryRun, security_stack: SecurityStack
) -> None:
    assert canary_run.inbound or canary_run.not_isolated
    for topic, ids in canary_run.inbound.items():
        letters = await read_topic(security_stack.kafka, dead_letter_topic(topic))

        def origin(record: Any) -> str:
            headers = {k: v.decode("utf-8", "replace") for k, v in record.headers}
            return f"{headers.get('x-dlq-original-partition')}:{headers.get('x-dlq-original-offset')}"

        found = {origin(r) for r in letters}
        missing = [where for where in ids if where not in found]
        assert not missing, (
            f"{topic}: canary records (partition:offset) not dead-lettered: {missing}; found {found}"
        )
        clear = [record_text(r) for r in letters if canary_run.canaries.hits(record_text(r))]
        assert not clear, f"{dead_letter_topic(topic)} keeps personal data in clear:\n" + "\n".join(
            excerpt(c, canary_run.canaries) for c in clear[:5]
        )


async def test_no_service_log_line_holds_a_canary_in_clear(
    canary_run: CanaryRun, security_stack: SecurityStack
) -> None:
    scan = scan_logs(security_stack.log_paths(), canary_run.canaries)
    assert scan.scanned > 0
    assert not scan.leaks, f"{len(scan.leaks)} log lines hold a canary in clear:\n{scan.report()}"


async def test_no_topic_record_of_the_run_holds_a_canary_in_clear(
    canary_run: CanaryRun, security_stack: SecurityStack
) -> None:
    """Every topic the run's services write (dead letters included); the inbound topics themselves hold
    what this test published as a municipal system, so they are not judged."""
    scan = Scan()
    inbound = set(canary_run.inbound)
    for topic in security_stack.run_topics():
        if topic in inbound:
            continue
        shared = security_stack.suffix not in topic
        for record in await read_topic(security_stack.kafka, topic):
            text = record_text(record)
            if shared and (
                record.timestamp < security_stack.started_ms or security_stack.region.district not in text
            ):
                continue  # a shared topic: only this run's records are ours to judge
            scan.scanned += 1
            what = canary_run.canaries.hits(text)
            if what:
                scan.leaks.append(
                    Leak(
                        f"{topic}@{record.partition}:{record.offset}",
                        what,
                        excerpt(text, canary_run.canaries),
                    )
                )
    assert scan.scanned > 0, "no record of the run was found on its topics"
    assert not scan.leaks, f"{len(scan.leaks)} records hold a canary in clear:\n{scan.report()}"


def test_the_canaries_are_valid_personal_data_numbers() -> None:
    canaries = Canaries.new()
    digits = canaries.id_number
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    assert (
        "10X98765432"[sum(int(d) * w for d, w in zip(digits[:17], weights, strict=True)) % 11] == digits[17]
    )
    assert canaries.hits(f"a{canaries.phone}b") == ["phone"]
    assert canaries.hits(canaries.masked_phone) == []
