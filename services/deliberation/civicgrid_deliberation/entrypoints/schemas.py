"""Request bodies and answers of the HTTP API (validation names the field in the 422 problem).

Text refuses clear phone and ID-card numbers (``ShortText``/``FreeText``) and control characters
(names and titles: one line; free text: tabs and line breaks only). Every answer has a model that
names what it holds (more fields may follow: the models allow extra ones), so the OpenAPI document
describes it.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from civicgrid_contracts.values import FreeText, Identifier, PlaceCode
from civicgrid_deliberation.domain.appraisals import Grade
from civicgrid_deliberation.domain.disclosure import DisclosureKind
from civicgrid_deliberation.domain.forums import ForumLevel
from civicgrid_deliberation.domain.voting import AssemblyRules, Choice, MotionBasis, Threshold, VoteBasis
from civicgrid_runtime.http.text import Name, Text, single_line

Unit = Annotated[
    FreeText,
    StringConstraints(max_length=16),
    AfterValidator(single_line),
    WithJsonSchema({"type": "string", "maxLength": 16, "description": "A unit (元, m2...)."}),
]


def _share(value: str) -> str:
    share = Fraction(int(value.split("/")[0]), int(value.split("/")[1]))
    if not 0 < share <= 1:
        raise ValueError("a share lies above 0 and at most 1")
    return value


Share = Annotated[
    str,
    Field(pattern=r"^[0-9]{1,6}/[1-9][0-9]{0,5}$", description="A share as a fraction, e.g. 2/3."),
    AfterValidator(_share),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgendaItemIn(Body):
    title: Name
    topic_id: Identifier | None = None


class MeetingIn(Body):
    level: ForumLevel
    place_code: PlaceCode
    meeting_type: Identifier = Field(description="See GET /meeting-types.")
    title: Name
    scheduled_for: AwareDatetime
    agenda: list[AgendaItemIn] = Field(default_factory=list, max_length=50)
    guest_person_ids: list[Identifier] = Field(
        default_factory=list, max_length=200, description="Sunk-down cadres, paired units' people..."
    )


class AttendanceIn(Body):
    person_ids: list[Identifier] = Field(min_length=1, max_length=2000)


class MinutesIn(Body):
    minutes: Text = ""


class AgendaTopicIn(Body):
    topic_id: Identifier


class ResolutionIn(Body):
    title: Name
    summary: Text = ""
    approve: int = Field(ge=0, le=100_000)
    oppose: int = Field(ge=0, le=100_000)
    abstain: int = Field(ge=0, le=100_000, default=0)
    topic_id: Identifier | None = None
    request_id: Identifier | None = None
    need_id: Identifier | None = None


class TopicIn(Body):
    place_code: PlaceCode
    title: Name
    description: Text = ""
    request_id: Identifier | None = Field(default=None, description="The resources request it comes from.")
    need_id: Identifier | None = Field(default=None, description="The resources need it comes from.")


class SupportIn(Body):
    voter_id: Identifier | None = Field(
        default=None,
        description="The household (or, per owner, yourself) you support for; needed if several.",
    )


class RulesIn(Body):
    vote_basis: VoteBasis = VoteBasis.PER_HOUSEHOLD
    silent_majority: bool = False
    motion_basis: MotionBasis = MotionBasis.HEADCOUNT
    motion_share: Share = "1/20"
    name: Name = "civil_code_art_278"

    def to_domain(self) -> AssemblyRules:
        return AssemblyRules(
            vote_basis=self.vote_basis,
            silent_majority=self.silent_majority,
            motion_basis=self.motion_basis,
            motion_share=Threshold(Fraction(self.motion_share)),
            name=self.name,
        )


class VoteIn(Body):
    compound_code: PlaceCode
    title: Name
    matter: Identifier = Field(description="A Civil Code art. 278 matter: see GET /matters.")
    closes_at: AwareDatetime
    topic_id: Identifier | None = None
    request_id: Identifier | None = None
    need_id: Identifier | None = None


class BallotIn(Body):
    choice: Choice
    voter_id: Identifier | None = Field(
        default=None, description="Which of your households votes, if several."
    )


class AppraisalIn(Body):
    community_code: PlaceCode
    title: Name
    subject_person_ids: list[Identifier] = Field(default_factory=list, max_length=100)
    appraiser_person_ids: list[Identifier] = Field(default_factory=list, max_length=2000)


class GradesIn(Body):
    grades: dict[Identifier, Grade] = Field(min_length=1)


class FigureIn(Body):
    label: Name
    amount: Decimal = Field(max_digits=18, decimal_places=2)
    unit: Unit = ""


class DisclosureIn(Body):
    place_code: PlaceCode
    kind: DisclosureKind
    title: Name
    body: Text = ""
    figures: list[FigureIn] = Field(default_factory=list, max_length=100)
    source_id: Identifier | None = None


class Answer(BaseModel):
    """An answer shaped as the use case returns it (documented per route)."""

    model_config = ConfigDict(extra="allow")


AnswerList = list[Answer]


# -- answers ------------------------------------------------------------------------------------------


class Out(BaseModel):
    """An answer: the fields named below, perhaps more (added ones never break a client)."""

    model_config = ConfigDict(extra="allow")


class MeetingTypeOut(Out):
    code: str
    label: str
    label_zh: str
    levels: list[str]
    invites: list[dict[str, Any]]
    resolves: bool
    rules: dict[str, Any] | None
    required_parties: list[str]


class MatterOut(Out):
    code: str
    label: str
    major: bool


class RulesOut(Out):
    compound_code: str
    rules: dict[str, Any]


class ParticipantOut(Out):
    person_id: str
    org_id: str | None
    org_kind: str | None
    post: str | None
    party: str


class AgendaItemOut(Out):
    item_id: str
    title: str
    topic_id: str | None


class ResolutionOut(Out):
    resolution_id: str
    title: str
    summary: str
    topic_id: str | None
    request_id: str | None
    need_id: str | None
    decision: dict[str, Any]


class MeetingOut(Out):
    meeting_id: str
    meeting_type: str
    level: str
    place_code: str
    community_code: str
    title: str
    scheduled_for: str
    status: str
    participants: list[ParticipantOut]
    agenda: list[AgendaItemOut]
    attendance: list[str]
    minutes: str
    resolutions: list[ResolutionOut]
    version: int


class MeetingSummaryOut(Out):
    meeting_id: str
    meeting_type: str
    level: str
    place_code: str
    title: str
    scheduled_for: str
    status: str
    participants: int = Field(description="How many are invited.")
    resolutions: int


class TopicOut(Out):
    topic_id: str
    community_code: str
    place_code: str
    compound_code: str | None
    title: str
    description: str
    raised_as: str
    request_id: str | None
    need_id: str | None
    status: str
    supporters: int
    motion: dict[str, Any] | None
    version: int


class TopicSummaryOut(Out):
    topic_id: str
    place_code: str
    title: str
    status: str
    supporters: int
    raised_as: str
    request_id: str | None
    need_id: str | None


class VoteOut(Out):
    vote_id: str
    community_code: str
    compound_code: str
    title: str
    matter: str
    major: bool
    rules: dict[str, Any]
    opened_at: str
    closes_at: str
    eligible_voters: int
    topic_id: str | None
    request_id: str | None
    need_id: str | None
    status: str
    ballots_cast: int | None = Field(description="Coordinators only; null for an owner.")
    decision: dict[str, Any] | None
    resolution_id: str | None
    version: int


class VoteSummaryOut(Out):
    vote_id: str
    compound_code: str
    title: str
    matter: str
    status: str
    closes_at: str
    outcome: str | None


class BallotOut(Out):
    vote_id: str
    voter_id: str
    choice: str
    status: str


class AppraisalOut(Out):
    appraisal_id: str
    community_code: str
    title: str
    subjects: list[str]
    appraisers: int
    graded: int
    status: str
    results: list[dict[str, Any]]
    version: int


class GradedOut(Out):
    appraisal_id: str
    graded: int


class FigureOut(Out):
    label: str
    amount: str
    unit: str


class DisclosureItemOut(Out):
    item_id: str
    place_code: str
    kind: str
    title: str
    body: str
    figures: list[FigureOut]
    published_at: str
    source_id: str | None


class MyVoteFields(Out):
    my_households: list[dict[str, Any]] = Field(description="Households of the compound the member has.")
    my_voters: list[dict[str, Any]] = Field(description="The votes on the roll the member may cast.")
    can_vote: bool


class MyVoteSummaryOut(VoteSummaryOut, MyVoteFields):
    """A vote of the member's compounds as the phone app lists it."""


class MyVoteOut(VoteOut, MyVoteFields):
    """A vote as its owner sees it."""
