"""Org-graph's appointments to grid posts in resources: the rules (plain domain) and the use cases on
in-memory fakes, fed through the consumer's routes as CloudEvents."""

from __future__ import annotations

from datetime import date, timedelta

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import org
from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.appointments import Appointment, appointee_resource_id
from civicgrid_resources.domain.deployment import ReportInBasis, ReportInStatus, Resource, ResourceKind, Term
from civicgrid_resources.domain.requests import Actor, Status
from civicgrid_resources.domain.teams import Team
from civicgrid_resources.entrypoints.consumers import membership_routes
from civicgrid_resources.service_layer import deployment, requests, teams
from civicgrid_resources.service_layer.context import Context
from tests.unit.resources.fakes import T0, Clock, fake_context
from tests.unit.resources.test_use_cases import COORDINATOR, GRID, member, new_request

COMMUNITY = GRID[:12]
TODAY = T0.date()


def term(membership: str = "m-1", start: date = TODAY, end: date | None = None, **extra: str) -> Term:
    values: dict[str, object] = {
        "membership_id": membership,
        "person_id": "p-worker",
        "community_code": COMMUNITY,
        "grid_id": GRID,
        "post": "grid_worker",
        "start": start,
        "end": end,
        **extra,
    }
    return Term(**values)  # type: ignore[arg-type]


def worker(person: str = "p-worker") -> Resource:
    return Resource.appointed(
        appointee_resource_id(COMMUNITY, person),
        COMMUNITY,
        person,
        "王网格员",
        ResourceKind.COMMUNITY_WORKER,
        T0,
    )


def started(
    membership: str = "m-1",
    person: str = "p-worker",
    post: str = "grid_worker",
    grid: str | None = GRID,
    start: date = TODAY,
) -> CloudEvent:
    fact = org.MembershipStarted(
        community_code=COMMUNITY,
        membership_id=membership,
        person_id=person,
        post=post,
        org_id="org-rc",
        grid_id=grid,
        place_code=COMMUNITY,
        start_date=start,
        basis="appointment",
        basis_reference="居委会决定2026-1号",
        cross_appointment=False,
    )
    return new_event(fact, source="/civicgrid/org-graph", subject=membership)


def ended(membership: str = "m-1", end: date = TODAY) -> CloudEvent:
    fact = org.MembershipEnded(
        community_code=COMMUNITY, membership_id=membership, end_date=end, reason="resigned"
    )
    return new_event(fact, source="/civicgrid/org-graph", subject=membership)


async def deliver(ctx: Context, event: CloudEvent) -> None:
    handler = membership_routes(ctx).handler_for(event.type)
    assert handler is not None
    await handler(event)


# -- the rules ----------------------------------------------------------------------------------------


def test_a_membership_is_a_grid_term_only_once_its_start_names_a_grid() -> None:
    ended_first = Appointment("m-1").ended(TODAY)
    assert ended_first.grid_term() is None
    building_head = Appointment("m-2").started("p", COMMUNITY, None, "building_head", TODAY)
    assert building_head.grid_term() is None
    start = TODAY - timedelta(days=30)
    grid_worker = ended_first.started("p", COMMUNITY, GRID, "grid_worker", start)
    assert grid_worker.grid_term() == Term("m-1", "p", COMMUNITY, GRID, "grid_worker", start, TODAY)


def test_a_term_serves_from_its_first_to_its_last_day_inclusive() -> None:
    t = term(start=TODAY + timedelta(days=1), end=TODAY + timedelta(days=3))
    assert [t.serves_on(TODAY + timedelta(days=d)) for d in range(5)] == [False, True, True, True, False]
    assert not t.over_by(TODAY + timedelta(days=3))
    assert t.over_by(TODAY + timedelta(days=4))


def test_an_appointed_person_is_a_confirmed_community_worker_by_appointment() -> None:
    resource = worker()
    assert (resource.kind, resource.basis, resource.status) == (
        ResourceKind.COMMUNITY_WORKER,
        ReportInBasis.APPOINTMENT,
        ReportInStatus.CONFIRMED,
    )
    assert resource.resource_id == appointee_resource_id(COMMUNITY, "p-worker")
    assert not any(ch.isdigit() for ch in resource.resource_id)


def test_a_term_gives_its_resource_one_period_in_the_grid_and_its_end_moves_it_once() -> None:
    resource = worker()
    resource.take_events()
    assert resource.hold_post(term(), TODAY)
    assert not resource.hold_post(term(), TODAY)
    assert resource.hold_post(term(end=TODAY + timedelta(days=5)), TODAY)
    assert not resource.hold_post(term(end=TODAY + timedelta(days=5)), TODAY)
    assert [type(e) for e in resource.take_events()] == [ev.ResourceJoinedGrid, ev.ResourceLeftGrid]
    assert resource.grids[0].period_end == TODAY + timedelta(days=5)


def test_a_seat_is_added_once_and_follows_the_term_to_its_end() -> None:
    team = Team.form(GRID, "一网格", None, None, T0)
    team.take_events()
    resource = worker()
    assert team.seat(resource, term(), TODAY, T0)
    assert not team.seat(resource, term(), TODAY, T0)
    assert team.seat(resource, term(end=TODAY), TODAY, T0)
    assert [type(e) for e in team.take_events()] == [ev.TeamMemberAdded]
    assert [m.resource_id for m in team.serving(TODAY)] == [resource.resource_id]
    assert team.serving(TODAY + timedelta(days=1)) == []


def test_a_term_over_before_it_arrives_seats_nobody() -> None:
    team = Team.form(GRID, "一网格", None, None, T0)
    team.take_events()
    resource = worker()
    over = term(start=TODAY - timedelta(days=60), end=TODAY - timedelta(days=1))
    assert not team.seat(resource, over, TODAY, T0)
    assert not resource.hold_post(over, TODAY)
    assert team.members == []
    assert team.take_events() == []


def test_an_older_term_replayed_late_does_not_replace_the_seat_of_a_later_one() -> None:
    team = Team.form(GRID, "一网格", None, None, T0)
    resource = worker()
    later = term("m-2", start=TODAY - timedelta(days=10))
    team.seat(resource, later, TODAY, T0)
    older = term("m-1", start=TODAY - timedelta(days=400))
    assert not team.seat(resource, older, TODAY, T0)
    assert not team.seat(resource, term("m-1", start=older.start, end=TODAY - timedelta(days=11)), TODAY, T0)
    assert team.members[0].membership_id == "m-2"
    assert team.serving(TODAY) == team.members


def test_a_future_term_seats_its_holder_who_serves_from_the_first_day() -> None:
    team = Team.form(GRID, "一网格", None, None, T0)
    future = term(start=TODAY + timedelta(days=7))
    assert team.seat(worker(), future, TODAY, T0)
    assert team.serving(TODAY) == []
    assert len(team.serving(TODAY + timedelta(days=7))) == 1


# -- the use cases, through the consumer's routes -------------------------------------------------------


async def test_an_appointed_grid_worker_joins_the_grid_team_formed_for_them_and_gets_the_grids_requests() -> (
    None
):
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    await deliver(ctx, started())
    resource_id = appointee_resource_id(COMMUNITY, "p-worker")
    team = await uow.teams.get(f"team-{GRID}")
    assert [(m.resource_id, m.person_id, m.role) for m in team.members] == [
        (resource_id, "p-worker", "grid_worker")
    ]
    assert team.name == "网格001服务团队"
    assert [type(e) for e in uow.events()] == [
        ev.ResourceReportedIn,
        ev.ResourceReportInConfirmed,
        ev.ResourceJoinedGrid,
        ev.TeamFormed,
        ev.TeamMemberAdded,
    ]
    causes = {cause.causation_id for _, cause in uow.published if cause is not None}
    assert len(causes) == 1
    request = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("coord"))).request
    assert [(a.assignee_id, a.person_id) for a in request.assignees] == [(resource_id, "p-worker")]
    await requests.accept(ctx, request.request_id, member("p-worker"), None, None)
    assert (await uow.requests.get(request.request_id)).status is Status.IN_PROGRESS


def registered(person: str = "p-worker", name: str = "王网格员") -> CloudEvent:
    fact = org.PersonRegistered(
        community_code=COMMUNITY, person_id=person, display_name=name, party_member=False, phone="138****5678"
    )
    return new_event(fact, source="/civicgrid/org-graph", subject=person)


async def test_the_appointees_resource_and_seat_bear_the_name_org_graph_registered_them_under() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    await deliver(ctx, registered())
    await deliver(ctx, started())
    resource = await uow.resources.get(appointee_resource_id(COMMUNITY, "p-worker"))
    assert resource.display_name == "王网格员"
    assert (await uow.teams.get(f"team-{GRID}")).members[0].display_name == "王网格员"
    unnamed = started("m-2", person="p-unregistered")
    await deliver(ctx, unnamed)
    other = await uow.resources.get(appointee_resource_id(COMMUNITY, "p-unregistered"))
    assert other.display_name == "p-unregistered", "a person not registered (yet) is shown by their id"


async def test_a_fact_delivered_twice_changes_nothing_the_second_time() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    fact = started()
    await deliver(ctx, fact)
    published = len(uow.published)
    await deliver(ctx, fact)
    await deliver(ctx, started())  # the same term published again under another event id
    assert len(uow.published) == published
    assert len((await uow.teams.get(f"team-{GRID}")).members) == 1


async def test_an_ended_term_leaves_the_team_after_its_last_day() -> None:
    clock = Clock()
    ctx, uow, places = fake_context(clock)
    places.add_grid(GRID)
    await deliver(ctx, started(start=TODAY - timedelta(days=30)))
    await deliver(ctx, ended(end=TODAY))
    resource_id = appointee_resource_id(COMMUNITY, "p-worker")
    on_last_day = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("c"))).request
    assert [a.assignee_id for a in on_last_day.assignees] == [resource_id]
    clock.now = T0 + timedelta(days=1)
    after = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("c"))).request
    assert [a.assignee_id for a in after.assignees] == [f"grid-{GRID}"]
    assert len(uow.events(ev.ResourceLeftGrid)) == 1
    assert (await uow.resources.get(resource_id)).current_grid_ids() == []


async def test_an_end_arriving_before_its_start_keeps_the_holder_out_of_the_team() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    await deliver(ctx, ended(end=TODAY - timedelta(days=1)))
    await deliver(ctx, started(start=TODAY - timedelta(days=90)))
    assert await uow.teams.find(f"team-{GRID}") is None
    assert await uow.resources.find(appointee_resource_id(COMMUNITY, "p-worker")) is None
    assert uow.published == []
    request = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("c"))).request
    assert [a.assignee_id for a in request.assignees] == [f"grid-{GRID}"]


async def test_an_end_arriving_before_a_start_that_is_still_serving_seats_them_until_that_end() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    await deliver(ctx, ended(end=TODAY + timedelta(days=2)))
    await deliver(ctx, started(start=TODAY - timedelta(days=90)))
    seat = (await uow.teams.get(f"team-{GRID}")).members[0]
    assert (seat.period_start, seat.period_end) == (TODAY - timedelta(days=90), TODAY + timedelta(days=2))


async def test_a_post_that_is_not_a_grid_post_changes_nothing_here() -> None:
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    await deliver(ctx, started(post="building_head", grid=None))
    await deliver(ctx, ended())
    assert uow.published == []
    assert uow.teams.items == {}


async def test_a_future_appointment_is_dispatched_requests_from_its_first_day() -> None:
    clock = Clock()
    ctx, _, places = fake_context(clock)
    places.add_grid(GRID)
    await deliver(ctx, started(start=TODAY + timedelta(days=3)))
    before = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("c"))).request
    assert [a.assignee_id for a in before.assignees] == [f"grid-{GRID}"]
    clock.now = T0 + timedelta(days=3)
    first_day = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("c"))).request
    assert [a.person_id for a in first_day.assignees] == ["p-worker"]


async def test_an_appointee_joins_a_hand_formed_team_beside_its_members_and_only_handlers_earn_points() -> (
    None
):
    ctx, uow, places = fake_context()
    places.add_grid(GRID)
    cadre = await deployment.report_in(
        ctx,
        COORDINATOR,
        deployment.ReportIn(
            community_code=COMMUNITY,
            kind=ResourceKind.SUNK_DOWN_CADRE,
            display_name="下沉干部",
            person_id="p-cadre",
        ),
    )
    await deployment.confirm(ctx, COORDINATOR, cadre["id"])
    await deployment.join_grid(ctx, COORDINATOR, cadre["id"], GRID, "cadre", date(2026, 1, 1), None)
    await teams.form_team(ctx, COORDINATOR, GRID, "一网格", None, None)
    await teams.add_member(ctx, COORDINATOR, f"team-{GRID}", cadre["id"], None)
    await deliver(ctx, started())
    worker_id = appointee_resource_id(COMMUNITY, "p-worker")
    assert len(uow.events(ev.TeamFormed)) == 1
    request = (
        await requests.receive(ctx, new_request(grid_id=GRID, resident_person_id="p-res"), Actor("c"))
    ).request
    assert [a.assignee_id for a in request.assignees] == [cadre["id"], worker_id]
    await requests.accept(ctx, request.request_id, member("p-worker"), None, None)
    await requests.resolve(ctx, request.request_id, member("p-worker"), "已修好", None)
    assert await uow.points.balance(worker_id) == 2
    assert await uow.points.balance(cadre["id"]) == 0


async def test_a_person_reported_in_by_hand_and_appointed_is_dispatched_once() -> None:
    ctx, _, places = fake_context()
    places.add_grid(GRID)
    own = await deployment.report_in(
        ctx,
        COORDINATOR,
        deployment.ReportIn(
            community_code=COMMUNITY, kind=ResourceKind.VOLUNTEER, display_name="王", person_id="p-worker"
        ),
    )
    await deployment.confirm(ctx, COORDINATOR, own["id"])
    await deployment.join_grid(ctx, COORDINATOR, own["id"], GRID, "volunteer", date(2026, 1, 1), None)
    await teams.form_team(ctx, COORDINATOR, GRID, "一网格", None, None)
    await teams.add_member(ctx, COORDINATOR, f"team-{GRID}", own["id"], None)
    await deliver(ctx, started())
    request = (await requests.receive(ctx, new_request(grid_id=GRID), Actor("c"))).request
    assert [a.assignee_id for a in request.assignees] == [own["id"]]
