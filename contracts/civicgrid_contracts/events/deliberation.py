"""deliberation events: meetings at four levels, topics and the 5 % motion, owners' votes decided by the
Civil Code's double majority, resolutions, democratic appraisal and public disclosure (议事协商, 码上公开).

Persons appear by org-graph person id only; no names, phones or ballots of identifiable households.
A vote's result carries its arithmetic (numerators, denominators, thresholds, the rule) so anyone can
check it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from civicgrid_contracts.events.base import EventPayload
from civicgrid_contracts.values import FreeText, Identifier, PlaceCode, ShortText


class ForumLevel(StrEnum):
    """The four linked levels of deliberation (乡镇街道, 村社区, 村民小组/小区, 楼栋单元)."""

    STREET = "street"
    COMMUNITY = "community"
    COMPOUND = "compound"
    BUILDING = "building"


class DecisionOutcome(StrEnum):
    ADOPTED = "adopted"
    REJECTED = "rejected"
    NOT_QUORATE = "not_quorate"


class SilentSide(StrEnum):
    APPROVE = "approve"
    OPPOSE = "oppose"


class DisclosureKind(StrEnum):
    DECISION = "decision"
    FINANCE = "finance"
    PROJECT_PROGRESS = "project_progress"
    MEETING = "meeting"
    APPRAISAL = "appraisal"


class AppraisalVerdict(StrEnum):
    COMPETENT = "competent"
    INCOMPETENT = "incompetent"


class DecisionMeasure(BaseModel):
    """One comparison of a decision: numerator / denominator against the threshold."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: ShortText = Field(description="e.g. participation_area, approval_owners, attendance.")
    numerator: float = Field(ge=0)
    denominator: float = Field(ge=0)
    ratio: float = Field(ge=0)
    ratio_exact: ShortText = Field(description="The exact ratio as a fraction, e.g. 2/3.")
    threshold: ShortText = Field(description="e.g. '≥ 2/3' (at least) or '> 1/2' (more than).")
    met: bool
    rule: ShortText = Field(description="Which rule the comparison applies (e.g. civil_code_art_278).")


class AppraisalResult(BaseModel):
    """One committee member's published appraisal result."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    person_id: Identifier
    satisfied: int = Field(ge=0)
    basically_satisfied: int = Field(ge=0)
    dissatisfied: int = Field(ge=0)
    grades: int = Field(ge=0)
    satisfaction_rate: float = Field(ge=0, le=1)
    verdict: AppraisalVerdict


class MeetingConvened(EventPayload):
    """A meeting was convened at a forum, with participants drawn from org-graph posts."""

    event_type = "cn.civicgrid.deliberation.meeting.convened.v1"

    meeting_id: Identifier
    meeting_type: Identifier = Field(description="e.g. tripartite_joint_meeting, building_meeting.")
    forum_level: ForumLevel
    place_code: PlaceCode
    title: ShortText
    scheduled_for: AwareDatetime
    participant_person_ids: list[Identifier] = Field(description="Who is invited (ids only).")
    participant_org_ids: list[Identifier] = Field(default_factory=list)


class MeetingHeld(EventPayload):
    """A meeting took place; its minutes and attendance are recorded."""

    event_type = "cn.civicgrid.deliberation.meeting.held.v1"

    meeting_id: Identifier
    meeting_type: Identifier
    place_code: PlaceCode
    invited: int = Field(ge=0)
    attended: int = Field(ge=0)
    parties_present: list[ShortText] = Field(default_factory=list)


class TopicRaised(EventPayload):
    """A topic (议题) was raised by a resident, a representative, a coordinator or from resources."""

    event_type = "cn.civicgrid.deliberation.topic.raised.v1"

    topic_id: Identifier
    place_code: PlaceCode
    compound_code: PlaceCode | None = None
    title: ShortText
    raised_as: ShortText = Field(description="resident, representative, coordinator or request.")
    request_id: Identifier | None = Field(default=None, description="The resources request it came from.")
    need_id: Identifier | None = Field(default=None, description="The resources need it came from.")


class TopicMotionReached(EventPayload):
    """A topic's supporters reached the compound's motion threshold (5%动议): it is on the owners'
    assembly agenda."""

    event_type = "cn.civicgrid.deliberation.topic.motion_reached.v1"

    topic_id: Identifier
    compound_code: PlaceCode
    basis: ShortText = Field(description="motion_owners (headcount) or motion_area.")
    supporters: int = Field(ge=0)
    eligible: int = Field(ge=0)
    supporter_area_m2: float = Field(ge=0)
    eligible_area_m2: float = Field(ge=0)
    threshold: ShortText


class VoteOpened(EventPayload):
    """An owners' vote opened on a roll frozen from the household projection."""

    event_type = "cn.civicgrid.deliberation.vote.opened.v1"

    vote_id: Identifier
    compound_code: PlaceCode
    topic_id: Identifier | None = None
    title: ShortText
    matter: Identifier = Field(description="The Civil Code art. 278 matter, e.g. use_maintenance_fund.")
    major: bool = Field(description="Items 6-8: passes with ≥ 3/4 instead of > 1/2.")
    vote_basis: ShortText = Field(description="per_household or per_owner.")
    eligible_voters: int = Field(ge=1)
    closes_at: AwareDatetime
    owner_person_ids: list[Identifier] | None = Field(
        default=None,
        description="The owners on the vote's roll (person ids only): whom to tell. It rides with the fact "
        "because other services learn the compound's households from another topic, in no order with this "
        "one. Absent in facts published before it was added.",
    )


class VoteClosed(EventPayload):
    """An owners' vote closed; the decision and every comparison it rests on."""

    event_type = "cn.civicgrid.deliberation.vote.closed.v1"

    vote_id: Identifier
    compound_code: PlaceCode
    outcome: DecisionOutcome
    silent_counted_as: SilentSide | None = Field(
        default=None, description="Where the compound adopted 沉默从众: the side silent owners joined."
    )
    measures: list[DecisionMeasure]
    owner_person_ids: list[Identifier] | None = Field(
        default=None,
        description="The owners on the vote's roll (person ids only): whom to tell. It rides with the fact "
        "because other services learn the compound's households from another topic, in no order with this "
        "one. Absent in facts published before it was added.",
    )


class ResolutionAdopted(EventPayload):
    """A resolution was adopted (by a meeting or an owners' vote): a livelihood project for a team to
    lead (领办议定的民生实事)."""

    event_type = "cn.civicgrid.deliberation.resolution.adopted.v1"

    resolution_id: Identifier
    place_code: PlaceCode
    compound_code: PlaceCode | None = None
    title: ShortText
    summary: FreeText
    meeting_id: Identifier | None = None
    vote_id: Identifier | None = None
    topic_id: Identifier | None = None
    request_id: Identifier | None = None
    need_id: Identifier | None = None

    @model_validator(mode="after")
    def _decided_somewhere(self) -> ResolutionAdopted:
        if self.meeting_id is None and self.vote_id is None:
            raise ValueError("a resolution is adopted by a meeting or a vote: give meeting_id or vote_id")
        return self


class ResolutionRejected(EventPayload):
    """A resolution put to a meeting or a vote was not adopted (rejected, or too few took part)."""

    event_type = "cn.civicgrid.deliberation.resolution.rejected.v1"

    resolution_id: Identifier
    place_code: PlaceCode
    title: ShortText
    outcome: DecisionOutcome
    meeting_id: Identifier | None = None
    vote_id: Identifier | None = None
    topic_id: Identifier | None = None


class AppraisalPublished(EventPayload):
    """The results of a democratic appraisal (民主评议) of committee members were published."""

    event_type = "cn.civicgrid.deliberation.appraisal.published.v1"

    appraisal_id: Identifier
    title: ShortText
    appraisers: int = Field(ge=0, description="How many representatives graded.")
    results: list[AppraisalResult]


class DisclosurePublished(EventPayload):
    """An item was disclosed publicly (码上公开) for a community or compound."""

    event_type = "cn.civicgrid.deliberation.disclosure.published.v1"

    item_id: Identifier
    place_code: PlaceCode
    kind: DisclosureKind
    title: ShortText
