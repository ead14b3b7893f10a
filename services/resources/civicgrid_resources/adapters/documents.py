"""Aggregates to MongoDB documents and back (dates as ISO strings; datetimes as BSON dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from civicgrid_resources.domain.deployment import (
    GridPost,
    Offer,
    OfferKind,
    OfferStatus,
    ReportInBasis,
    ReportInStatus,
    Resource,
    ResourceKind,
    TimeSlot,
)
from civicgrid_resources.domain.needs import Need, NeedClaim
from civicgrid_resources.domain.points import EntryKind, PointsEntry
from civicgrid_resources.domain.requests import (
    Assignee,
    Evaluation,
    Outcome,
    ServiceRequest,
    Status,
    Tier,
    TimelineEntry,
    Urgency,
)
from civicgrid_resources.domain.teams import Team, TeamMember

Document = dict[str, Any]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _req_utc(value: datetime) -> datetime:
    result = _utc(value)
    assert result is not None
    return result


def _flag(value: object) -> int:
    return 1 if value else 0


def request_fields(r: ServiceRequest) -> Document:
    """Every stored field except ``_id``, ``version`` and the outbox. Counters are 0/1 for dashboards."""
    return {
        "community_code": r.community_code,
        "street_code": r.community_code[:9],
        "district_code": r.community_code[:6],
        "city_code": r.community_code[:4],
        "channel": r.channel,
        "kind": r.kind,
        "category": r.category,
        "urgency": r.urgency.value,
        "summary": r.summary,
        "received_at": r.received_at,
        "due_at": r.due_at,
        "grid_id": r.grid_id,
        "building_code": r.building_code,
        "household": r.household,
        "resident_person_id": r.resident_person_id,
        "external_ref": r.external_ref,
        "status": r.status.value,
        "open": _flag(r.status.value in ("received", "dispatched", "in_progress")),
        "tier": r.tier.value if r.tier else None,
        "assignees": [{"assignee_id": a.assignee_id, "person_id": a.person_id} for a in r.assignees],
        "assignee_ids": [a.assignee_id for a in r.assignees],
        "accepted_by": r.accepted_by,
        "escalations": r.escalations,
        "first_response_at": r.first_response_at,
        "resolved_at": r.resolved_at,
        "closed_at": r.closed_at,
        "outcome": r.outcome.value if r.outcome else None,
        "result": r.result,
        "evaluation": (
            {"rating": r.evaluation.rating, "comment": r.evaluation.comment, "at": r.evaluation.at}
            if r.evaluation
            else None
        ),
        "reopen_count": r.reopen_count,
        "sla_exhausted": r.sla_exhausted,
        "intake_grid_id": r.intake_grid_id,
        "address": r.address,
        "m_responded": _flag(r.first_response_at),
        "m_resolved": _flag(r.resolved_at or r.outcome is Outcome.RESOLVED),
        "m_evaluated": _flag(r.evaluation),
        "m_satisfied": _flag(r.evaluation and r.evaluation.rating >= 4),
        "m_rating": r.evaluation.rating if r.evaluation else 0,
        "m_escalated": _flag(r.escalations),
        "timeline": [
            {
                "at": t.at,
                "action": t.action,
                "status": t.status.value,
                "tier": t.tier.value if t.tier else None,
                "actor_id": t.actor_id,
                "note": t.note,
                "assignee_ids": t.assignee_ids,
            }
            for t in r.timeline
        ],
    }


def request_from(doc: Document) -> ServiceRequest:
    evaluation = doc.get("evaluation")
    return ServiceRequest(
        request_id=doc["_id"],
        community_code=doc["community_code"],
        channel=doc["channel"],
        kind=doc["kind"],
        category=doc["category"],
        urgency=Urgency(doc["urgency"]),
        summary=doc["summary"],
        received_at=_req_utc(doc["received_at"]),
        due_at=_req_utc(doc["due_at"]),
        grid_id=doc.get("grid_id"),
        building_code=doc.get("building_code"),
        household=doc.get("household"),
        resident_person_id=doc.get("resident_person_id"),
        external_ref=doc.get("external_ref"),
        status=Status(doc["status"]),
        tier=Tier(doc["tier"]) if doc.get("tier") else None,
        assignees=[Assignee(a["assignee_id"], a.get("person_id")) for a in doc.get("assignees", [])],
        accepted_by=doc.get("accepted_by"),
        escalations=int(doc.get("escalations", 0)),
        first_response_at=_utc(doc.get("first_response_at")),
        resolved_at=_utc(doc.get("resolved_at")),
        closed_at=_utc(doc.get("closed_at")),
        outcome=Outcome(doc["outcome"]) if doc.get("outcome") else None,
        result=doc.get("result"),
        evaluation=(
            Evaluation(evaluation["rating"], evaluation.get("comment"), _req_utc(evaluation["at"]))
            if evaluation
            else None
        ),
        reopen_count=int(doc.get("reopen_count", 0)),
        sla_exhausted=bool(doc.get("sla_exhausted", False)),
        # Requests stored before this field was kept: the grid they are in now.
        intake_grid_id=doc.get("intake_grid_id", None if doc.get("building_code") else doc.get("grid_id")),
        address=doc.get("address"),
        timeline=[
            TimelineEntry(
                at=_req_utc(t["at"]),
                action=t["action"],
                status=Status(t["status"]),
                tier=Tier(t["tier"]) if t.get("tier") else None,
                actor_id=t.get("actor_id"),
                note=t.get("note"),
                assignee_ids=list(t.get("assignee_ids", [])),
            )
            for t in doc.get("timeline", [])
        ],
        version=int(doc.get("version", 0)),
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def resource_fields(r: Resource) -> Document:
    return {
        "community_code": r.community_code,
        "street_code": r.community_code[:9],
        "kind": r.kind.value,
        "display_name": r.display_name,
        "basis": r.basis.value,
        "reported_at": r.reported_at,
        "person_id": r.person_id,
        "unit_id": r.unit_id,
        "employer": r.employer,
        "skills": list(r.skills),
        "availability": [{"weekday": s.weekday, "start": s.start, "end": s.end} for s in r.availability],
        "contact_preference": r.contact_preference,
        "status": r.status.value,
        "confirmed_by": r.confirmed_by,
        "confirmed_at": r.confirmed_at,
        "grids": [
            {
                "grid_id": p.grid_id,
                "role": p.role,
                "period_start": p.period_start.isoformat(),
                "period_end": p.period_end.isoformat() if p.period_end else None,
                "left_reason": p.left_reason,
                "membership_id": p.membership_id,
            }
            for p in r.grids
        ],
        "grid_ids": r.current_grid_ids(),
    }


def resource_from(doc: Document) -> Resource:
    return Resource(
        resource_id=doc["_id"],
        community_code=doc["community_code"],
        kind=ResourceKind(doc["kind"]),
        display_name=doc["display_name"],
        basis=ReportInBasis(doc["basis"]),
        reported_at=_req_utc(doc["reported_at"]),
        person_id=doc.get("person_id"),
        unit_id=doc.get("unit_id"),
        employer=doc.get("employer"),
        skills=list(doc.get("skills", [])),
        availability=[TimeSlot(s["weekday"], s["start"], s["end"]) for s in doc.get("availability", [])],
        contact_preference=doc.get("contact_preference"),
        status=ReportInStatus(doc["status"]),
        confirmed_by=doc.get("confirmed_by"),
        confirmed_at=_utc(doc.get("confirmed_at")),
        grids=[
            GridPost(
                p["grid_id"],
                p["role"],
                date.fromisoformat(p["period_start"]),
                _day(p.get("period_end")),
                p.get("left_reason"),
                p.get("membership_id"),
            )
            for p in doc.get("grids", [])
        ],
        version=int(doc.get("version", 0)),
    )


def offer_fields(o: Offer) -> Document:
    return {
        "resource_id": o.resource_id,
        "unit_id": o.unit_id,
        "community_code": o.community_code,
        "kind": o.kind.value,
        "title": o.title,
        "description": o.description,
        "tags": list(o.tags),
        "offered_at": o.offered_at,
        "status": o.status.value,
        "withdrawn_at": o.withdrawn_at,
        "withdrawn_reason": o.withdrawn_reason,
    }


def offer_from(doc: Document) -> Offer:
    """Offers stored before they had a status or a version read as offered, version 0."""
    return Offer(
        offer_id=doc["_id"],
        resource_id=doc["resource_id"],
        community_code=doc["community_code"],
        kind=OfferKind(doc["kind"]),
        title=doc["title"],
        offered_at=_req_utc(doc["offered_at"]),
        unit_id=doc.get("unit_id"),
        description=doc.get("description"),
        tags=list(doc.get("tags", [])),
        status=OfferStatus(doc.get("status", OfferStatus.OFFERED.value)),
        withdrawn_at=_utc(doc.get("withdrawn_at")),
        withdrawn_reason=doc.get("withdrawn_reason"),
        version=int(doc.get("version", 0)),
    )


def team_fields(t: Team) -> Document:
    return {
        "grid_id": t.grid_id,
        "community_code": t.community_code,
        "name": t.name,
        "leader_resource_id": t.leader_resource_id,
        "purpose": t.purpose,
        "formed_at": t.formed_at,
        "members": [
            {
                "resource_id": m.resource_id,
                "person_id": m.person_id,
                "unit_id": m.unit_id,
                "display_name": m.display_name,
                "kind": m.kind,
                "role": m.role,
                "added_at": m.added_at,
                "membership_id": m.membership_id,
                "period_start": m.period_start.isoformat() if m.period_start else None,
                "period_end": m.period_end.isoformat() if m.period_end else None,
            }
            for m in t.members
        ],
        "member_ids": [m.resource_id for m in t.members],
    }


def team_from(doc: Document) -> Team:
    return Team(
        team_id=doc["_id"],
        grid_id=doc["grid_id"],
        community_code=doc["community_code"],
        name=doc["name"],
        formed_at=_req_utc(doc["formed_at"]),
        leader_resource_id=doc.get("leader_resource_id"),
        purpose=doc.get("purpose"),
        members=[
            TeamMember(
                m["resource_id"],
                m.get("person_id"),
                m.get("unit_id"),
                m.get("display_name", ""),
                m.get("kind", ""),
                m.get("role") or "",
                _req_utc(m["added_at"]),
                m.get("membership_id"),
                _day(m.get("period_start")),
                _day(m.get("period_end")),
            )
            for m in doc.get("members", [])
        ],
        version=int(doc.get("version", 0)),
    )


def need_fields(n: Need) -> Document:
    return {
        "community_code": n.community_code,
        "title": n.title,
        "description": n.description,
        "tags": list(n.tags),
        "slots": n.slots,
        "remaining": n.remaining,
        "claimants": n.claimants,
        "claims": [
            {
                "claim_id": c.claim_id,
                "resource_id": c.resource_id,
                "team_id": c.team_id,
                "claimed_at": c.claimed_at,
                "completed_at": c.completed_at,
                "hours": c.hours,
            }
            for c in n.claims
        ],
        "published_at": n.published_at,
        "resolution_id": n.resolution_id,
        "list": "projects" if n.agreed_project else "needs",
    }


def need_from(doc: Document) -> Need:
    return Need(
        need_id=doc["_id"],
        community_code=doc["community_code"],
        title=doc["title"],
        published_at=_req_utc(doc["published_at"]),
        description=doc.get("description"),
        tags=list(doc.get("tags", [])),
        slots=int(doc["slots"]),
        claims=[
            NeedClaim(
                c["claim_id"],
                c.get("resource_id"),
                c.get("team_id"),
                _req_utc(c["claimed_at"]),
                _utc(c.get("completed_at")),
                c.get("hours"),
            )
            for c in doc.get("claims", [])
        ],
        resolution_id=doc.get("resolution_id"),
        version=int(doc.get("version", 0)),
    )


def entry_fields(e: PointsEntry) -> Document:
    fields: Document = {
        "kind": e.kind.value,
        "resource_id": e.resource_id,
        "person_id": e.person_id,
        "unit_id": e.unit_id,
        "community_code": e.community_code,
        "grid_ids": list(e.grid_ids),
        "points": e.points,
        "hours": e.hours,
        "reason": e.reason,
        "reference_id": e.reference_id,
        "at": e.at,
    }
    if e.kind is EntryKind.REDEMPTION:
        fields.update({"item": e.item, "balance_after": e.balance_after, "by": e.by})
    return fields


def entry_from(doc: Document) -> PointsEntry:
    return PointsEntry(
        entry_id=doc["_id"],
        kind=EntryKind(doc.get("kind", EntryKind.AWARD.value)),
        resource_id=doc["resource_id"],
        community_code=doc["community_code"],
        points=int(doc["points"]),
        hours=float(doc.get("hours", 0.0)),
        reason=doc.get("reason", ""),
        at=_req_utc(doc["at"]),
        person_id=doc.get("person_id"),
        unit_id=doc.get("unit_id"),
        grid_ids=list(doc.get("grid_ids", [])),
        reference_id=doc.get("reference_id"),
        item=doc.get("item"),
        balance_after=doc.get("balance_after"),
        by=doc.get("by"),
        version=int(doc.get("version", 0)),
    )


def public(doc: Document) -> Document:
    """A stored document as the API shows it: no outbox, ``_id`` as ``id``."""
    shown = {
        k: v
        for k, v in doc.items()
        if k not in ("_id", "outbox", "outbox_pending") and not k.startswith("m_")
    }
    return {"id": doc["_id"], **shown}
