"""Convening meetings with participants drawn from org-graph posts; attendance, minutes, resolutions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from civicgrid_deliberation.domain.forums import Forum, ForumLevel, Party, meeting_type
from civicgrid_deliberation.domain.meetings import AgendaItem, Meeting, Participant, Resolution
from civicgrid_deliberation.domain.topics import Topic
from civicgrid_deliberation.service_layer.context import Context, ensure_coordinator, fingerprint, new_id
from civicgrid_deliberation.service_layer.ports import View
from civicgrid_runtime.auth import Principal, Role
from civicgrid_runtime.errors import Conflict, InvalidInput, PermissionDenied


@dataclass(frozen=True)
class ConveneMeeting:
    level: ForumLevel
    place_code: str
    meeting_type: str
    title: str
    scheduled_for: datetime
    agenda: list[tuple[str, str | None]] = field(default_factory=list)
    """(title, topic id or None)."""
    guest_person_ids: list[str] = field(default_factory=list)
    """Sunk-down cadres, paired units' people... invited beyond the posts (party ``units``)."""


def meeting_view(meeting: Meeting) -> View:
    return {
        "meeting_id": meeting.meeting_id,
        "meeting_type": meeting.type_code,
        "level": meeting.forum.level.value,
        "place_code": meeting.forum.place_code,
        "community_code": meeting.community_code,
        "title": meeting.title,
        "scheduled_for": meeting.scheduled_for.isoformat(),
        "status": meeting.status.value,
        "participants": [
            {
                "person_id": p.person_id,
                "org_id": p.org_id,
                "org_kind": p.org_kind,
                "post": p.post,
                "party": p.party,
            }
            for p in meeting.participants
        ],
        "agenda": [{"item_id": i.item_id, "title": i.title, "topic_id": i.topic_id} for i in meeting.agenda],
        "attendance": list(meeting.attendance),
        "minutes": meeting.minutes,
        "resolutions": [resolution_view(r) for r in meeting.resolutions],
        "version": meeting.version,
    }


def resolution_view(r: Resolution) -> View:
    return {
        "resolution_id": r.resolution_id,
        "title": r.title,
        "summary": r.summary,
        "topic_id": r.topic_id,
        "request_id": r.request_id,
        "need_id": r.need_id,
        "decision": r.decision.to_data(),
    }


async def convene(
    ctx: Context, principal: Principal, cmd: ConveneMeeting, key: str | None
) -> tuple[View, bool]:
    forum = Forum(cmd.level, cmd.place_code)
    ensure_coordinator(principal, forum.place_code)
    kind = meeting_type(cmd.meeting_type)
    participants = await ctx.directory.invitees(kind.invitations, forum.place_code, forum.community_code)
    participants += [Participant(p, None, None, None, Party.UNITS) for p in cmd.guest_person_ids]
    agenda = []
    for index, (title, topic_id) in enumerate(cmd.agenda):
        if topic_id is not None:
            topic = await ctx.uow.find(Topic, topic_id)
            if topic is None or topic.community_code != forum.community_code:
                raise InvalidInput(
                    f"topic {topic_id} is not a topic of this community", field=f"agenda.{index}"
                )
        agenda.append(AgendaItem(f"item-{index + 1}", title, topic_id))
    meeting = Meeting.convene(
        new_id("mt", principal, key),
        forum,
        kind.code,
        cmd.title,
        cmd.scheduled_for,
        principal.subject,
        participants,
        agenda,
    )
    stored, created = await ctx.uow.add(meeting, fingerprint(key, cmd.__dict__))
    return meeting_view(stored), created


async def read(ctx: Context, principal: Principal, meeting_id: str) -> View:
    meeting = await ctx.uow.get(Meeting, meeting_id)
    ensure_may_read(principal, meeting)
    return meeting_view(meeting)


def ensure_may_read(principal: Principal, meeting: Meeting) -> None:
    if principal.has_role(Role.ADMIN) or (
        principal.has_role(Role.COORDINATOR) and principal.can_manage(meeting.community_code)
    ):
        return
    if principal.person_id and any(p.person_id == principal.person_id for p in meeting.participants):
        return
    raise PermissionDenied("only its participants and the coordinators of its place read a meeting")


async def _coordinated(ctx: Context, principal: Principal, meeting_id: str) -> Meeting:
    meeting = await ctx.uow.get(Meeting, meeting_id)
    ensure_coordinator(principal, meeting.community_code)
    return meeting


async def record_attendance(
    ctx: Context, principal: Principal, meeting_id: str, person_ids: list[str]
) -> View:
    await _coordinated(ctx, principal, meeting_id)
    meeting, _ = await ctx.uow.change(Meeting, meeting_id, lambda m: m.record_attendance(person_ids))
    return meeting_view(meeting)


async def add_topic(ctx: Context, principal: Principal, meeting_id: str, topic_id: str) -> View:
    current = await _coordinated(ctx, principal, meeting_id)
    topic = await ctx.uow.find(Topic, topic_id)
    if topic is None or topic.community_code != current.community_code:
        raise InvalidInput(f"topic {topic_id} is not a topic of this community", field="topic_id")
    item = AgendaItem(f"item-{len(current.agenda) + 1}", topic.title, topic_id)
    meeting, _ = await ctx.uow.change(Meeting, meeting_id, lambda m: m.add_agenda_item(item))
    return meeting_view(meeting)


async def hold(ctx: Context, principal: Principal, meeting_id: str, minutes: str) -> View:
    await _coordinated(ctx, principal, meeting_id)
    meeting, _ = await ctx.uow.change(Meeting, meeting_id, lambda m: m.hold(minutes))
    return meeting_view(meeting)


@dataclass(frozen=True)
class PutResolution:
    title: str
    summary: str
    approve: int
    oppose: int
    abstain: int
    topic_id: str | None = None
    request_id: str | None = None
    need_id: str | None = None


async def resolve(
    ctx: Context, principal: Principal, meeting_id: str, cmd: PutResolution, key: str | None
) -> tuple[View, bool]:
    """Record a resolution; a retry with the same ``Idempotency-Key`` finds the first one."""
    current = await _coordinated(ctx, principal, meeting_id)
    resolution_id = new_id("rs", principal, f"{meeting_id}\n{key}") if key else new_id("rs")
    existing = next((r for r in current.resolutions if r.resolution_id == resolution_id), None)
    if existing is not None:
        return resolution_view(_same_request(existing, cmd)), False

    def apply(m: Meeting) -> tuple[Resolution, bool]:
        recorded = next((r for r in m.resolutions if r.resolution_id == resolution_id), None)
        if recorded is not None:  # a concurrent retry with the same key got there first
            return _same_request(recorded, cmd), False
        return m.resolve(
            resolution_id,
            cmd.title,
            cmd.summary,
            cmd.approve,
            cmd.oppose,
            cmd.abstain,
            cmd.topic_id,
            cmd.request_id,
            cmd.need_id,
        ), True

    _, (resolution, new) = await ctx.uow.change(Meeting, meeting_id, apply)
    if not new:
        return resolution_view(resolution), False
    if cmd.topic_id:
        topic = await ctx.uow.find(Topic, cmd.topic_id)
        if topic is not None:
            await ctx.uow.change(Topic, cmd.topic_id, lambda t: t.decided())
    return resolution_view(resolution), True


def _same_request(recorded: Resolution, cmd: PutResolution) -> Resolution:
    d = recorded.decision
    first = (
        recorded.title,
        recorded.summary,
        d.approve,
        d.oppose,
        d.abstain,
        recorded.topic_id,
        recorded.request_id,
    )
    if first != (cmd.title, cmd.summary, cmd.approve, cmd.oppose, cmd.abstain, cmd.topic_id, cmd.request_id):
        raise Conflict("this Idempotency-Key was used with another request body", field="Idempotency-Key")
    return recorded


async def close(ctx: Context, principal: Principal, meeting_id: str) -> View:
    await _coordinated(ctx, principal, meeting_id)
    meeting, _ = await ctx.uow.change(Meeting, meeting_id, lambda m: m.close())
    return meeting_view(meeting)


async def listing(
    ctx: Context, principal: Principal, place_code: str | None, mine: bool, limit: int
) -> list[View]:
    if mine:
        person = principal.person_id
        if person is None:
            raise PermissionDenied("the token names no person")
        return await ctx.views.meetings(None, person, limit)
    if place_code is None:
        if principal.has_role(Role.ADMIN):
            return await ctx.views.meetings(None, None, limit)
        raise InvalidInput("name the place whose meetings to list", field="place_code")
    ensure_coordinator(principal, place_code)
    return await ctx.views.meetings(place_code, None, limit)
