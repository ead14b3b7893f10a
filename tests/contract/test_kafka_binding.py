"""The Kafka protocol binding: a lossless round trip, structured mode on input, and readable rejections."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from civicgrid_contracts import CloudEvent, InvalidEvent, KafkaRecord, UnknownEventType, new_event
from civicgrid_contracts.events import EventPayload, PersonRegistered
from civicgrid_contracts.examples import COMMUNITY, example_payloads

Headers = list[tuple[str, bytes]]


def an_event(payload: EventPayload | None = None) -> CloudEvent:
    return new_event(
        payload or example_payloads()["cn.civicgrid.org.person.registered.v1"],
        source="/civicgrid/org-graph",
        subject="p-8f2c",
        correlation_id="corr-1",
        causation_id="cause-1",
        event_id="7d1c8a0e-0000-4000-8000-000000000001",
        time=datetime(2025, 6, 2, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8))),
    )


def decode(record: KafkaRecord) -> CloudEvent:
    return CloudEvent.from_kafka(record.key, record.value, record.headers)


@pytest.mark.parametrize(("event_type", "payload"), sorted(example_payloads().items()))
def test_a_round_trip_through_kafka_preserves_every_attribute(event_type: str, payload: EventPayload) -> None:
    event = an_event(payload)
    back = decode(event.to_kafka())
    assert back.model_dump() == event.model_dump()
    assert back.type == event_type
    assert back == event


def test_binary_mode_puts_the_attributes_in_ce_headers_and_the_data_in_the_value() -> None:
    event = an_event()
    record = event.to_kafka()
    headers = dict(record.headers)
    assert headers == {
        "ce_id": b"7d1c8a0e-0000-4000-8000-000000000001",
        "ce_source": b"/civicgrid/org-graph",
        "ce_type": b"cn.civicgrid.org.person.registered.v1",
        "ce_specversion": b"1.0",
        "ce_time": b"2025-06-02T01:30:15.123456Z",
        "ce_subject": b"p-8f2c",
        "ce_dataschema": b"urn:civicgrid:schema:cn.civicgrid.org.person.registered.v1",
        "ce_partitionkey": COMMUNITY.encode(),
        "ce_correlationid": b"corr-1",
        "ce_causationid": b"cause-1",
        "content-type": b"application/json",
    }
    assert record.key == COMMUNITY.encode()
    assert json.loads(record.value) == event.data


def test_null_optional_attributes_are_left_out_of_the_headers() -> None:
    event = new_event(example_payloads()["cn.civicgrid.org.grid.defined.v1"], source="/civicgrid/org-graph")
    names = [name for name, _ in event.to_kafka().headers]
    assert not {"ce_subject", "ce_correlationid", "ce_causationid"} & set(names)
    assert decode(event.to_kafka()) == event


def test_the_data_travels_as_utf8_json_without_escaping_chinese() -> None:
    record = an_event().to_kafka()
    assert "王某".encode() in record.value


def test_time_is_normalised_to_utc() -> None:
    assert an_event().time == datetime(2025, 6, 2, 1, 30, 15, 123456, tzinfo=UTC)


def test_a_structured_mode_record_from_a_municipal_system_is_accepted() -> None:
    event = new_event(
        example_payloads()["cn.civicgrid.municipal.hotline12345.request.submitted.v1"],
        source="/municipal/12345",
    )
    document = event.model_dump(mode="json", exclude={"dataschema", "datacontenttype"})
    value = json.dumps(document, ensure_ascii=False).encode()
    headers = [("content-type", b"application/cloudevents+json; charset=utf-8")]
    assert CloudEvent.from_kafka(COMMUNITY.encode(), value, headers) == event


def test_a_record_without_ce_partitionkey_takes_it_from_the_record_key() -> None:
    record = an_event().to_kafka()
    headers = [(name, value) for name, value in record.headers if name != "ce_partitionkey"]
    assert CloudEvent.from_kafka(record.key, record.value, headers).partitionkey == COMMUNITY


def test_header_names_are_matched_case_insensitively_and_foreign_headers_are_ignored() -> None:
    record = an_event().to_kafka()
    headers = [(name.upper(), value) for name, value in record.headers] + [("traceparent", b"\xff\xfe")]
    assert CloudEvent.from_kafka(record.key, record.value, headers) == an_event()


def _without(name: str) -> Callable[[KafkaRecord], KafkaRecord]:
    return lambda r: KafkaRecord(r.key, r.value, [(n, v) for n, v in r.headers if n != name])


def _with_header(name: str, value: bytes) -> Callable[[KafkaRecord], KafkaRecord]:
    return lambda r: KafkaRecord(
        r.key, r.value, [(n, v) for n, v in r.headers if n != name] + [(name, value)]
    )


def _with_data(**changes: object) -> Callable[[KafkaRecord], KafkaRecord]:
    return lambda r: KafkaRecord(r.key, json.dumps({**json.loads(r.value), **changes}).encode(), r.headers)


def _with_value(value: bytes) -> Callable[[KafkaRecord], KafkaRecord]:
    return lambda r: KafkaRecord(r.key, value, r.headers)


MALFORMED: dict[str, tuple[Callable[[KafkaRecord], KafkaRecord], str]] = {
    "missing ce_type": (_without("ce_type"), "missing header ce_type"),
    "missing ce_id": (_without("ce_id"), "missing header ce_id"),
    "missing ce_time": (_without("ce_time"), "missing header ce_time"),
    "bad JSON": (_with_value(b'{"community_code": '), "data is not valid JSON"),
    "JSON that is not an object": (_with_value(b"[1, 2]"), "data is not a JSON object"),
    "JSON with NaN": (_with_value(b'{"community_code": NaN}'), "data is not valid JSON"),
    "unknown type": (
        _with_header("ce_type", b"cn.civicgrid.org.thing.happened.v1"),
        "unknown event type 'cn.civicgrid.org.thing.happened.v1'",
    ),
    "wrong specversion": (_with_header("ce_specversion", b"0.3"), "unsupported specversion '0.3'"),
    "non-12-digit community code": (
        lambda r: _with_data(community_code="4201020010")(
            KafkaRecord(b"4201020010", r.value, _with_header("ce_partitionkey", b"4201020010")(r).headers)
        ),
        "data.community_code: community code must be exactly 12 digits",
    ),
    "clear phone number": (_with_data(phone="13812345678"), "data.phone: phone numbers must be masked"),
    "ID-card number in free text": (
        _with_data(display_name="王某 42010219900101123X"),
        "data.display_name: text must not contain a clear phone number or an ID-card number",
    ),
    "key that differs from ce_partitionkey": (
        lambda r: KafkaRecord(b"420102001002", r.value, r.headers),
        "record key does not match ce_partitionkey",
    ),
    "partition key that differs from the community code": (
        lambda r: KafkaRecord(
            b"420102001002", r.value, _with_header("ce_partitionkey", b"420102001002")(r).headers
        ),
        "partitionkey '420102001002' does not match data.community_code '420102001001'",
    ),
    "unsupported content type": (
        _with_header("content-type", b"application/avro"),
        "unsupported content-type",
    ),
    "time without a UTC offset": (_with_header("ce_time", b"2025-06-02T09:30:00"), "invalid envelope: time"),
    "dataschema of another type": (
        _with_header("ce_dataschema", b"urn:civicgrid:schema:cn.civicgrid.org.grid.defined.v1"),
        "invalid envelope: dataschema must be 'urn:civicgrid:schema:cn.civicgrid.org.person.registered.v1'",
    ),
    "duplicate ce_type": (
        lambda r: KafkaRecord(r.key, r.value, [*r.headers, ("ce_type", b"cn.civicgrid.org.grid.defined.v1")]),
        "duplicate header ce_type",
    ),
    "header that is not UTF-8": (_with_header("ce_source", b"\xff"), "header ce_source is not valid UTF-8"),
    "missing required payload field": (
        lambda r: KafkaRecord(r.key, json.dumps({"community_code": COMMUNITY}).encode(), r.headers),
        "data.person_id: Field required",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_record_raises_invalid_event_naming_the_problem(case: str) -> None:
    mutate, reason = MALFORMED[case]
    record = mutate(an_event().to_kafka())
    with pytest.raises(InvalidEvent) as caught:
        CloudEvent.from_kafka(record.key, record.value, record.headers)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_an_unknown_type_is_also_a_key_error_so_consumers_can_tell_it_apart() -> None:
    record = _with_header("ce_type", b"cn.civicgrid.org.thing.happened.v2")(an_event().to_kafka())
    with pytest.raises(UnknownEventType) as caught:
        CloudEvent.from_kafka(record.key, record.value, record.headers)
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.event_type == "cn.civicgrid.org.thing.happened.v2"


def test_a_rejection_never_repeats_the_clear_phone_number() -> None:
    record = _with_data(phone="13812345678")(an_event().to_kafka())
    with pytest.raises(InvalidEvent) as caught:
        CloudEvent.from_kafka(record.key, record.value, record.headers)
    assert "13812345678" not in caught.value.reason
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_record_with_neither_key_nor_partition_key_is_rejected() -> None:
    record = _without("ce_partitionkey")(an_event().to_kafka())
    with pytest.raises(InvalidEvent, match="missing partition key"):
        CloudEvent.from_kafka(None, record.value, record.headers)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda doc: {k: v for k, v in doc.items() if k != "source"}, "missing attribute source"),
        (lambda doc: {**{k: v for k, v in doc.items() if k != "data"}, "data_base64": "e30="}, "data_base64"),
        (lambda doc: {**doc, "data": "text"}, "data is not a JSON object"),
        (lambda doc: {**doc, "datacontenttype": "text/xml"}, "unsupported datacontenttype"),
    ],
)
def test_a_malformed_structured_record_is_rejected(
    change: Callable[[dict[str, object]], object], reason: str
) -> None:
    document = change(an_event().model_dump(mode="json"))
    headers = [("content-type", b"application/cloudevents+json")]
    with pytest.raises(InvalidEvent, match=reason):
        CloudEvent.from_kafka(COMMUNITY.encode(), json.dumps(document).encode(), headers)


def test_a_structured_record_that_is_not_json_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match="structured event is not valid JSON"):
        CloudEvent.from_kafka(None, b"<event/>", [("content-type", b"application/cloudevents+json")])


def test_the_cloud_event_survives_a_json_round_trip_as_the_outbox_stores_it() -> None:
    event = an_event()
    assert CloudEvent.model_validate(json.loads(event.model_dump_json())) == event


def test_a_person_payload_parsed_from_the_record_is_typed() -> None:
    from civicgrid_contracts import parse_payload

    payload = parse_payload(decode(an_event().to_kafka()), PersonRegistered)
    assert payload.phone == "138****5678"
