"""Forums, meetings, topics, votes, appraisals and disclosure items: their rules and their events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from civicgrid_deliberation.domain import events as ev
from civicgrid_deliberation.domain.appraisals import Appraisal, Grade
from civicgrid_deliberation.domain.disclosure import DisclosureItem, DisclosureKind, Figure
from civicgrid_deliberation.domain.forums import MEETING_TYPES, Forum, ForumLevel, Party
from civicgrid_deliberation.domain.meetings import Meeting, MeetingStatus, Participant
from civicgrid_deliberation.domain.topics import RaisedAs, Topic, TopicStatus
from civicgrid_deliberation.domain.votes import Vote, VoteStatus, ballot_voter
from civicgrid_deliberation.domain.voting import (
    AssemblyRules,
    Choice,
    Unit,
    VoteBasis,
    Voter,
    matter,
    motion_status,
    tally,
    voters_of,
)
from civicgrid_runtime.errors import IllegalTransition, InvalidInput, PermissionDenied, RuleViolation

COMMUNITY = "420106002003"
COMPOUND = f"{COMMUNITY}-C01"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def tripartite_people() -> list[Participant]:
    return [
        Participant("sec", "pc", "party_committee", "secretary", Party.COMMUNITY),
        Participant("dir", "rc", "residents_committee", "director", Party.COMMUNITY),
        Participant("oc1", "oc", "owners_committee", "chair", Party.OWNERS),
        Participant("pm1", "pm", "property_company", "manager", Party.PROPERTY),
    ]


def tripartite() -> Meeting:
    return Meeting.convene(
        "m1",
        Forum(ForumLevel.COMPOUND, COMPOUND),
        "tripartite_joint_meeting",
        "Parking",
        NOW,
        "coord",
        tripartite_people(),
    )


@pytest.mark.parametrize(
    ("level", "code"),
    [
        (ForumLevel.STREET, "420106002000"),
        (ForumLevel.COMMUNITY, COMMUNITY),
        (ForumLevel.COMPOUND, COMPOUND),
        (ForumLevel.BUILDING, f"{COMPOUND}-B07"),
        (ForumLevel.BUILDING, f"{COMPOUND}-B07-U2"),
    ],
)
def test_forums_exist_at_four_levels_and_belong_to_a_community(level, code):
    forum = Forum(level, code)
    assert forum.community_code == code[:12]


@pytest.mark.parametrize(
    ("level", "code"),
    [
        (ForumLevel.COMMUNITY, "420106002000"),
        (ForumLevel.COMPOUND, COMMUNITY),
        (ForumLevel.STREET, COMMUNITY),
    ],
)
def test_a_place_code_of_another_level_is_refused_naming_the_field(level, code):
    with pytest.raises(InvalidInput) as caught:
        Forum(level, code)
    assert caught.value.details["field"] == "place_code"


def test_the_seeds_meeting_types_are_all_there_as_data():
    assert {
        "representatives_meeting",
        "villager_group_meeting",
        "building_meeting",
        "tripartite_joint_meeting",
        "property_salon",
        "decision_hearing",
        "democratic_appraisal",
    } <= set(MEETING_TYPES)


def test_a_tripartite_meeting_invites_the_community_the_owners_committee_and_the_property_company():
    kinds = {i.org_kind for i in MEETING_TYPES["tripartite_joint_meeting"].invitations}
    assert kinds == {"party_committee", "residents_committee", "owners_committee", "property_company"}
    meeting = tripartite()
    [convened] = meeting.take_events()
    assert isinstance(convened, ev.MeetingConvened)
    assert convened.participant_person_ids == ["sec", "dir", "oc1", "pm1"]
    assert convened.participant_org_ids == ["oc", "pc", "pm", "rc"]


def test_a_tripartite_meeting_without_a_property_company_cannot_be_convened():
    with pytest.raises(RuleViolation) as caught:
        Meeting.convene(
            "m1",
            Forum(ForumLevel.COMPOUND, COMPOUND),
            "tripartite_joint_meeting",
            "t",
            NOW,
            "c",
            tripartite_people()[:3],
        )
    assert caught.value.details["missing"] == ["property"]


def test_a_meeting_type_meets_only_at_its_levels():
    with pytest.raises(RuleViolation) as caught:
        Meeting.convene(
            "m1",
            Forum(ForumLevel.BUILDING, f"{COMPOUND}-B01"),
            "tripartite_joint_meeting",
            "t",
            NOW,
            "c",
            tripartite_people(),
        )
    assert caught.value.rule == "meeting_type_level"
    assert caught.value.details["field"] == "level"


def test_only_invited_people_are_recorded_as_attending():
    meeting = tripartite()
    with pytest.raises(InvalidInput) as caught:
        meeting.record_attendance(["sec", "stranger"])
    assert caught.value.details["not_invited"] == ["stranger"]
    assert meeting.attendance == []


def test_a_resolution_is_recorded_only_after_the_meeting_was_held():
    meeting = tripartite()
    with pytest.raises(IllegalTransition):
        meeting.resolve("r1", "t", "s", 4, 0, 0)


def test_a_tripartite_meeting_resolves_only_with_all_three_parties_present():
    meeting = tripartite()
    meeting.record_attendance(["sec", "oc1"])
    meeting.hold("minutes")
    with pytest.raises(RuleViolation) as caught:
        meeting.resolve("r1", "t", "s", 2, 0, 0)
    assert caught.value.details["missing"] == ["property"]


def test_an_adopted_resolution_becomes_an_event_linking_the_topic_and_request():
    meeting = tripartite()
    meeting.take_events()
    meeting.record_attendance(["sec", "oc1", "pm1"])
    meeting.hold("we met")
    resolution = meeting.resolve(
        "r1", "Charging points", "Install 20", 2, 1, 0, topic_id="t1", request_id="req-9"
    )
    assert resolution.decision.adopted
    held, adopted = meeting.take_events()
    assert isinstance(held, ev.MeetingHeld)
    assert held.attended == 3
    assert held.invited == 4
    assert held.parties_present == ["community", "owners", "property"]
    assert isinstance(adopted, ev.ResolutionAdopted)
    assert (adopted.meeting_id, adopted.topic_id, adopted.request_id, adopted.compound_code) == (
        "m1",
        "t1",
        "req-9",
        COMPOUND,
    )


def test_a_resolution_without_a_majority_is_recorded_as_rejected():
    meeting = tripartite()
    meeting.take_events()
    meeting.record_attendance(["sec", "dir", "oc1", "pm1"])
    meeting.hold("")
    meeting.take_events()
    meeting.resolve("r1", "t", "s", 2, 2, 0)
    [rejected] = meeting.take_events()
    assert isinstance(rejected, ev.ResolutionRejected)
    assert rejected.outcome == "rejected"


def test_a_property_salon_hears_and_advises_but_resolves_nothing():
    salon = Meeting.convene(
        "m2", Forum(ForumLevel.COMPOUND, COMPOUND), "property_salon", "t", NOW, "c", tripartite_people()[2:]
    )
    salon.record_attendance(["oc1", "pm1"])
    salon.hold("")
    with pytest.raises(RuleViolation) as caught:
        salon.resolve("r1", "t", "s", 2, 0, 0)
    assert caught.value.rule == "meeting_type_resolves_nothing"


def test_a_closed_meeting_cannot_be_held_again():
    meeting = tripartite()
    meeting.hold("")
    meeting.close()
    assert meeting.status is MeetingStatus.CLOSED
    with pytest.raises(IllegalTransition):
        meeting.hold("")


def roll() -> dict[str, Voter]:
    return voters_of(
        [Unit(f"{COMPOUND}-B01-U1-{i}", 10000, (f"p{i}",)) for i in range(40)], VoteBasis.PER_HOUSEHOLD
    )


def test_a_topic_raised_from_a_request_must_name_it():
    with pytest.raises(InvalidInput) as caught:
        Topic.raise_("t1", COMPOUND, "t", "d", "p1", RaisedAs.REQUEST)
    assert caught.value.details["field"] == "request_id"


def test_a_topic_goes_on_the_agenda_once_when_its_supporters_reach_five_percent():
    topic = Topic.raise_("t1", COMPOUND, "Lifts", "", "p1", RaisedAs.RESIDENT)
    [raised] = topic.take_events()
    assert isinstance(raised, ev.TopicRaised)
    assert raised.compound_code == COMPOUND
    voters, rules = roll(), AssemblyRules()
    topic.support(f"{COMPOUND}-B01-U1-1")
    assert not topic.check_motion(motion_status(voters, topic.supporters, rules))
    assert topic.status is TopicStatus.RAISED
    assert topic.support(f"{COMPOUND}-B01-U1-2")
    assert not topic.support(f"{COMPOUND}-B01-U1-2")
    assert topic.check_motion(motion_status(voters, topic.supporters, rules))
    assert not topic.check_motion(motion_status(voters, topic.supporters, rules))
    [reached] = topic.take_events()
    assert isinstance(reached, ev.TopicMotionReached)
    assert (reached.supporters, reached.eligible, reached.threshold) == (2, 40, "≥ 1/20")
    assert str(topic.status) == TopicStatus.ON_AGENDA.value


def open_vote(voters: dict[str, Voter]) -> Vote:
    return Vote.open(
        "v1",
        COMPOUND,
        "Lifts",
        "use_maintenance_fund",
        AssemblyRules(),
        "c",
        NOW,
        NOW + timedelta(days=7),
        voters,
        topic_id="t1",
    )


def test_a_vote_opens_on_a_non_empty_roll_and_says_how_many_may_vote():
    with pytest.raises(RuleViolation):
        open_vote({})
    vote = open_vote(roll())
    [opened] = vote.take_events()
    assert isinstance(opened, ev.VoteOpened)
    assert opened.eligible_voters == 40
    assert opened.vote_basis == "per_household"


def test_a_vote_closing_before_it_opens_is_refused():
    with pytest.raises(InvalidInput) as caught:
        Vote.open("v1", COMPOUND, "t", "other", AssemblyRules(), "c", NOW, NOW, roll())
    assert caught.value.details["field"] == "closes_at"


def test_only_an_owner_casts_a_households_ballot():
    voters = roll()
    household = f"{COMPOUND}-B01-U1-3"
    assert ballot_voter(voters, "p3", None) == household
    assert ballot_voter(voters, "p3", household) == household
    with pytest.raises(PermissionDenied):
        ballot_voter(voters, "p4", household)
    with pytest.raises(PermissionDenied):
        ballot_voter(voters, "tenant", None)
    with pytest.raises(InvalidInput):
        ballot_voter(voters, "p3", "nowhere")


def test_an_owner_of_two_households_names_which_one_votes():
    voters = voters_of([Unit("A", 100, ("p",)), Unit("B", 100, ("p",))], VoteBasis.PER_HOUSEHOLD)
    with pytest.raises(InvalidInput) as caught:
        ballot_voter(voters, "p", None)
    assert caught.value.details["field"] == "voter_id"
    assert ballot_voter(voters, "p", "B") == "B"


def test_ballots_are_refused_once_voting_time_is_over():
    vote = open_vote(roll())
    vote.ensure_accepts_ballots(NOW + timedelta(days=6))
    with pytest.raises(RuleViolation):
        vote.ensure_accepts_ballots(NOW + timedelta(days=7))


def test_closing_an_adopted_vote_publishes_its_arithmetic_and_the_resolution():
    voters = roll()
    vote = open_vote(voters)
    vote.take_events()
    ballots = {v: Choice.APPROVE for v in list(voters)[:30]}
    vote.close(tally(voters, ballots, matter(vote.matter_code), vote.rules), "res-1", voters)
    closed, adopted = vote.take_events()
    assert isinstance(closed, ev.VoteClosed)
    assert closed.outcome == "adopted"
    assert {m["name"] for m in closed.measures} >= {"participation_area", "approval_owners"}
    assert isinstance(adopted, ev.ResolutionAdopted)
    assert (adopted.vote_id, adopted.topic_id, adopted.resolution_id) == ("v1", "t1", "res-1")
    assert vote.status is VoteStatus.CLOSED
    assert vote.decision is not None
    with pytest.raises(IllegalTransition):
        vote.close(tally(voters, ballots, matter("other"), vote.rules), "res-2", voters)


def test_a_vote_short_of_its_quorum_closes_without_a_resolution():
    voters = roll()
    vote = open_vote(voters)
    vote.take_events()
    vote.close(tally(voters, {}, matter("other"), vote.rules), "res-1", voters)
    closed, rejected = vote.take_events()
    assert isinstance(closed, ev.VoteClosed)
    assert closed.outcome == "not_quorate"
    assert isinstance(rejected, ev.ResolutionRejected)


def appraisal() -> Appraisal:
    return Appraisal.open("a1", COMMUNITY, "2026 appraisal", ["m1", "m2"], ["r1", "r2", "r3", "r4", "r5"])


def test_a_member_with_more_than_half_dissatisfied_grades_is_judged_incompetent():
    a = appraisal()
    S, B, D = Grade.SATISFIED, Grade.BASICALLY_SATISFIED, Grade.DISSATISFIED
    for rep, (g1, g2) in zip(
        ["r1", "r2", "r3", "r4", "r5"], [(S, D), (S, D), (B, D), (D, S), (D, B)], strict=True
    ):
        a.grade(rep, {"m1": g1, "m2": g2})
    m1, m2 = a.publish()
    assert (m1.satisfied, m1.basically_satisfied, m1.dissatisfied, m1.verdict) == (2, 1, 2, "competent")
    assert m1.to_data()["satisfaction_rate"] == 0.6
    assert (m2.dissatisfied, m2.verdict) == (3, "incompetent")
    [published] = a.take_events()
    assert isinstance(published, ev.AppraisalPublished)
    assert published.appraisers == 5


def test_exactly_half_dissatisfied_is_not_incompetent():
    a = Appraisal.open("a1", COMMUNITY, "t", ["m1"], ["r1", "r2"])
    a.grade("r1", {"m1": Grade.DISSATISFIED})
    a.grade("r2", {"m1": Grade.SATISFIED})
    [m1] = a.publish()
    assert m1.verdict == "competent"


def test_only_named_representatives_grade_and_they_grade_every_member():
    a = appraisal()
    with pytest.raises(PermissionDenied):
        a.grade("outsider", {"m1": Grade.SATISFIED, "m2": Grade.SATISFIED})
    with pytest.raises(InvalidInput) as caught:
        a.grade("r1", {"m1": Grade.SATISFIED})
    assert caught.value.details["missing"] == ["m2"]


def test_a_published_appraisal_takes_no_more_grades():
    a = appraisal()
    a.grade("r1", {"m1": Grade.SATISFIED, "m2": Grade.SATISFIED})
    a.publish()
    with pytest.raises(IllegalTransition):
        a.grade("r2", {"m1": Grade.SATISFIED, "m2": Grade.SATISFIED})


def test_a_disclosure_item_shows_the_public_nobody_by_name():
    item = DisclosureItem.publish(
        "d1",
        COMPOUND,
        DisclosureKind.FINANCE,
        "Maintenance fund 2026",
        "spent on lifts",
        NOW,
        "coord-person-7",
        [Figure("spent", Decimal("12000.50"), "CNY")],
    )
    view = item.public_view()
    assert "coord-person-7" not in str(view)
    assert view["figures"] == [{"label": "spent", "amount": "12000.50", "unit": "CNY"}]
    [published] = item.take_events()
    assert isinstance(published, ev.DisclosurePublished)
    assert published.community_code == COMMUNITY


def test_a_finance_item_must_give_its_figures():
    with pytest.raises(InvalidInput) as caught:
        DisclosureItem.publish("d1", COMPOUND, DisclosureKind.FINANCE, "t", "b", NOW, "c")
    assert caught.value.details["field"] == "figures"


def test_a_votes_facts_name_the_owners_on_its_roll_each_once():
    voters = voters_of(
        [Unit("A", 100, ("p1", "p2")), Unit("B", 80, ("p2",)), Unit("C", 60, ())], VoteBasis.PER_HOUSEHOLD
    )
    vote = open_vote(voters)
    (opened,) = vote.take_events()
    assert isinstance(opened, ev.VoteOpened)
    assert opened.owner_person_ids == ["p1", "p2"]  # the unowned unit C has no one to tell
    vote.close(tally(voters, {}, matter(vote.matter_code), vote.rules), "res-1", voters)
    closed = vote.take_events()[0]
    assert isinstance(closed, ev.VoteClosed)
    assert closed.owner_person_ids == ["p1", "p2"]
