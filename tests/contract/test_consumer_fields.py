"""Who reads which field: the declared table of consumers checked against the catalogue and the routes."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, cast

import pytest

from civicgrid_contracts.catalogue import EventSpec, all_specs
from civicgrid_contracts.consumers import (
    CONSUMED_FIELDS,
    CONSUMERS,
    NOTIFICATIONS_FACTS,
    RESOURCES_HOTLINE,
    RESOURCES_PLACES,
    consumers_of,
    types_consumed_by,
)
from civicgrid_deliberation.entrypoints import consumers as deliberation_consumers
from civicgrid_notifications.domain.rules import load_default_rulebook
from civicgrid_notifications.entrypoints import consumers as notifications_consumers
from civicgrid_notifications.service_layer.notify import _SUBJECT_FIELDS
from civicgrid_orggraph.entrypoints import consumers as orggraph_consumers
from civicgrid_resources.entrypoints import consumers as resources_consumers
from civicgrid_runtime.kafka import EventRoutes

SPECS = all_specs()
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def payload_fields(spec: EventSpec) -> set[str]:
    """The fields of a payload, by its model and by its JSON Schema (they must agree)."""
    by_model = set(spec.payload_model.model_fields)
    by_schema = set(spec.payload_model.model_json_schema()["properties"])
    assert by_model == by_schema, spec.type
    return by_model


def taken_types(routes: EventRoutes, *refusing: object) -> frozenset[str]:
    """The types a consumer's routes take, leaving out handlers that only dead-letter (misrouted)."""
    return frozenset(t for t in routes.event_types if routes.handler_for(t) not in refusing)


def resources_context() -> Any:
    """Building the routes touches only the context's inbox (nothing connects)."""
    return SimpleNamespace(inbox=SimpleNamespace(), places=SimpleNamespace(), uow=SimpleNamespace())


def subscribed_routes(monkeypatch: pytest.MonkeyPatch) -> dict[str, EventRoutes]:
    """Every service's ``subscribe`` run against a recorder: the routes each consumer group gets."""
    seen: dict[str, EventRoutes] = {}

    def record(broker: object, *, group_id: str, routes: EventRoutes, **_: object) -> None:
        seen[group_id] = routes

    for module in (resources_consumers, orggraph_consumers, notifications_consumers, deliberation_consumers):
        monkeypatch.setattr(module, "subscribe_events", record)
    nothing = cast(Any, SimpleNamespace())
    topics = cast(Any, SimpleNamespace(name=lambda topic: topic))
    resources_consumers.subscribe(nothing, resources_context(), topics, "resources")
    orggraph_consumers.subscribe(nothing, nothing, "org-graph.population")
    notifications_consumers.subscribe(nothing, nothing, nothing, "notifications.facts")
    deliberation_consumers.subscribe(nothing, nothing, nothing, "deliberation")
    return seen


def routes_by_consumer(monkeypatch: pytest.MonkeyPatch) -> dict[str, frozenset[str]]:
    seen = subscribed_routes(monkeypatch)
    assert set(seen) == set(CONSUMERS), "a consumer group subscribes that the table does not name"
    return {group: taken_types(routes, resources_consumers.misrouted) for group, routes in seen.items()}


def test_every_catalogued_event_type_declares_its_consumers_even_if_none() -> None:
    catalogued = {spec.type for spec in SPECS}
    assert catalogued - set(CONSUMED_FIELDS) == set(), "catalogued types with no consumer entry"
    assert set(CONSUMED_FIELDS) - catalogued == set(), "declared types that the catalogue does not list"


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.type)
def test_every_declared_field_exists_in_the_payload_model_and_its_schema(spec: EventSpec) -> None:
    fields = payload_fields(spec)
    for consumer, used in consumers_of(spec.type).items():
        assert consumer in CONSUMERS, f"{consumer!r} is not a known consumer"
        assert used, f"{consumer} consumes {spec.type} but declares no field"
        assert len(set(used)) == len(used), f"{consumer} lists a field of {spec.type} twice"
        assert set(used) <= fields, f"{consumer} reads {set(used) - fields} absent from {spec.type}"


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_each_consumers_routes_take_exactly_the_types_declared_for_it(
    consumer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    routed = routes_by_consumer(monkeypatch)[consumer]
    declared = types_consumed_by(consumer)
    assert routed - declared == set(), f"{consumer} subscribes to types not declared for it"
    assert declared - routed == set(), f"{consumer} is declared for types its routes do not take"


def test_the_misrouted_types_of_the_hotline_topic_are_all_refused_not_taken() -> None:
    routes = resources_consumers.hotline_routes(resources_context())
    refused = {t for t in routes.event_types if routes.handler_for(t) is resources_consumers.misrouted}
    assert refused == {spec.type for spec in SPECS} - types_consumed_by(RESOURCES_HOTLINE)


def test_the_new_grid_fact_is_read_by_the_places_projection_with_the_grid_it_names() -> None:
    readers = consumers_of("cn.civicgrid.org.grid.building_assigned.v1")
    assert {"building_code", "grid_id"} <= set(readers[RESOURCES_PLACES])


def test_the_hotline_intake_reads_the_tickets_own_time_and_address() -> None:
    used = consumers_of("cn.civicgrid.municipal.hotline12345.request.submitted.v1")[RESOURCES_HOTLINE]
    assert {"received_at", "address"} <= set(used)


def test_the_hotline_intake_never_reads_the_callers_phone() -> None:
    used = consumers_of("cn.civicgrid.municipal.hotline12345.request.submitted.v1")[RESOURCES_HOTLINE]
    assert "caller_phone" not in used


def test_every_payload_field_a_notification_message_shows_is_declared_for_notifications() -> None:
    specs = {spec.type: spec for spec in SPECS}
    for rule in load_default_rulebook().rules:
        text = rule.title + rule.body + (rule.link or "")
        shown = set(PLACEHOLDER.findall(text)) & payload_fields(specs[rule.event_type])
        declared = set(consumers_of(rule.event_type)[NOTIFICATIONS_FACTS])
        assert shown <= declared, f"rule {rule.name} shows {shown - declared} undeclared"


def test_the_fields_that_wake_deferred_notifications_are_declared_where_present() -> None:
    for event_type in types_consumed_by(NOTIFICATIONS_FACTS):
        present = set(_SUBJECT_FIELDS) & payload_fields(_spec(event_type))
        assert present <= set(consumers_of(event_type)[NOTIFICATIONS_FACTS]), event_type


def _spec(event_type: str) -> EventSpec:
    return next(spec for spec in SPECS if spec.type == event_type)
