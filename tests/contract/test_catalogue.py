"""The catalogue: names, topics and owners as data; building and reading events through it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from civicgrid_contracts import (
    CloudEvent,
    EventPayload,
    EventSpec,
    InvalidEvent,
    UnknownEventType,
    __version__,
    all_specs,
    all_topics,
    dead_letter_topic,
    new_event,
    parse_payload,
    spec_for,
    topic_for,
)
from civicgrid_contracts.cli import CONTRACTS_DIR
from civicgrid_contracts.events import GridDefined, MembershipStarted, RequestEscalated
from civicgrid_contracts.examples import COMMUNITY, GRID, example_payloads

TYPE_NAME = re.compile(r"^cn\.civicgrid\.[a-z0-9_.]+\.v[0-9]+$")
IRREGULAR_PAST_TENSES = {"left", "sent", "held", "made", "built", "paid", "withdrawn"}
SPECS = all_specs()


def is_past_tense(fact: str) -> bool:
    return any(word.endswith("ed") or word in IRREGULAR_PAST_TENSES for word in fact.split("_"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.type)
def test_every_event_type_is_a_versioned_past_tense_fact(spec: EventSpec) -> None:
    assert TYPE_NAME.match(spec.type)
    fact = spec.type.split(".")[-2]
    assert is_past_tense(fact), f"{fact!r} is not a past-tense fact"
    assert spec.payload_model.event_type == spec.type


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.type)
def test_every_event_type_has_a_topic_in_the_catalogue_that_is_not_a_dead_letter_topic(
    spec: EventSpec,
) -> None:
    topics = {topic.name: topic for topic in all_topics()}
    assert spec.topic in topics
    assert topics[spec.topic].dead_letter_of is None
    assert topic_for(spec.type) == spec.topic


def test_municipal_types_and_only_they_travel_on_municipal_topics() -> None:
    for spec in SPECS:
        municipal_type = spec.type.startswith("cn.civicgrid.municipal.")
        assert municipal_type == spec.topic.startswith("municipal."), spec.type


def test_internal_types_name_the_area_of_the_owner_of_their_topic() -> None:
    owners = {topic.name: topic.owner for topic in all_topics()}
    areas = {
        "org-graph": "org",
        "resources": "resources",
        "notifications": "notifications",
        "deliberation": "deliberation",
        "municipal": "municipal",
    }
    for spec in SPECS:
        assert spec.type.split(".")[2] == areas[owners[spec.topic]], spec.type


def test_the_catalogue_lists_the_agreed_topics_each_with_its_dead_letter_topic() -> None:
    main = {topic.name for topic in all_topics() if topic.dead_letter_of is None}
    assert main == {
        "civicgrid.org.places.v1",
        "civicgrid.org.organisations.v1",
        "civicgrid.org.memberships.v1",
        "civicgrid.org.households.v1",
        "civicgrid.resources.deployment.v1",
        "civicgrid.resources.requests.v1",
        "civicgrid.deliberation.v1",
        "civicgrid.notifications.delivery.v1",
        "municipal.hotline12345.requests.v1",
        "municipal.statistics.population.v1",
    }
    dead = {topic.name: topic.dead_letter_of for topic in all_topics() if topic.dead_letter_of is not None}
    assert dead == {dead_letter_topic(name): name for name in main}
    assert all(name.endswith(".dlq") for name in dead)


def test_every_topic_is_keyed_by_community_code_and_every_main_topic_carries_events() -> None:
    used = {spec.topic for spec in SPECS}
    for topic in all_topics():
        assert topic.key == "community code"
        assert topic.partitions >= 1
        assert topic.dead_letter_of is not None or topic.name in used, topic.name


def test_names_are_unique() -> None:
    assert len({t.name for t in all_topics()}) == len(all_topics())
    assert len({s.type for s in SPECS}) == len({s.payload_model for s in SPECS}) == len(SPECS)


def test_every_payload_requires_a_community_code() -> None:
    for spec in SPECS:
        schema = spec.payload_model.model_json_schema()
        assert "community_code" in schema["required"], spec.type


def test_every_spec_has_a_description() -> None:
    assert all(spec.description and "\n" not in spec.description for spec in SPECS)


def test_spec_for_an_unknown_type_raises_a_key_error_like_unknown_event_type() -> None:
    with pytest.raises(KeyError):
        spec_for("cn.civicgrid.org.thing.happened.v1")
    with pytest.raises(UnknownEventType, match="unknown event type 'nope'"):
        topic_for("nope")


def test_new_event_derives_type_partition_key_dataschema_and_data_from_the_payload() -> None:
    payload = example_payloads()["cn.civicgrid.org.membership.started.v1"]
    when = datetime(2025, 3, 1, 8, tzinfo=UTC)
    event = new_event(
        payload,
        source="/civicgrid/org-graph",
        subject="m-51",
        correlation_id="c-1",
        causation_id="e-0",
        event_id="e-1",
        time=when,
    )
    assert (event.type, event.partitionkey, event.id, event.time) == (
        payload.event_type,
        COMMUNITY,
        "e-1",
        when,
    )
    assert event.dataschema == "urn:civicgrid:schema:cn.civicgrid.org.membership.started.v1"
    assert (event.subject, event.correlationid, event.causationid) == ("m-51", "c-1", "e-0")
    assert event.data == payload.model_dump(mode="json")
    assert event.data["start_date"] == "2025-03-01"


def test_new_event_gives_a_fresh_uuid_and_the_current_utc_time_by_default() -> None:
    payload = example_payloads()["cn.civicgrid.org.grid.defined.v1"]
    first, second = (new_event(payload, source="/civicgrid/org-graph") for _ in range(2))
    assert first.id != second.id
    assert re.fullmatch(r"[0-9a-f-]{36}", first.id)
    assert first.time.tzinfo is UTC
    assert abs((datetime.now(UTC) - first.time).total_seconds()) < 60


def test_parse_payload_returns_the_typed_model_and_checks_the_expected_class() -> None:
    event = new_event(example_payloads()["cn.civicgrid.org.grid.defined.v1"], source="/civicgrid/org-graph")
    payload = parse_payload(event, GridDefined)
    assert payload.grid_id == GRID
    assert isinstance(parse_payload(event), GridDefined)
    with pytest.raises(InvalidEvent, match=re.escape("expected 'cn.civicgrid.org.membership.started.v1'")):
        parse_payload(event, MembershipStarted)


def test_parse_payload_summarises_what_is_wrong_with_the_data() -> None:
    event = new_event(example_payloads()["cn.civicgrid.org.grid.defined.v1"], source="/civicgrid/org-graph")
    broken = event.model_copy(update={"data": {**event.data, "grid_id": "42010200100", "name": ""}})
    with pytest.raises(InvalidEvent) as caught:
        parse_payload(broken)
    assert caught.value.reason.startswith(
        "invalid data for cn.civicgrid.org.grid.defined.v1: data.grid_id: grid id"
    )
    assert "data.name:" in caught.value.reason


def test_payloads_ignore_unknown_fields_so_older_consumers_keep_working() -> None:
    data = {
        **example_payloads()["cn.civicgrid.org.grid.defined.v1"].model_dump(mode="json"),
        "added_later": 1,
    }
    event = CloudEvent(
        source="/civicgrid/org-graph", type=GridDefined.event_type, partitionkey=COMMUNITY, data=data
    )
    assert parse_payload(event, GridDefined).name == "第三网格"


def test_payloads_are_immutable_facts() -> None:
    payload = GridDefined(community_code=COMMUNITY, grid_id=GRID, name="第三网格")
    with pytest.raises(ValidationError, match="frozen"):
        payload.name = "renamed"  # type: ignore[misc]


def test_a_payload_class_outside_the_catalogue_cannot_become_an_event() -> None:
    class Stray(EventPayload):
        event_type = "cn.civicgrid.test.stray.happened.v1"

    with pytest.raises(UnknownEventType):
        new_event(Stray(community_code=COMMUNITY), source="/tests")


def test_a_payload_class_must_declare_a_well_formed_event_type() -> None:
    with pytest.raises(TypeError, match="event_type"):

        class Badly(EventPayload):
            event_type = "MembershipStarted"


def test_a_grid_must_lie_in_the_community_of_the_event() -> None:
    with pytest.raises(ValidationError, match="grid_id must start with the community code"):
        GridDefined(community_code=COMMUNITY, grid_id="420102001002003", name="elsewhere")


def test_an_escalation_only_goes_up_the_tiers() -> None:
    with pytest.raises(ValidationError, match="to_tier must be above from_tier"):
        RequestEscalated(
            community_code=COMMUNITY, request_id="q-1", from_tier="street", to_tier="grid", reason="declined"
        )


def test_a_membership_term_cannot_end_before_it_starts() -> None:
    data = example_payloads()["cn.civicgrid.org.membership.started.v1"].model_dump()
    with pytest.raises(ValidationError, match="term_end_date must not be before start_date"):
        MembershipStarted.model_validate({**data, "term_end_date": date(2020, 1, 1)})


def test_the_package_version_is_the_one_in_its_pyproject() -> None:
    pyproject = tomllib.loads((CONTRACTS_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == __version__
    assert pyproject["project"]["dependencies"] == ["pydantic"]


def test_the_package_imports_nothing_but_pydantic_and_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"pydantic", "pydantic_core", "civicgrid_contracts"}
    found: dict[str, set[str]] = {}
    for path in sorted(Path(CONTRACTS_DIR, "civicgrid_contracts").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            if roots - allowed:
                found.setdefault(path.name, set()).update(roots - allowed)
    assert found == {}


def test_the_contracts_doc_lists_every_topic_and_event_type() -> None:
    doc = (CONTRACTS_DIR.parent / "docs" / "contracts.md").read_text(encoding="utf-8")
    missing = [t.name for t in all_topics() if t.dead_letter_of is None and f"`{t.name}`" not in doc]
    missing += [s.type for s in SPECS if f"`{s.type.removeprefix('cn.civicgrid.')}`" not in doc]
    assert missing == []
