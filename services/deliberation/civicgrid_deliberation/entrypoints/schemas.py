"""Request bodies and answers of the HTTP API (validation names the field in the 422 problem)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from civicgrid_contracts.values import FreeText, Identifier, PlaceCode, ShortText
from civicgrid_deliberation.domain.appraisals import Grade
from civicgrid_deliberation.domain.disclosure import DisclosureKind
from civicgrid_deliberation.domain.forums import ForumLevel
from civicgrid_deliberation.domain.voting import AssemblyRules, Choice, MotionBasis, Threshold, VoteBasis

Share = Annotated[str, Field(pattern=r"^\d+/\d+$", description="A share as a fraction, e.g. 2/3.")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgendaItemIn(Body):
    title: ShortText
    topic_id: Identifier | None = None


class MeetingIn(Body):
    level: ForumLevel
    place_code: PlaceCode
    meeting_type: Identifier = Field(description="See GET /meeting-types.")
    title: ShortText
    scheduled_for: AwareDatetime
    agenda: list[AgendaItemIn] = Field(default_factory=list, max_length=50)
    guest_person_ids: list[Identifier] = Field(
        default_factory=list, max_length=200, description="Sunk-down cadres, paired units' people..."
    )


class AttendanceIn(Body):
    person_ids: list[Identifier] = Field(min_length=1, max_length=2000)


class MinutesIn(Body):
    minutes: FreeText = ""


class AgendaTopicIn(Body):
    topic_id: Identifier


class ResolutionIn(Body):
    title: ShortText
    summary: FreeText = ""
    approve: int = Field(ge=0)
    oppose: int = Field(ge=0)
    abstain: int = Field(ge=0, default=0)
    topic_id: Identifier | None = None
    request_id: Identifier | None = None
    need_id: Identifier | None = None


class TopicIn(Body):
    place_code: PlaceCode
    title: ShortText
    description: FreeText = ""
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
    name: ShortText = "civil_code_art_278"

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
    title: ShortText
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
    title: ShortText
    subject_person_ids: list[Identifier] = Field(default_factory=list, max_length=100)
    appraiser_person_ids: list[Identifier] = Field(default_factory=list, max_length=2000)


class GradesIn(Body):
    grades: dict[Identifier, Grade] = Field(min_length=1)


class FigureIn(Body):
    label: ShortText
    amount: Decimal = Field(max_digits=18, decimal_places=2)
    unit: Annotated[str, Field(max_length=16)] = ""


class DisclosureIn(Body):
    place_code: PlaceCode
    kind: DisclosureKind
    title: ShortText
    body: FreeText = ""
    figures: list[FigureIn] = Field(default_factory=list, max_length=100)
    source_id: Identifier | None = None


class Answer(BaseModel):
    """An answer shaped as the use case returns it (documented per route)."""

    model_config = ConfigDict(extra="allow")


AnswerList = list[Answer]
