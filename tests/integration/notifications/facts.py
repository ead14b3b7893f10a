"""Builders of org-graph and resources contract events for notification tests (unique ids per test)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events import org, resources
from civicgrid_contracts.events.base import EventPayload
from civicgrid_contracts.events.common import RequestChannel, RequestKind, Urgency

_STREETS = random.sample(range(100, 1000), 900)


def new_community() -> str:
    """A community code no other test of this run uses, in a street of its own (district 420106):
    broadcasts to a street (``street:420106xxx``) made by one test never reach another test's members
    (two random streets once met in a CI run, and a member's badge counted a stranger's broadcast)."""
    street = _STREETS.pop() if _STREETS else random.randint(100, 999)
    return f"420106{street}{random.randint(100, 999)}"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def event(payload: EventPayload, source: str = "/civicgrid/tests", **extra_data: Any) -> CloudEvent:
    built = new_event(payload, source=source)
    if extra_data:
        return built.model_copy(update={"data": {**built.data, **extra_data}})
    return built


def organisation(community: str, org_id: str, name: str = "中和社区居民委员会") -> CloudEvent:
    return event(
        org.OrganisationFormed(
            community_code=community,
            org_id=org_id,
            kind=org.OrganisationKind.RESIDENTS_COMMITTEE,
            name=name,
            place_code=community,
        )
    )


def appointed(
    community: str, person_id: str, org_id: str, post: str = "building_head", membership_id: str | None = None
) -> CloudEvent:
    return event(
        org.MembershipStarted(
            community_code=community,
            membership_id=membership_id or uid("m"),
            person_id=person_id,
            post=post,
            org_id=org_id,
            place_code=community,
            start_date=date(2025, 7, 1),
            basis=org.AppointmentBasis.ELECTION,
            basis_reference="2025年居委会换届选举",
            cross_appointment=False,
        )
    )


def reported_in(community: str, resource_id: str, person_id: str, name: str) -> CloudEvent:
    return event(
        resources.ResourceReportedIn(
            community_code=community,
            resource_id=resource_id,
            kind=resources.ResourceKind.VOLUNTEER,
            person_id=person_id,
            display_name=name,
        )
    )


def team_formed(community: str, team_id: str, grid_id: str) -> CloudEvent:
    return event(
        resources.TeamFormed(
            community_code=community, team_id=team_id, name="第一网格服务队", grid_id=grid_id
        )
    )


def team_member(community: str, team_id: str, resource_id: str) -> CloudEvent:
    return event(
        resources.TeamMemberAdded(community_code=community, team_id=team_id, resource_id=resource_id)
    )


def request_received(community: str, request_id: str, grid_id: str, resident_id: str | None) -> CloudEvent:
    payload = resources.RequestReceived(
        community_code=community,
        request_id=request_id,
        channel=RequestChannel.HOTLINE12345,
        kind=RequestKind.HELP,
        category="楼道照明",
        urgency=Urgency.UTILITIES,
        grid_id=grid_id,
        summary="3栋2单元楼道灯不亮",
        due_at=datetime.now(UTC) + timedelta(hours=24),
    )
    return event(payload, resident_person_id=resident_id) if resident_id else event(payload)


def dispatched(community: str, request_id: str, assignee_ids: list[str]) -> CloudEvent:
    return event(
        resources.RequestDispatched(
            community_code=community,
            request_id=request_id,
            tier=resources.Tier.GRID,
            assignee_ids=assignee_ids,
        )
    )


def escalated(community: str, request_id: str) -> CloudEvent:
    return event(
        resources.RequestEscalated(
            community_code=community,
            request_id=request_id,
            from_tier=resources.Tier.GRID,
            to_tier=resources.Tier.COMMUNITY,
            reason=resources.EscalationReason.DEADLINE_PASSED,
        )
    )


def resolved(community: str, request_id: str) -> CloudEvent:
    return event(
        resources.RequestResolved(community_code=community, request_id=request_id, result="已更换灯泡")
    )
