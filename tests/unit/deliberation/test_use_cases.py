"""Use cases against fakes of the ports: authorisation, idempotency, the vote's close path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from civicgrid_deliberation.domain import events as ev
from civicgrid_deliberation.domain.disclosure import DisclosureItem
from civicgrid_deliberation.domain.forums import ForumLevel
from civicgrid_deliberation.domain.topics import Topic, TopicStatus
from civicgrid_deliberation.domain.voting import AssemblyRules, Choice
from civicgrid_deliberation.service_layer import meetings, topics, votes
from civicgrid_deliberation.service_layer.context import Context
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import Conflict, IllegalTransition, PermissionDenied, RuleViolation
from tests.unit.deliberation.fakes import FakeOrgAndHouseholds, fake_context

COMMUNITY = "420106002003"
COMPOUND = f"{COMMUNITY}-C01"
COORDINATOR = Principal("coord", frozenset({Role.COORDINATOR}), region_code="420106002")
ELSEWHERE = Principal("coord2", frozenset({Role.COORDINATOR}), region_code="420106003")


def member(person: str) -> Principal:
    return Principal(f"m-{person}", frozenset({Role.MEMBER}), person_id=person)


def tripartite(title: str = "停车") -> meetings.ConveneMeeting:
    return meetings.ConveneMeeting(
        ForumLevel.COMPOUND, COMPOUND, "tripartite_joint_meeting", title, datetime(2026, 12, 9, tzinfo=UTC)
    )


def seed_posts(graph: FakeOrgAndHouseholds) -> None:
    graph.posts += [
        ("party_committee", COMMUNITY, "pc", "sec", "secretary"),
        ("residents_committee", COMMUNITY, "rc", "dir", "director"),
        ("owners_committee", COMPOUND, "oc", "chair", "chair"),
        ("property_company", COMPOUND, "pm", "mgr", "manager"),
    ]


async def test_convening_draws_participants_from_posts_and_adds_guests() -> None:
    ctx, uow, graph, _, _ = fake_context()
    seed_posts(graph)
    cmd = meetings.ConveneMeeting(
        ForumLevel.COMPOUND,
        COMPOUND,
        "tripartite_joint_meeting",
        "t",
        datetime(2026, 12, 9, tzinfo=UTC),
        guest_person_ids=["cadre-1"],
    )
    view, created = await meetings.convene(ctx, COORDINATOR, cmd, None)
    assert created
    assert {(p["person_id"], p["party"]) for p in view["participants"]} == {
        ("sec", "community"),
        ("dir", "community"),
        ("chair", "owners"),
        ("mgr", "property"),
        ("cadre-1", "units"),
    }
    assert len(uow.events_of(ev.MeetingConvened)) == 1


async def test_a_resent_convening_with_the_same_key_finds_the_first_meeting() -> None:
    ctx, uow, graph, _, _ = fake_context()
    seed_posts(graph)
    first, _ = await meetings.convene(ctx, COORDINATOR, tripartite(), "k1")
    again, created = await meetings.convene(ctx, COORDINATOR, tripartite(), "k1")
    assert (again["meeting_id"], created) == (first["meeting_id"], False)
    with pytest.raises(Conflict):
        await meetings.convene(ctx, COORDINATOR, tripartite("另一件"), "k1")
    assert len(uow.events_of(ev.MeetingConvened)) == 1


async def test_a_coordinator_of_another_street_may_not_convene_or_read() -> None:
    ctx, _, graph, _, _ = fake_context()
    seed_posts(graph)
    with pytest.raises(PermissionDenied):
        await meetings.convene(ctx, ELSEWHERE, tripartite(), None)
    view, _ = await meetings.convene(ctx, COORDINATOR, tripartite(), None)
    with pytest.raises(PermissionDenied):
        await meetings.read(ctx, ELSEWHERE, view["meeting_id"])
    assert (await meetings.read(ctx, member("chair"), view["meeting_id"]))["meeting_id"] == view["meeting_id"]
    with pytest.raises(PermissionDenied):
        await meetings.read(ctx, member("stranger"), view["meeting_id"])


def seed_compound(graph: FakeOrgAndHouseholds, n: int = 20) -> list[str]:
    for i in range(n):
        graph.household(f"{COMPOUND}-B01-U1-{100 + i}", COMPOUND, 100, [f"o{i}"])
    return [f"{COMPOUND}-B01-U1-{100 + i}" for i in range(n)]


async def test_a_members_support_counts_for_their_household_and_reaches_the_motion() -> None:
    ctx, uow, graph, _, _ = fake_context()
    seed_compound(graph)
    view, _ = await topics.raise_topic(ctx, member("o1"), topics.RaiseTopic(COMPOUND, "电梯"), None)
    supported = await topics.support(ctx, member("o1"), view["topic_id"], None)
    assert supported["status"] == "on_agenda"  # 1 of 20 = 5 %
    assert uow.events_of(ev.TopicMotionReached)[0].supporters == 1
    with pytest.raises(PermissionDenied):
        await topics.support(ctx, member("tenant"), view["topic_id"], None)


async def test_a_resident_raises_topics_only_where_they_have_a_household() -> None:
    ctx, _, graph, _, _ = fake_context()
    seed_compound(graph)
    with pytest.raises(PermissionDenied):
        await topics.raise_topic(ctx, member("o1"), topics.RaiseTopic(f"{COMMUNITY}-C02", "t"), None)


async def open_vote(ctx: Context, **overrides: Any) -> str:
    cmd = votes.OpenVote(
        COMPOUND, "修缮", "use_maintenance_fund", datetime(2026, 12, 20, tzinfo=UTC), **overrides
    )
    view, _ = await votes.open_vote(ctx, COORDINATOR, cmd, None)
    return str(view["vote_id"])


async def test_closing_tallies_once_discloses_the_decision_and_marks_the_topic_decided() -> None:
    ctx, uow, graph, ballots, _ = fake_context()
    seed_compound(graph, 10)
    topic, _ = await topics.raise_topic(ctx, COORDINATOR, topics.RaiseTopic(COMPOUND, "修缮"), None)
    vote_id = await open_vote(ctx, topic_id=topic["topic_id"])
    for i, choice in enumerate([Choice.APPROVE] * 6 + [Choice.OPPOSE]):
        await votes.cast_ballot(ctx, member(f"o{i}"), vote_id, choice, None)
    closed = await votes.close_vote(ctx, COORDINATOR, vote_id)
    assert closed["decision"]["outcome"] == "adopted"
    assert ballots.reads == 1
    again = await votes.close_vote(ctx, COORDINATOR, vote_id)
    assert again["decision"] == closed["decision"]
    assert ballots.reads == 1  # closing again does not tally again
    assert len(uow.events_of(ev.VoteClosed)) == 1
    assert len(uow.events_of(ev.ResolutionAdopted)) == 1
    item = await uow.get(DisclosureItem, f"ds-{vote_id}")
    assert item.source_id == vote_id
    assert (await uow.get(Topic, topic["topic_id"])).status is TopicStatus.DECIDED


async def test_ballots_are_refused_after_closing_and_after_the_closing_time() -> None:
    ctx, _, graph, _, clock = fake_context()
    seed_compound(graph, 4)
    vote_id = await open_vote(ctx)
    clock.now += timedelta(days=30)
    with pytest.raises(RuleViolation):
        await votes.cast_ballot(ctx, member("o1"), vote_id, Choice.APPROVE, None)
    clock.now -= timedelta(days=30)
    await votes.close_vote(ctx, COORDINATOR, vote_id)
    with pytest.raises(IllegalTransition):
        await votes.cast_ballot(ctx, member("o1"), vote_id, Choice.APPROVE, None)


async def test_the_roll_is_frozen_when_the_vote_opens() -> None:
    ctx, _, graph, _, _ = fake_context()
    seed_compound(graph, 4)
    vote_id = await open_vote(ctx)
    graph.household(f"{COMPOUND}-B09-U1-101", COMPOUND, 100, ["late"])  # registered after opening
    with pytest.raises(PermissionDenied):
        await votes.cast_ballot(ctx, member("late"), vote_id, Choice.APPROVE, None)


async def test_per_owner_rules_let_each_co_owner_vote_for_themself() -> None:
    ctx, _, graph, ballots, _ = fake_context()
    graph.household(f"{COMPOUND}-B01-U1-101", COMPOUND, 90, ["a", "b"])
    graph.household(f"{COMPOUND}-B01-U1-102", COMPOUND, 90, ["c"])
    await votes.set_rules(ctx, COORDINATOR, COMPOUND, AssemblyRules.from_data({"vote_basis": "per_owner"}))
    vote_id = await open_vote(ctx)
    await votes.cast_ballot(ctx, member("a"), vote_id, Choice.APPROVE, None)
    await votes.cast_ballot(ctx, member("b"), vote_id, Choice.OPPOSE, None)
    assert ballots.ballots[vote_id] == {"a": Choice.APPROVE, "b": Choice.OPPOSE}


async def test_a_member_reads_their_own_ballot_only() -> None:
    ctx, _, graph, _, _ = fake_context()
    codes = seed_compound(graph, 4)
    vote_id = await open_vote(ctx)
    await votes.cast_ballot(ctx, member("o1"), vote_id, Choice.OPPOSE, None)
    await votes.cast_ballot(ctx, member("o2"), vote_id, Choice.APPROVE, None)
    view = await votes.read(ctx, member("o1"), vote_id)
    assert view["my_ballots"] == {codes[1]: "oppose"}
    assert view["ballots_cast"] is None
    with pytest.raises(PermissionDenied):
        await votes.read(ctx, member("stranger"), vote_id)


async def test_votes_past_their_closing_time_are_closed_by_the_service_itself() -> None:
    ctx, uow, graph, _, clock = fake_context()
    seed_compound(graph, 4)
    vote_id = await open_vote(ctx)
    await votes.cast_ballot(ctx, member("o1"), vote_id, Choice.APPROVE, None)
    assert await votes.close_due(ctx) == 0  # not yet
    clock.now = datetime(2026, 12, 20, tzinfo=UTC)
    assert await votes.close_due(ctx) == 1
    assert await votes.close_due(ctx) == 0
    [closed] = uow.events_of(ev.VoteClosed)
    assert closed.outcome == "not_quorate"  # 1 of 4 took part


async def test_a_compound_code_that_only_begins_like_mine_is_not_mine() -> None:
    ctx, _, graph, _, _ = fake_context()
    graph.household(f"{COMMUNITY}-C10-B01-U1-101", f"{COMMUNITY}-C10", 80, ["o10"])
    with pytest.raises(PermissionDenied):
        await topics.raise_topic(ctx, member("o10"), topics.RaiseTopic(f"{COMMUNITY}-C1", "t"), None)
    view, _ = await topics.raise_topic(ctx, member("o10"), topics.RaiseTopic(f"{COMMUNITY}-C10", "t"), None)
    assert view["raised_as"] == "resident"


async def test_a_representative_who_owns_a_household_raises_as_a_representative() -> None:
    ctx, _, graph, _, _ = fake_context()
    graph.household(f"{COMPOUND}-B01-U1-101", COMPOUND, 80, ["rep"], representative="rep")
    view, _ = await topics.raise_topic(ctx, member("rep"), topics.RaiseTopic(COMPOUND, "t"), None)
    assert view["raised_as"] == "representative"


async def test_a_resident_lists_topics_of_their_community_and_compound_only() -> None:
    ctx, _, graph, _, _ = fake_context()
    seed_compound(graph, 1)
    for place in (COMMUNITY, COMPOUND, f"{COMPOUND}-B03"):
        assert await topics.listing(ctx, member("o0"), place, 10) == []
    with pytest.raises(PermissionDenied):
        await topics.listing(ctx, member("o0"), f"{COMMUNITY}-C02", 10)
