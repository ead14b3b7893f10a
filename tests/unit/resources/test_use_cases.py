"""Use cases of resources against fakes of their ports: fast, no servers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.common import RequestKind, Urgency
from civicgrid_contracts.events.municipal import HotlineRequestSubmitted
from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import ReportInBasis, ResourceKind
from civicgrid_resources.domain.requests import Actor, Status, Tier
from civicgrid_resources.domain.requests import Urgency as RequestUrgency
from civicgrid_resources.service_layer import deployment, intake, needs, points, requests, sla, teams
from civicgrid_resources.service_layer.ports import Cause
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import Conflict, PermissionDenied, RuleViolation
from tests.unit.resources.fakes import T0, Clock, fake_context

COMMUNITY = "420106002003"
GRID = COMMUNITY + "001"
COORDINATOR = Principal("coord", frozenset({Role.COORDINATOR}), region_code="420106002")


def member(person: str) -> Principal:
    return Principal(f"m-{person}", frozenset({Role.MEMBER}), person_id=person)


def new_request(**extra: object) -> requests.NewRequest:
    fields: dict[str, object] = {
        "community_code": COMMUNITY,
        "channel": "service_hall",
        "kind": "help",
        "category": "repairs",
        "urgency": RequestUrgency.ORDINARY,
        "summary": "门禁损坏",
        **extra,
    }
    return requests.NewRequest(**fields)  # type: ignore[arg-type]


async def _resource_in_grid(ctx, person: str, kind: ResourceKind = ResourceKind.SUNK_DOWN_CADRE) -> str:
    view = await deployment.report_in(
        ctx,
        COORDINATOR,
        deployment.ReportIn(
            community_code=COMMUNITY,
            kind=kind,
            display_name=person,
            basis=ReportInBasis.PAIRED,
            person_id=person,
        ),
    )
    await deployment.confirm(ctx, COORDINATOR, view["id"])
    await deployment.join_grid(ctx, COORDINATOR, view["id"], GRID, "cadre", date(2026, 1, 1), None)
    return str(view["id"])


async def test_a_recorded_request_is_stored_once_with_its_events_and_wakes_the_relay() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    request = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("coord"))).request
    stored = await uow.requests.get(request.request_id)
    assert (stored.status, stored.tier, stored.version) == (Status.DISPATCHED, Tier.GRID, 1)
    assert [type(e) for e in uow.events()] == [ev.RequestReceived, ev.RequestDispatched]
    assert uow.relay_woken == 1


async def test_a_request_goes_to_the_grid_team_found_from_its_building() -> None:
    ctx, _, places = fake_context()
    places.add_grid(GRID, ["B1"])
    cadre = await _resource_in_grid(ctx, "p-cadre")
    await teams.form_team(ctx, COORDINATOR, GRID, "一网格", None, None)
    await teams.add_member(ctx, COORDINATOR, f"team-{GRID}", cadre, None)
    request = (await requests.receive(ctx, new_request(building_code="B1"), Actor("coord"))).request
    assert request.grid_id == GRID
    assert [a.assignee_id for a in request.assignees] == [cadre]


async def test_a_request_of_an_unknown_community_is_refused_and_nothing_is_stored() -> None:
    ctx, uow, _ = fake_context()
    with pytest.raises(RuleViolation) as refused:
        await requests.receive(ctx, new_request(), Actor("coord"))
    assert refused.value.rule == "community_known"
    assert uow.requests.items == {}
    assert uow.published == []


async def test_a_change_made_from_a_stale_version_is_a_conflict_and_changes_nothing() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    request = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("coord"))).request
    await requests.accept(ctx, request.request_id, COORDINATOR, None, None)
    with pytest.raises(Conflict):
        await requests.progress(ctx, request.request_id, COORDINATOR, "在修", version=1)
    assert (await uow.requests.get(request.request_id)).version == 2


async def test_a_member_who_is_not_an_assignee_may_not_accept_a_request() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    request = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("coord"))).request
    with pytest.raises(PermissionDenied):
        await requests.accept(ctx, request.request_id, member("p-stranger"), None, None)
    assert (await uow.requests.get(request.request_id)).status is Status.DISPATCHED


def _hotline_event(ticket: str = "WH1") -> CloudEvent:
    payload = HotlineRequestSubmitted(
        community_code=COMMUNITY,
        ticket_no=ticket,
        received_at=T0 - timedelta(hours=1),
        kind=RequestKind.HELP,
        category="供水",
        urgency=Urgency.ORDINARY,
        address="和平里3栋",
        description="停水",
    )
    return new_event(payload, source="/municipal/12345", correlation_id="conversation-1")


async def test_requests_taken_from_the_hotline_name_the_inbound_event_as_their_cause() -> None:
    ctx, uow, places = fake_context()
    places.communities.add(COMMUNITY)
    event = _hotline_event()
    await intake.take_hotline_request(ctx, event)
    causes = {cause for _, cause in uow.published}
    assert len(uow.published) == 2
    assert causes == {Cause(causation_id=event.id, correlation_id="conversation-1")}


async def test_the_same_ticket_delivered_twice_is_one_request() -> None:
    ctx, uow, places = fake_context()
    places.communities.add(COMMUNITY)
    await intake.take_hotline_request(ctx, _hotline_event("WH2"))
    await intake.take_hotline_request(ctx, _hotline_event("WH2"))
    assert list(uow.requests.items) == ["h12345-WH2"]
    assert len(uow.events(ev.RequestReceived)) == 1


async def test_the_last_slot_of_a_need_goes_to_one_claimant_only() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    first, second = await _resource_in_grid(ctx, "p-a"), await _resource_in_grid(ctx, "p-b")
    need = await needs.publish_need(ctx, COORDINATOR, COMMUNITY, "助餐", None, ["meals"], 1, None)
    taken = await needs.claim(ctx, COORDINATOR, need["id"], first, None)
    assert taken["remaining"] == 0
    with pytest.raises(Conflict, match="no slot left"):
        await needs.claim(ctx, COORDINATOR, need["id"], second, None)
    assert [c.resource_id for c in (await uow.needs.get(need["id"])).claims] == [first]


async def test_a_redemption_beyond_the_balance_is_refused_and_takes_nothing() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    cadre = await _resource_in_grid(ctx, "p-cadre")
    await points.award(ctx, award_id="a1", resource_id=cadre, hours=0.5, reason="助餐", reference_id=None)
    with pytest.raises(Conflict) as refused:
        await points.redeem(ctx, COORDINATOR, cadre, 6, "米", None)
    assert refused.value.details == {"balance": 5, "requested": 6}
    assert await uow.points.balance(cadre) == 5


async def test_resolving_and_then_evaluating_awards_the_handlers_points_once() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    cadre = await _resource_in_grid(ctx, "p-cadre")
    request = (
        await requests.receive(ctx, new_request(grid_id=GRID, resident_person_id="p-res"), Actor("c"))
    ).request
    await requests.dispatch(ctx, request.request_id, COORDINATOR, [cadre], None)
    await requests.accept(ctx, request.request_id, member("p-cadre"), None, None)
    await requests.resolve(ctx, request.request_id, member("p-cadre"), "修好了", None)
    await requests.evaluate(ctx, request.request_id, member("p-res"), 5, None, None)
    assert await uow.points.balance(cadre) == 2
    assert len(uow.events(ev.PointsAwarded)) == 1


async def test_the_sla_clock_escalates_an_overdue_request_once() -> None:
    clock = Clock()
    ctx, uow, places = fake_context(clock)
    places.add_grid(GRID)
    request = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("coord"))).request
    clock.now = T0 + timedelta(days=8)
    assert await sla.sweep_once(ctx) == 1
    assert await sla.sweep_once(ctx) == 0
    stored = await uow.requests.get(request.request_id)
    assert (stored.tier, stored.escalations) == (Tier.COMMUNITY, 1)


async def test_only_a_resource_that_joined_the_grid_joins_its_team() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    outsider = await deployment.report_in(
        ctx,
        COORDINATOR,
        deployment.ReportIn(
            community_code=COMMUNITY, kind=ResourceKind.VOLUNTEER, display_name="志愿者", person_id="p-v"
        ),
    )
    await teams.form_team(ctx, COORDINATOR, GRID, "一网格", None, None)
    with pytest.raises(RuleViolation) as refused:
        await teams.add_member(ctx, COORDINATOR, f"team-{GRID}", outsider["id"], None)
    assert refused.value.rule == "member_in_grid"
    assert (await uow.teams.get(f"team-{GRID}")).members == []


async def test_recording_the_same_request_again_returns_it_and_stores_nothing_more() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    first = await requests.receive(ctx, new_request(grid_id=GRID, request_id="req-same"), Actor("coord"))
    again = await requests.receive(ctx, new_request(grid_id=GRID, request_id="req-same"), Actor("coord"))
    assert (first.created, again.created) == (True, False)
    assert again.request.request_id == "req-same"
    assert len(uow.events(ev.RequestReceived)) == 1


async def test_the_same_request_id_with_other_values_is_a_conflict_naming_the_fields() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    await requests.receive(ctx, new_request(grid_id=GRID, request_id="req-same"), Actor("coord"))
    other = new_request(grid_id=GRID, request_id="req-same", summary="漏水", urgency=RequestUrgency.UTILITIES)
    with pytest.raises(Conflict) as refused:
        await requests.receive(ctx, other, Actor("coord"))
    assert refused.value.details["differing_fields"] == ["urgency", "summary"]
    assert (await uow.requests.get("req-same")).summary == "门禁损坏"


async def test_a_resource_of_another_community_is_refused_by_the_grid_team_naming_the_community_rule() -> (
    None
):
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    places.communities.add("420106087001")
    elsewhere = await deployment.report_in(
        ctx,
        Principal("admin", frozenset({Role.ADMIN})),
        deployment.ReportIn(
            community_code="420106087001",
            kind=ResourceKind.VOLUNTEER,
            display_name="志愿者",
            person_id="p-far",
        ),
    )
    await teams.form_team(ctx, COORDINATOR, GRID, "一网格", None, None)
    with pytest.raises(RuleViolation) as refused:
        await teams.add_member(ctx, COORDINATOR, f"team-{GRID}", elsewhere["id"], None)
    assert refused.value.rule == "member_serves_community"
    assert (await uow.teams.get(f"team-{GRID}")).members == []
