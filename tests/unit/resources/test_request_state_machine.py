"""The request aggregate's rules, without servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.requests import (
    TRANSITIONS,
    Actor,
    Assignee,
    EscalationReason,
    Outcome,
    ServiceRequest,
    SlaPolicy,
    Status,
    Tier,
    Urgency,
)
from civicgrid_runtime.errors import IllegalTransition, InvalidInput, PermissionDenied, RuleViolation

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
SLA = SlaPolicy.default()
COORDINATOR = Actor("coordinator-1")
RESIDENT = Actor("p-res", "p-res")


def _request(urgency: Urgency = Urgency.ORDINARY) -> ServiceRequest:
    request = ServiceRequest.receive(
        request_id="req-a",
        community_code="420106002003",
        channel="service_hall",
        kind="help",
        category="water",
        urgency=urgency,
        summary="漏水",
        now=T0,
        sla=SLA,
        actor=COORDINATOR,
        grid_id="420106002003001",
        resident_person_id="p-res",
    )
    request.dispatch(Tier.GRID, [Assignee("res-a", "p-cadre")], Actor(None), T0)
    return request


@pytest.mark.parametrize(
    ("urgency", "limit"),
    [
        (Urgency.EMERGENCY, timedelta(hours=2)),
        (Urgency.UTILITIES, timedelta(hours=24)),
        (Urgency.ORDINARY, timedelta(days=7)),
        (Urgency.COMPLEX, timedelta(days=15)),
    ],
)
def test_urgency_sets_the_default_deadline(urgency: Urgency, limit: timedelta) -> None:
    assert _request(urgency).due_at == T0 + limit


def test_every_status_has_its_transitions_and_a_closed_request_can_only_be_reopened() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert TRANSITIONS[Status.CLOSED] == {a: Status.DISPATCHED for a in TRANSITIONS[Status.CLOSED]}


def test_evaluating_a_request_that_is_not_resolved_is_an_illegal_transition() -> None:
    request = _request()
    with pytest.raises(IllegalTransition) as raised:
        request.evaluate(5, None, RESIDENT, T0)
    assert raised.value.details["allowed"] == ["dispatch", "escalate", "decline", "move", "accept", "close"]


def test_the_full_loop_records_every_step_and_event() -> None:
    request = _request()
    request.accept("res-a", Actor("p-cadre", "p-cadre"), T0 + timedelta(minutes=5))
    request.progress("到场", Actor("p-cadre", "p-cadre"), T0 + timedelta(minutes=30))
    request.resolve("已修复", Actor("p-cadre", "p-cadre"), T0 + timedelta(hours=2))
    request.evaluate(5, "好", RESIDENT, T0 + timedelta(hours=3))
    assert request.status is Status.CLOSED
    assert request.first_response_at == T0 + timedelta(minutes=5)
    assert [t.action for t in request.timeline] == [
        "receive",
        "dispatch",
        "accept",
        "progress",
        "resolve",
        "evaluate",
    ]
    assert [type(e).__name__ for e in request.take_events()] == [
        "RequestReceived",
        "RequestDispatched",
        "RequestAccepted",
        "RequestProgressed",
        "RequestResolved",
        "RequestEvaluated",
        "RequestClosed",
    ]


def test_only_an_assignee_can_accept() -> None:
    with pytest.raises(InvalidInput):
        _request().accept("res-stranger", COORDINATOR, T0)


def test_escalation_climbs_one_tier_at_a_time_and_stops_at_the_department() -> None:
    request = _request()
    tiers = []
    for _ in range(3):
        request.escalate(EscalationReason.BEYOND_AUTHORITY, None, COORDINATOR, T0, SLA)
        tiers.append(request.tier)
    assert tiers == [Tier.COMMUNITY, Tier.STREET, Tier.DEPARTMENT]
    assert request.assignees[0].assignee_id == "department-water"
    with pytest.raises(RuleViolation):
        request.escalate(EscalationReason.BEYOND_AUTHORITY, None, COORDINATOR, T0, SLA)


def test_the_deadline_escalates_once_per_deadline_and_gives_the_next_tier_a_fresh_one() -> None:
    request = _request(Urgency.EMERGENCY)
    assert not request.escalate_overdue(T0 + timedelta(hours=1), SLA)
    late = T0 + timedelta(hours=2, seconds=1)
    assert request.escalate_overdue(late, SLA)
    assert (request.tier, request.due_at) == (Tier.COMMUNITY, late + timedelta(hours=2))
    assert not request.escalate_overdue(late, SLA)
    escalated = [e for e in request.take_events() if isinstance(e, ev.RequestEscalated)]
    assert [(e.from_tier, e.to_tier, e.reason, e.actor_id) for e in escalated] == [
        ("grid", "community", "deadline_passed", None)
    ]


def test_an_overdue_request_at_the_department_is_marked_and_no_longer_swept() -> None:
    request = _request(Urgency.EMERGENCY)
    for _ in range(3):
        request.escalate(EscalationReason.BEYOND_AUTHORITY, None, COORDINATOR, T0, SLA)
    late = T0 + timedelta(hours=3)
    assert request.escalate_overdue(late, SLA)
    assert request.sla_exhausted
    assert not request.overdue(late)


def test_only_the_resident_evaluates_and_a_rating_is_one_to_five() -> None:
    request = _request()
    request.accept("res-a", COORDINATOR, T0)
    request.resolve("ok", COORDINATOR, T0)
    with pytest.raises(PermissionDenied):
        request.evaluate(5, None, Actor("p-other", "p-other"), T0)
    with pytest.raises(InvalidInput):
        request.evaluate(6, None, RESIDENT, T0)


def test_reopening_sends_the_request_back_to_its_tier_with_a_new_deadline() -> None:
    request = _request()
    request.accept("res-a", COORDINATOR, T0)
    request.resolve("ok", COORDINATOR, T0)
    later = T0 + timedelta(days=1)
    request.reopen("仍漏水", RESIDENT, later, SLA)
    assert (request.status, request.tier, request.reopen_count) == (Status.DISPATCHED, Tier.GRID, 1)
    assert request.due_at == later + timedelta(days=7)
    assert request.resolved_at is None


def test_a_request_closed_as_a_duplicate_cannot_be_reopened() -> None:
    request = _request()
    request.close(Outcome.DUPLICATE, None, COORDINATOR, T0)
    with pytest.raises(RuleViolation):
        request.reopen("x", RESIDENT, T0, SLA)


def test_a_grid_outside_the_community_is_refused() -> None:
    with pytest.raises(InvalidInput):
        ServiceRequest.receive(
            request_id="r",
            community_code="420106002003",
            channel="api",
            kind="help",
            category="c",
            urgency=Urgency.ORDINARY,
            summary="s",
            now=T0,
            sla=SLA,
            actor=COORDINATOR,
            grid_id="420106002004001",
        )
