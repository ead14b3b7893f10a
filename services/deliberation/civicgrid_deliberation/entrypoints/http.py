"""HTTP routes: they translate requests to use-case calls and nothing more.

Coordinators (region-scoped) convene meetings, open and close votes, open and publish appraisals and
publish disclosure items; members (their own person) raise and support topics, cast ballots, grade
appraisals. Creating writes take an ``Idempotency-Key``: a retry with the same key and body answers
the first result (200), another body a 409 naming ``Idempotency-Key``.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from civicgrid_deliberation.domain.forums import MEETING_TYPES
from civicgrid_deliberation.domain.voting import MATTERS
from civicgrid_deliberation.entrypoints.schemas import (
    AgendaTopicIn,
    AppraisalIn,
    AppraisalOut,
    AttendanceIn,
    BallotIn,
    BallotOut,
    DisclosureIn,
    DisclosureItemOut,
    GradedOut,
    GradesIn,
    MatterOut,
    MeetingIn,
    MeetingOut,
    MeetingSummaryOut,
    MeetingTypeOut,
    MinutesIn,
    ResolutionIn,
    ResolutionOut,
    RulesIn,
    RulesOut,
    SupportIn,
    TopicIn,
    TopicOut,
    TopicSummaryOut,
    VoteIn,
    VoteOut,
    VoteSummaryOut,
)
from civicgrid_deliberation.service_layer import appraisals, disclosure, meetings, topics, votes
from civicgrid_deliberation.service_layer.context import Context
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.http import Authenticator

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A retry with the same key and body returns the first result; another body is a 409.",
    ),
]
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description="An id.")]
Compound = Annotated[str, Path(pattern=r"^\d{12}-C[0-9A-Za-z]{1,8}$", description="A compound code.")]
Limit = Annotated[int, Query(ge=1, le=500)]


def created(response: Response, result: tuple[dict[str, Any], bool]) -> dict[str, Any]:
    view, new = result
    response.status_code = 201 if new else 200
    return view


def build_router(ctx: Context, auth: Authenticator) -> APIRouter:
    router = APIRouter()
    Anyone = Annotated[Principal, Depends(auth.principal)]
    Staff = Annotated[Principal, Depends(auth.require(Role.ADMIN, Role.COORDINATOR))]

    # -- reference data --------------------------------------------------------------------------

    @router.get(
        "/meeting-types",
        tags=["reference"],
        summary="Meeting types (data)",
        response_model=list[MeetingTypeOut],
    )
    async def meeting_types(_: Anyone) -> list[dict[str, Any]]:
        return [
            {
                "code": t.code,
                "label": t.label,
                "label_zh": t.label_zh,
                "levels": sorted(level.value for level in t.levels),
                "invites": [
                    {"org_kind": i.org_kind, "where": i.where, "party": i.party.value} for i in t.invitations
                ],
                "resolves": t.rules is not None,
                "rules": t.rules.to_data() if t.rules else None,
                "required_parties": sorted(p.value for p in t.required_parties),
            }
            for t in MEETING_TYPES.values()
        ]

    @router.get(
        "/matters",
        tags=["reference"],
        summary="Matters the owners decide (Civil Code art. 278)",
        response_model=list[MatterOut],
    )
    async def matters(_: Anyone) -> list[dict[str, Any]]:
        return [{"code": m.code, "label": m.label, "major": m.major} for m in MATTERS.values()]

    # -- compound rules --------------------------------------------------------------------------

    @router.get(
        "/compounds/{compound_code}/rules",
        tags=["votes"],
        summary="A compound's voting rules",
        response_model=RulesOut,
    )
    async def get_rules(compound_code: Compound, _: Anyone) -> dict[str, Any]:
        return await votes.get_rules(ctx, compound_code)

    @router.put(
        "/compounds/{compound_code}/rules",
        tags=["votes"],
        summary="Record the voting rules a compound's owners adopted",
        response_model=RulesOut,
    )
    async def set_rules(compound_code: Compound, body: RulesIn, principal: Staff) -> dict[str, Any]:
        return await votes.set_rules(ctx, principal, compound_code, body.to_domain())

    # -- meetings ----------------------------------------------------------------------------------

    @router.post(
        "/meetings",
        tags=["meetings"],
        summary="Convene a meeting",
        status_code=201,
        response_model=MeetingOut,
    )
    async def convene(
        body: MeetingIn, principal: Staff, response: Response, key: IdempotencyKey = None
    ) -> Any:
        cmd = meetings.ConveneMeeting(
            body.level,
            body.place_code,
            body.meeting_type,
            body.title,
            body.scheduled_for,
            [(i.title, i.topic_id) for i in body.agenda],
            list(body.guest_person_ids),
        )
        return created(response, await meetings.convene(ctx, principal, cmd, key))

    @router.get(
        "/meetings",
        tags=["meetings"],
        summary="Meetings of a place, or mine",
        response_model=list[MeetingSummaryOut],
    )
    async def list_meetings(
        principal: Anyone,
        place_code: Annotated[str | None, Query(max_length=40)] = None,
        mine: bool = False,
        limit: Limit = 100,
    ) -> list[dict[str, Any]]:
        return await meetings.listing(ctx, principal, place_code, mine, limit)

    @router.get("/meetings/{meeting_id}", tags=["meetings"], summary="A meeting", response_model=MeetingOut)
    async def read_meeting(meeting_id: Id, principal: Anyone) -> dict[str, Any]:
        return await meetings.read(ctx, principal, meeting_id)

    @router.post(
        "/meetings/{meeting_id}/agenda",
        tags=["meetings"],
        summary="Put a topic on the agenda",
        response_model=MeetingOut,
    )
    async def add_topic(meeting_id: Id, body: AgendaTopicIn, principal: Staff) -> dict[str, Any]:
        return await meetings.add_topic(ctx, principal, meeting_id, body.topic_id)

    @router.post(
        "/meetings/{meeting_id}/attendance",
        tags=["meetings"],
        summary="Record who attends",
        response_model=MeetingOut,
    )
    async def attendance(meeting_id: Id, body: AttendanceIn, principal: Staff) -> dict[str, Any]:
        return await meetings.record_attendance(ctx, principal, meeting_id, list(body.person_ids))

    @router.post(
        "/meetings/{meeting_id}/hold",
        tags=["meetings"],
        summary="Record that it was held, with minutes",
        response_model=MeetingOut,
    )
    async def hold(meeting_id: Id, body: MinutesIn, principal: Staff) -> dict[str, Any]:
        return await meetings.hold(ctx, principal, meeting_id, body.minutes)

    @router.post(
        "/meetings/{meeting_id}/resolutions",
        tags=["meetings"],
        summary="Record a resolution",
        status_code=201,
        response_model=ResolutionOut,
    )
    async def resolve(
        meeting_id: Id, body: ResolutionIn, principal: Staff, response: Response, key: IdempotencyKey = None
    ) -> Any:
        cmd = meetings.PutResolution(
            body.title,
            body.summary,
            body.approve,
            body.oppose,
            body.abstain,
            body.topic_id,
            body.request_id,
            body.need_id,
        )
        return created(response, await meetings.resolve(ctx, principal, meeting_id, cmd, key))

    @router.post(
        "/meetings/{meeting_id}/close",
        tags=["meetings"],
        summary="Close a held meeting",
        response_model=MeetingOut,
    )
    async def close_meeting(meeting_id: Id, principal: Staff) -> dict[str, Any]:
        return await meetings.close(ctx, principal, meeting_id)

    # -- topics ------------------------------------------------------------------------------------

    @router.post(
        "/topics", tags=["topics"], summary="Raise a topic", status_code=201, response_model=TopicOut
    )
    async def raise_topic(
        body: TopicIn, principal: Anyone, response: Response, key: IdempotencyKey = None
    ) -> Any:
        cmd = topics.RaiseTopic(body.place_code, body.title, body.description, body.request_id, body.need_id)
        return created(response, await topics.raise_topic(ctx, principal, cmd, key))

    @router.get("/topics", tags=["topics"], summary="Topics of a place", response_model=list[TopicSummaryOut])
    async def list_topics(
        principal: Anyone, place_code: Annotated[str, Query(min_length=12, max_length=40)], limit: Limit = 100
    ) -> list[dict[str, Any]]:
        return await topics.listing(ctx, principal, place_code, limit)

    @router.get("/topics/{topic_id}", tags=["topics"], summary="A topic", response_model=TopicOut)
    async def read_topic(topic_id: Id, principal: Anyone) -> dict[str, Any]:
        return await topics.read(ctx, principal, topic_id)

    @router.post(
        "/topics/{topic_id}/support",
        tags=["topics"],
        summary="Support a topic (the 5 % motion is checked)",
        response_model=TopicOut,
    )
    async def support(topic_id: Id, body: SupportIn, principal: Anyone) -> dict[str, Any]:
        return await topics.support(ctx, principal, topic_id, body.voter_id)

    # -- votes -------------------------------------------------------------------------------------

    @router.post(
        "/votes", tags=["votes"], summary="Open an owners' vote", status_code=201, response_model=VoteOut
    )
    async def open_vote(
        body: VoteIn, principal: Staff, response: Response, key: IdempotencyKey = None
    ) -> Any:
        cmd = votes.OpenVote(
            body.compound_code,
            body.title,
            body.matter,
            body.closes_at,
            body.topic_id,
            body.request_id,
            body.need_id,
        )
        return created(response, await votes.open_vote(ctx, principal, cmd, key))

    @router.get(
        "/votes", tags=["votes"], summary="Votes of my compounds", response_model=list[VoteSummaryOut]
    )
    async def my_votes(principal: Anyone, limit: Limit = 100) -> list[dict[str, Any]]:
        return await votes.mine(ctx, principal, limit)

    @router.get(
        "/votes/{vote_id}",
        tags=["votes"],
        summary="A vote (its decision once closed)",
        response_model=VoteOut,
    )
    async def read_vote(vote_id: Id, principal: Anyone) -> dict[str, Any]:
        return await votes.read(ctx, principal, vote_id)

    @router.post(
        "/votes/{vote_id}/ballots",
        tags=["votes"],
        summary="Cast (or change) my household's ballot",
        response_model=BallotOut,
    )
    async def cast(vote_id: Id, body: BallotIn, principal: Anyone) -> dict[str, Any]:
        return await votes.cast_ballot(ctx, principal, vote_id, body.choice, body.voter_id)

    @router.post(
        "/votes/{vote_id}/close",
        tags=["votes"],
        summary="Close and tally (double majority; idempotent)",
        response_model=VoteOut,
    )
    async def close_vote(vote_id: Id, principal: Staff) -> dict[str, Any]:
        return await votes.close_vote(ctx, principal, vote_id)

    # -- appraisal ---------------------------------------------------------------------------------

    @router.post(
        "/appraisals",
        tags=["appraisals"],
        summary="Open a democratic appraisal",
        status_code=201,
        response_model=AppraisalOut,
    )
    async def open_appraisal(
        body: AppraisalIn, principal: Staff, response: Response, key: IdempotencyKey = None
    ) -> Any:
        cmd = appraisals.OpenAppraisal(
            body.community_code, body.title, list(body.subject_person_ids), list(body.appraiser_person_ids)
        )
        return created(response, await appraisals.open_appraisal(ctx, principal, cmd, key))

    @router.get(
        "/appraisals/{appraisal_id}", tags=["appraisals"], summary="An appraisal", response_model=AppraisalOut
    )
    async def read_appraisal(appraisal_id: Id, principal: Anyone) -> dict[str, Any]:
        return await appraisals.read(ctx, principal, appraisal_id)

    @router.post(
        "/appraisals/{appraisal_id}/grades",
        tags=["appraisals"],
        summary="Grade every member",
        response_model=GradedOut,
    )
    async def grade(appraisal_id: Id, body: GradesIn, principal: Anyone) -> dict[str, Any]:
        return await appraisals.grade(ctx, principal, appraisal_id, dict(body.grades))

    @router.post(
        "/appraisals/{appraisal_id}/publish",
        tags=["appraisals"],
        summary="Publish the results",
        response_model=AppraisalOut,
    )
    async def publish_appraisal(appraisal_id: Id, principal: Staff) -> dict[str, Any]:
        return await appraisals.publish(ctx, principal, appraisal_id)

    # -- disclosure (writes; the public page is in ``public``) -------------------------------------

    @router.post(
        "/disclosures",
        tags=["disclosure"],
        summary="Publish a disclosure item",
        status_code=201,
        response_model=DisclosureItemOut,
    )
    async def publish(
        body: DisclosureIn, principal: Staff, response: Response, key: IdempotencyKey = None
    ) -> Any:
        cmd = disclosure.PublishItem(
            body.place_code,
            body.kind,
            body.title,
            body.body,
            [(f.label, f.amount, f.unit) for f in body.figures],
            body.source_id,
        )
        return created(response, await disclosure.publish(ctx, principal, cmd, key))

    return router
