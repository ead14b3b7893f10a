"""The AsyncAPI 3.0 document describes every topic, message, header and key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from civicgrid_contracts import all_specs, all_topics, spec_for
from civicgrid_contracts.asyncapi import asyncapi_document
from civicgrid_contracts.cli import CONTRACTS_DIR
from civicgrid_contracts.envelope import KAFKA_HEADERS

DOCUMENT = asyncapi_document()


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs(item)]
    return []


def resolve(ref: str) -> Any:
    target: Any = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def test_the_document_is_asyncapi_3_0_0_and_is_the_committed_one() -> None:
    assert DOCUMENT["asyncapi"] == "3.0.0"
    assert json.loads((CONTRACTS_DIR / "asyncapi.json").read_text(encoding="utf-8")) == DOCUMENT


def test_there_is_a_channel_for_every_topic_at_its_address() -> None:
    channels = DOCUMENT["channels"]
    assert set(channels) == {topic.name for topic in all_topics()}
    for topic in all_topics():
        channel = channels[topic.name]
        assert channel["address"] == topic.name
        assert channel["bindings"]["kafka"]["topic"] == topic.name
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions


def test_each_channel_lists_exactly_the_messages_of_its_event_types() -> None:
    for topic in all_topics():
        expected = {spec.type for spec in all_specs() if spec.topic == topic.name} or {"DeadLetter"}
        assert set(DOCUMENT["channels"][topic.name]["messages"]) == expected, topic.name


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.type)
def test_each_message_has_its_payload_schema_the_ce_headers_and_the_community_code_key(spec: Any) -> None:
    message = DOCUMENT["components"]["messages"][spec.type]
    payload = resolve(message["payload"]["$ref"])
    assert payload["title"] == spec.payload_model.__name__
    assert "community_code" in payload["required"]
    common, specific = message["headers"]["allOf"]
    headers = resolve(common["$ref"])
    assert set(headers["properties"]) == set(KAFKA_HEADERS)
    assert {"ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time"} <= set(headers["required"])
    assert specific["properties"]["ce_type"] == {"const": spec.type}
    assert message["bindings"]["kafka"]["key"]["pattern"] == "^[0-9]{12}$"


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.type)
def test_each_message_example_is_a_valid_payload_of_its_type(spec: Any) -> None:
    (example,) = DOCUMENT["components"]["messages"][spec.type]["examples"]
    assert spec_for(spec.type).payload_model.model_validate(example["payload"]).event_type == spec.type


def test_each_main_topic_has_an_operation_sending_or_receiving_its_messages() -> None:
    operations = DOCUMENT["operations"]
    for topic in all_topics():
        if topic.dead_letter_of is not None:
            continue
        action = "receive" if topic.owner == "municipal" else "send"
        operation = operations[f"{action}.{topic.name}"]
        assert operation["action"] == action
        assert operation["channel"] == {"$ref": f"#/channels/{topic.name}"}
        assert len(operation["messages"]) == len(DOCUMENT["channels"][topic.name]["messages"])


def test_dead_letter_messages_describe_the_error_headers() -> None:
    message = DOCUMENT["components"]["messages"]["DeadLetter"]
    headers = resolve(message["headers"]["$ref"])
    assert {"x-dlq-reason", "x-dlq-original-topic", "x-dlq-attempts"} <= set(headers["required"])


def test_every_reference_in_the_document_resolves() -> None:
    unresolved = []
    for ref in set(refs(DOCUMENT)):
        try:
            resolve(ref)
        except KeyError:
            unresolved.append(ref)
    assert unresolved == []
