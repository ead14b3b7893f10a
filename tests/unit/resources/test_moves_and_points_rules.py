"""Moving a request to another grid, who earns points for a resolved request, redeeming points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import redemption_rules, request_award_id
from civicgrid_resources.domain.requests import (
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
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
from civicgrid_runtime.errors import Conflict, IllegalTransition, InvalidInput, RuleViolation

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
SLA = SlaPolicy.default()
COORDINATOR = Actor("coordinator-1")
RESIDENT = Actor("p-res", "p-res")
COMMUNITY = "420106002003"
OLD_GRID = COMMUNITY + "001"
NEW_GRID = COMMUNITY + "002"


def _request() -> ServiceRequest:
    request = ServiceRequest.receive(
        request_id="req-a",
        community_code=COMMUNITY,
        channel="service_hall",
        kind="help",
        category="water",
        urgency=Urgency.ORDINARY,
        summary="漏水",
        now=T0,
        sla=SLA,
        actor=COORDINATOR,
        grid_id=OLD_GRID,
        resident_person_id="p-res",
    )
    request.dispatch(Tier.GRID, [Assignee("res-a", "p-cadre")], Actor(None), T0)
    request.take_events()
    return request


def test_move_is_allowed_exactly_while_the_request_is_open() -> None:
    allowed = {status for status, actions in TRANSITIONS.items() if Action.MOVE in actions}
    assert allowed == set(OPEN_STATUSES)
    assert all(TRANSITIONS[s][Action.MOVE] is Status.DISPATCHED for s in allowed)


def test_a_moved_request_goes_to_the_new_grids_team_at_the_grid_tier_with_a_fresh_deadline() -> None:
    request = _request()
    request.accept("res-a", Actor("p-cadre", "p-cadre"), T0)
    request.take_events()
    later = T0 + timedelta(days=3)

    request.move(NEW_GRID, [Assignee("res-b", "p-other")], COORDINATOR, later, SLA, "楼栋在二网格")

    assert request.grid_id == NEW_GRID
    assert request.status is Status.DISPATCHED
    assert request.tier is Tier.GRID
    assert [a.assignee_id for a in request.assignees] == ["res-b"]
    assert request.accepted_by is None
    assert request.due_at == later + timedelta(days=7)
    entry = request.timeline[-1]
    assert (entry.action, entry.actor_id, entry.assignee_ids) == ("move", "coordinator-1", ["res-b"])
    assert entry.note == f"from grid {OLD_GRID} to grid {NEW_GRID}: 楼栋在二网格"
    events = request.take_events()
    assert [type(e) for e in events] == [ev.RequestMoved, ev.RequestDispatched]
    moved = events[0]
    assert isinstance(moved, ev.RequestMoved)
    assert (moved.from_grid_id, moved.to_grid_id, moved.note) == (OLD_GRID, NEW_GRID, "楼栋在二网格")


def test_moving_an_escalated_request_brings_it_back_to_the_grid_tier() -> None:
    request = _request()
    request.escalate(EscalationReason.BEYOND_AUTHORITY, None, COORDINATOR, T0, SLA)
    assert (request.tier, request.escalations) == (Tier.COMMUNITY, 1)

    request.move(NEW_GRID, [Assignee("grid-" + NEW_GRID)], COORDINATOR, T0, SLA)

    assert (request.tier, request.escalations) == (Tier.GRID, 1), "the escalations so far stay counted"


def test_a_request_moves_only_between_the_grids_of_its_community() -> None:
    request = _request()
    with pytest.raises(RuleViolation) as refused:
        request.move("420106002004001", [Assignee("res-b")], COORDINATOR, T0, SLA)
    assert refused.value.rule == "grid_in_community"
    assert request.grid_id == OLD_GRID


def test_moving_a_request_to_the_grid_it_is_in_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        _request().move(OLD_GRID, [Assignee("res-b")], COORDINATOR, T0, SLA)
    assert refused.value.rule == "grid_differs"


def test_a_resolved_request_cannot_be_moved_and_the_conflict_names_the_allowed_actions() -> None:
    request = _request()
    request.accept("res-a", COORDINATOR, T0)
    request.resolve("修好了", COORDINATOR, T0)
    with pytest.raises(IllegalTransition) as refused:
        request.move(NEW_GRID, [Assignee("res-b")], COORDINATOR, T0, SLA)
    assert refused.value.details["allowed"] == ["evaluate", "reopen"]


def test_a_move_needs_someone_in_the_new_grid() -> None:
    with pytest.raises(InvalidInput):
        _request().move(NEW_GRID, [], COORDINATOR, T0, SLA)


def test_only_people_among_the_assignees_earn_points_and_only_once_resolved() -> None:
    request = _request()
    request.dispatch(Tier.GRID, [Assignee("res-a", "p-cadre"), Assignee("grid-" + OLD_GRID)], COORDINATOR, T0)
    assert request.point_earners() == [], "nothing is earned before the resolution"
    request.accept("res-a", COORDINATOR, T0)
    request.resolve("修好了", COORDINATOR, T0)
    assert request.point_earners() == [Assignee("res-a", "p-cadre")]
    request.evaluate(5, None, RESIDENT, T0)
    assert request.outcome is Outcome.RESOLVED
    assert request.point_earners() == [Assignee("res-a", "p-cadre")], "closed as resolved still counts"


def test_a_request_closed_as_withdrawn_earns_nothing() -> None:
    request = _request()
    request.close(Outcome.WITHDRAWN, None, COORDINATOR, T0)
    assert request.point_earners() == []


def test_a_request_resolved_again_after_reopening_earns_under_a_new_key() -> None:
    request = _request()
    request.accept("res-a", COORDINATOR, T0)
    request.resolve("修好了", COORDINATOR, T0)
    first = request_award_id(request.request_id, "res-a", request.resolution_round())
    request.reopen("还在漏", RESIDENT, T0, SLA)
    request.accept("res-a", COORDINATOR, T0)
    request.resolve("换了阀门", COORDINATOR, T0)
    second = request_award_id(request.request_id, "res-a", request.resolution_round())
    assert first == "req-a.res-a.1"
    assert second == "req-a.res-a.2"


def test_award_keys_are_stable_and_never_longer_than_an_identifier() -> None:
    long_request = "h12345-" + "x" * 40
    key = request_award_id(long_request, "res-" + "y" * 20, 1)
    assert len(key) <= 64
    assert key == request_award_id(long_request, "res-" + "y" * 20, 1)
    assert key != request_award_id(long_request, "res-" + "y" * 20, 2)


def test_a_redemption_takes_points_from_the_balance() -> None:
    assert redemption_rules(10, 4) == 6
    assert redemption_rules(10, 10) == 0


def test_redeeming_more_than_the_balance_is_a_conflict() -> None:
    with pytest.raises(Conflict) as refused:
        redemption_rules(3, 4)
    assert refused.value.details == {"balance": 3, "requested": 4}


@pytest.mark.parametrize("points", [0, -1, 100_001])
def test_a_redemption_is_for_a_positive_number_of_points(points: int) -> None:
    with pytest.raises(InvalidInput):
        redemption_rules(1_000_000, points)


def test_only_the_people_who_handled_a_request_earn_points_not_everyone_it_was_dispatched_to() -> None:
    request = _request()
    team = [
        Assignee("res-cadre", "p-cadre"),
        Assignee("res-police", "p-police"),
        Assignee("res-city", "p-city"),
    ]
    request.dispatch(Tier.GRID, team, COORDINATOR, T0)
    request.accept("res-cadre", Actor("p-cadre", "p-cadre"), T0)
    request.progress("联系了物业", Actor("p-city", "p-city"), T0)
    request.resolve("修好了", Actor("p-cadre", "p-cadre"), T0)
    assert request.point_earners() == [Assignee("res-cadre", "p-cadre"), Assignee("res-city", "p-city")]
