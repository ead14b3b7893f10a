"""Who hears about an event, and the values its message template is rendered with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from civicgrid_contracts.events import deliberation, org, resources
from civicgrid_contracts.events.base import EventPayload
from civicgrid_notifications.domain.preferences import CHINA
from civicgrid_notifications.domain.rules import RecipientKind, Rule, RuleBook
from civicgrid_notifications.service_layer.ports import Directory


async def resolve_recipients(
    rule: Rule,
    payload: EventPayload,
    directory: Directory,
    book: RuleBook,
    unresolved: list[str] | None = None,
) -> set[str]:
    """The recipients of ``rule`` for ``payload``; ids not known yet are appended to ``unresolved``."""
    kind = rule.recipients
    data = payload.model_dump()
    if kind is RecipientKind.MEMBERSHIP_PERSON:
        if isinstance(payload, org.MembershipStarted):  # the fact names the person it projected
            return {payload.person_id}
        membership = await directory.membership(str(data["membership_id"]))
        return {membership.person_id} if membership else set()
    if kind is RecipientKind.GRID_TEAM:
        team = await directory.grid_team(str(data["grid_id"]))
        joined = data.get("person_id")
        return team - {joined} if joined else team
    if kind is RecipientKind.TEAM_MEMBERS:
        return (await directory.team(str(data["team_id"])))[1]
    if kind is RecipientKind.RESOURCE_PERSON:
        person, _name = await directory.resource(str(data["resource_id"]))
        return {person} if person else set()
    if kind is RecipientKind.REQUEST_ASSIGNEES:
        ids = data.get("assignee_ids")
        if ids is None:
            request = await directory.request(str(data["request_id"]))
            ids = list(request.assignee_ids) if request else []
        persons, unknown = await directory.persons_for_assignees(list(ids), book.coordinator_posts)
        if unresolved is not None:
            unresolved.extend(unknown)
        return persons
    if kind is RecipientKind.COMMUNITY_COORDINATORS:
        return await directory.community_coordinators(payload.community_code, book.coordinator_posts)
    if kind is RecipientKind.COMPOUND_OWNERS:
        owners = data.get("owner_person_ids")
        if owners is not None:  # the vote's own roll: no wait for the households' facts (another topic)
            return {str(p) for p in owners}
        return await directory.compound_owners(str(data["compound_code"]))
    if kind is RecipientKind.EVENT_PARTICIPANTS:
        return {str(p) for p in data.get("participant_person_ids") or []}
    if kind is RecipientKind.REQUEST_RESIDENT:
        request = await directory.request(str(data["request_id"]))
        return {request.resident_id} if request and request.resident_id else set()
    raise ValueError(f"no resolver for {kind}")  # pragma: no cover - the enum is exhaustive


def _local(value: datetime | None) -> str:
    return value.astimezone(CHINA).strftime("%m月%d日 %H:%M") if value else "—"


async def template_values(
    payload: EventPayload, directory: Directory, book: RuleBook, resources_url: str
) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in payload.model_dump(mode="json").items() if v is not None}
    values["resources_url"] = resources_url.rstrip("/")
    if isinstance(payload, org.MembershipStarted):
        # The membership as the fact has just projected it (no read back): only the name is read.
        values.update(
            post_label=book.label("post", payload.post),
            org_name=await directory.organisation_name(payload.org_id),
            start_date=payload.start_date.isoformat(),
            basis_reference=payload.basis_reference,
        )
    if isinstance(payload, org.MembershipEnded):
        membership = await directory.membership(payload.membership_id)
        if membership is not None:
            values.update(
                post_label=book.label("post", membership.post),
                org_name=membership.org_name,
                start_date=membership.start_date,
                basis_reference=membership.basis_reference,
            )
        if isinstance(payload, org.MembershipEnded):
            values["end_reason_label"] = book.label("end_reason", payload.reason.value)
    if isinstance(payload, resources.ResourceJoinedGrid):
        _person, name = await directory.resource(payload.resource_id)
        values["resource_name"] = name or payload.resource_id
        values["grid_name"] = await directory.grid_name(payload.grid_id) or payload.grid_id
    if isinstance(payload, resources.TeamMemberAdded):
        name, _members = await directory.team(payload.team_id)
        values["team_name"] = name or payload.team_id
    if isinstance(payload, deliberation.MeetingConvened):
        values["scheduled_local"] = _local(payload.scheduled_for)
        values["meeting_type_label"] = book.label("meeting_type", payload.meeting_type)
    if isinstance(payload, deliberation.VoteOpened):
        values["closes_local"] = _local(payload.closes_at)
    if isinstance(payload, deliberation.VoteClosed):
        values["outcome_label"] = book.label("outcome", payload.outcome.value)
    request_id = values.get("request_id")
    if isinstance(request_id, str) and not isinstance(payload, deliberation.ResolutionAdopted):
        request = await directory.request(request_id)
        if request is not None:
            values.setdefault("summary", request.summary)
            values.update(
                category=request.category,
                kind_label=book.label("kind", request.kind),
                urgency_label=book.label("urgency", request.urgency),
                due_at_local=_local(request.due_at),
            )
    if isinstance(payload, resources.RequestEscalated):
        values.update(
            from_tier_label=book.label("tier", payload.from_tier.value),
            to_tier_label=book.label("tier", payload.to_tier.value),
            escalation_label=book.label("escalation", payload.reason.value),
        )
    return values
