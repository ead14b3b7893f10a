"""Meetings: convened with participants drawn from org-graph posts, an agenda, attendance, minutes,
resolutions passed by the meeting type's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from civicgrid_deliberation.domain import events as ev
from civicgrid_deliberation.domain.forums import Forum, ForumLevel, MeetingType, Party, meeting_type
from civicgrid_deliberation.domain.voting import MeetingDecision, decide_meeting
from civicgrid_runtime.errors import IllegalTransition, InvalidInput, RuleViolation


class MeetingStatus(StrEnum):
    CONVENED = "convened"
    HELD = "held"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[MeetingStatus, tuple[MeetingStatus, ...]] = {
    MeetingStatus.CONVENED: (MeetingStatus.HELD, MeetingStatus.CANCELLED),
    MeetingStatus.HELD: (MeetingStatus.CLOSED,),
    MeetingStatus.CLOSED: (),
    MeetingStatus.CANCELLED: (),
}


@dataclass(frozen=True)
class Participant:
    person_id: str
    org_id: str | None
    org_kind: str | None
    post: str | None
    party: Party


@dataclass(frozen=True)
class AgendaItem:
    item_id: str
    title: str
    topic_id: str | None = None


@dataclass(frozen=True)
class Resolution:
    resolution_id: str
    title: str
    summary: str
    decision: MeetingDecision
    topic_id: str | None = None
    request_id: str | None = None
    need_id: str | None = None


@dataclass
class Meeting:
    meeting_id: str
    forum: Forum
    type_code: str
    title: str
    scheduled_for: datetime
    convened_by: str
    participants: list[Participant]
    agenda: list[AgendaItem] = field(default_factory=list)
    status: MeetingStatus = MeetingStatus.CONVENED
    attendance: list[str] = field(default_factory=list)
    minutes: str = ""
    resolutions: list[Resolution] = field(default_factory=list)
    version: int = 0
    events: list[ev.DomainEvent] = field(default_factory=list)

    @property
    def type(self) -> MeetingType:
        return meeting_type(self.type_code)

    @property
    def community_code(self) -> str:
        return self.forum.community_code

    @classmethod
    def convene(
        cls,
        meeting_id: str,
        forum: Forum,
        type_code: str,
        title: str,
        scheduled_for: datetime,
        convened_by: str,
        participants: list[Participant],
        agenda: list[AgendaItem] | None = None,
    ) -> Meeting:
        kind = meeting_type(type_code)
        if forum.level not in kind.levels:
            levels = ", ".join(sorted(level.value for level in kind.levels))
            raise RuleViolation(
                "meeting_type_level",
                f"a {kind.code} meets at the {levels} level, not at the {forum.level.value} level",
                field="level",
            )
        unique = list({p.person_id: p for p in participants}.values())
        if not unique:
            raise RuleViolation(
                "meeting_needs_participants",
                "nobody holds a post this meeting invites at this place; add participants",
                field="participants",
            )
        missing = kind.required_parties - {p.party for p in unique}
        if missing:
            raise RuleViolation(
                "meeting_needs_parties",
                f"a {kind.code} invites {', '.join(sorted(missing))} too, and nobody holds such a post here",
                field="participants",
                missing=sorted(missing),
            )
        meeting = cls(
            meeting_id, forum, type_code, title, scheduled_for, convened_by, unique, list(agenda or [])
        )
        meeting.events.append(
            ev.MeetingConvened(
                community_code=forum.community_code,
                meeting_id=meeting_id,
                meeting_type=type_code,
                forum_level=forum.level.value,
                place_code=forum.place_code,
                title=title,
                scheduled_for=scheduled_for,
                participant_person_ids=[p.person_id for p in unique],
                participant_org_ids=sorted({p.org_id for p in unique if p.org_id}),
            )
        )
        return meeting

    def _go(self, target: MeetingStatus) -> None:
        allowed = TRANSITIONS[self.status]
        if target not in allowed:
            raise IllegalTransition(self.status.value, target.value, [a.value for a in allowed])
        self.status = target

    def add_agenda_item(self, item: AgendaItem) -> None:
        if self.status is not MeetingStatus.CONVENED:
            raise IllegalTransition(self.status.value, "add_agenda_item", [])
        if any(i.topic_id and i.topic_id == item.topic_id for i in self.agenda):
            return
        self.agenda.append(item)

    def record_attendance(self, person_ids: list[str]) -> None:
        if self.status not in (MeetingStatus.CONVENED, MeetingStatus.HELD):
            raise IllegalTransition(self.status.value, "record_attendance", [])
        invited = {p.person_id for p in self.participants}
        strangers = sorted(set(person_ids) - invited)
        if strangers:
            raise InvalidInput(
                f"{len(strangers)} of the people named were not invited to this meeting",
                field="person_ids",
                not_invited=strangers,
            )
        self.attendance = sorted(set(self.attendance) | set(person_ids))

    def parties_present(self) -> set[Party]:
        present = set(self.attendance)
        return {p.party for p in self.participants if p.person_id in present}

    def hold(self, minutes: str) -> None:
        self._go(MeetingStatus.HELD)
        self.minutes = minutes
        self.events.append(
            ev.MeetingHeld(
                community_code=self.community_code,
                meeting_id=self.meeting_id,
                meeting_type=self.type_code,
                place_code=self.forum.place_code,
                invited=len(self.participants),
                attended=len(self.attendance),
                parties_present=sorted(p.value for p in self.parties_present()),
            )
        )

    def resolve(
        self,
        resolution_id: str,
        title: str,
        summary: str,
        approve: int,
        oppose: int,
        abstain: int,
        topic_id: str | None = None,
        request_id: str | None = None,
        need_id: str | None = None,
    ) -> Resolution:
        """Record a resolution put to the meeting by show of hands (after it was held)."""
        if self.status is not MeetingStatus.HELD:
            raise IllegalTransition(self.status.value, "resolve", [MeetingStatus.HELD.value])
        rules = self.type.rules
        if rules is None:
            raise RuleViolation(
                "meeting_type_resolves_nothing",
                f"a {self.type_code} hears and advises; it passes no resolutions",
                field="meeting_type",
            )
        missing = self.type.required_parties - self.parties_present()
        if missing:
            raise RuleViolation(
                "parties_absent",
                f"{', '.join(sorted(missing))} did not attend: this meeting cannot resolve",
                field="attendance",
                missing=sorted(missing),
            )
        if any(r.resolution_id == resolution_id for r in self.resolutions):
            raise InvalidInput("this resolution id is already recorded", field="resolution_id")
        decision = decide_meeting(
            len(self.participants), len(self.attendance), approve, oppose, abstain, rules
        )
        resolution = Resolution(resolution_id, title, summary, decision, topic_id, request_id, need_id)
        self.resolutions.append(resolution)
        compound = self.forum.compound_code
        if decision.adopted:
            self.events.append(
                ev.ResolutionAdopted(
                    community_code=self.community_code,
                    resolution_id=resolution_id,
                    place_code=self.forum.place_code,
                    compound_code=compound,
                    title=title,
                    summary=summary,
                    meeting_id=self.meeting_id,
                    topic_id=topic_id,
                    request_id=request_id,
                    need_id=need_id,
                )
            )
        else:
            self.events.append(
                ev.ResolutionRejected(
                    community_code=self.community_code,
                    resolution_id=resolution_id,
                    place_code=self.forum.place_code,
                    title=title,
                    outcome=decision.outcome.value,
                    meeting_id=self.meeting_id,
                    topic_id=topic_id,
                )
            )
        return resolution

    def close(self) -> None:
        self._go(MeetingStatus.CLOSED)

    def cancel(self) -> None:
        self._go(MeetingStatus.CANCELLED)

    def take_events(self) -> list[ev.DomainEvent]:
        taken, self.events = self.events, []
        return taken


__all__ = ["AgendaItem", "ForumLevel", "Meeting", "MeetingStatus", "Participant", "Resolution"]
