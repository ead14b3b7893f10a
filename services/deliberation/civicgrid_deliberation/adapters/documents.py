"""Aggregates to MongoDB documents and back. Mapping as data: one (fields, load) pair per aggregate."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from civicgrid_deliberation.domain.appraisals import Appraisal, AppraisalStatus, Grade
from civicgrid_deliberation.domain.disclosure import DisclosureItem, DisclosureKind, Figure
from civicgrid_deliberation.domain.forums import Forum, ForumLevel, Party
from civicgrid_deliberation.domain.meetings import AgendaItem, Meeting, MeetingStatus, Participant, Resolution
from civicgrid_deliberation.domain.topics import RaisedAs, Topic, TopicStatus
from civicgrid_deliberation.domain.votes import Vote, VoteStatus
from civicgrid_deliberation.domain.voting import AssemblyRules, MeetingDecision, MeetingRules, decide_meeting

Document = dict[str, Any]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def meeting_fields(m: Meeting) -> Document:
    return {
        "level": m.forum.level.value,
        "place_code": m.forum.place_code,
        "community_code": m.community_code,
        "type_code": m.type_code,
        "title": m.title,
        "scheduled_for": m.scheduled_for,
        "convened_by": m.convened_by,
        "participants": [
            {
                "person_id": p.person_id,
                "org_id": p.org_id,
                "org_kind": p.org_kind,
                "post": p.post,
                "party": p.party.value,
            }
            for p in m.participants
        ],
        "participant_ids": [p.person_id for p in m.participants],
        "agenda": [{"item_id": i.item_id, "title": i.title, "topic_id": i.topic_id} for i in m.agenda],
        "status": m.status.value,
        "attendance": list(m.attendance),
        "minutes": m.minutes,
        "resolutions": [
            {
                "resolution_id": r.resolution_id,
                "title": r.title,
                "summary": r.summary,
                "topic_id": r.topic_id,
                "request_id": r.request_id,
                "need_id": r.need_id,
                "decision": _decision_fields(r.decision, m.type.rules),
            }
            for r in m.resolutions
        ],
    }


def _decision_fields(d: MeetingDecision, rules: MeetingRules | None) -> Document:
    attendance = next(m for m in d.measures if m.name == "attendance")
    return {
        **d.to_data(),
        "members": int(attendance.denominator),
        "attending": int(attendance.numerator),
        "rules_data": (rules or MeetingRules()).to_data(),
    }


def _decision_from(data: Document) -> MeetingDecision:
    # Recomputed from the recorded counts under the recorded rules: the same arithmetic, exactly.
    return decide_meeting(
        data["members"],
        data["attending"],
        data["approve"],
        data["oppose"],
        data["abstain"],
        MeetingRules.from_data(data["rules_data"]),
    )


def meeting_from(doc: Document) -> Meeting:
    return Meeting(
        meeting_id=doc["_id"],
        forum=Forum(ForumLevel(doc["level"]), doc["place_code"]),
        type_code=doc["type_code"],
        title=doc["title"],
        scheduled_for=_utc(doc["scheduled_for"]),
        convened_by=doc["convened_by"],
        participants=[
            Participant(p["person_id"], p["org_id"], p["org_kind"], p["post"], Party(p["party"]))
            for p in doc["participants"]
        ],
        agenda=[AgendaItem(i["item_id"], i["title"], i.get("topic_id")) for i in doc.get("agenda", [])],
        status=MeetingStatus(doc["status"]),
        attendance=list(doc.get("attendance", [])),
        minutes=doc.get("minutes", ""),
        resolutions=[
            Resolution(
                r["resolution_id"],
                r["title"],
                r["summary"],
                _decision_from(r["decision"]),
                r.get("topic_id"),
                r.get("request_id"),
                r.get("need_id"),
            )
            for r in doc.get("resolutions", [])
        ],
        version=doc.get("version", 0),
    )


def topic_fields(t: Topic) -> Document:
    return {
        "community_code": t.community_code,
        "place_code": t.place_code,
        "compound_code": t.compound_code,
        "title": t.title,
        "description": t.description,
        "raised_by": t.raised_by,
        "raised_as": t.raised_as.value,
        "request_id": t.request_id,
        "need_id": t.need_id,
        "status": t.status.value,
        "supporters": list(t.supporters),
        "motion": t.motion,
    }


def topic_from(doc: Document) -> Topic:
    return Topic(
        topic_id=doc["_id"],
        community_code=doc["community_code"],
        place_code=doc["place_code"],
        title=doc["title"],
        description=doc.get("description", ""),
        raised_by=doc["raised_by"],
        raised_as=RaisedAs(doc["raised_as"]),
        request_id=doc.get("request_id"),
        need_id=doc.get("need_id"),
        status=TopicStatus(doc["status"]),
        supporters=list(doc.get("supporters", [])),
        motion=doc.get("motion"),
        version=doc.get("version", 0),
    )


def vote_fields(v: Vote) -> Document:
    return {
        "community_code": v.community_code,
        "compound_code": v.compound_code,
        "title": v.title,
        "matter_code": v.matter_code,
        "rules": v.rules.to_data(),
        "opened_by": v.opened_by,
        "opened_at": v.opened_at,
        "closes_at": v.closes_at,
        "eligible_voters": v.eligible_voters,
        "topic_id": v.topic_id,
        "request_id": v.request_id,
        "need_id": v.need_id,
        "status": v.status.value,
        "decision": v.decision,
        "resolution_id": v.resolution_id,
    }


def vote_from(doc: Document) -> Vote:
    return Vote(
        vote_id=doc["_id"],
        community_code=doc["community_code"],
        compound_code=doc["compound_code"],
        title=doc["title"],
        matter_code=doc["matter_code"],
        rules=AssemblyRules.from_data(doc["rules"]),
        opened_by=doc["opened_by"],
        opened_at=_utc(doc["opened_at"]),
        closes_at=_utc(doc["closes_at"]),
        eligible_voters=doc["eligible_voters"],
        topic_id=doc.get("topic_id"),
        request_id=doc.get("request_id"),
        need_id=doc.get("need_id"),
        status=VoteStatus(doc["status"]),
        decision=doc.get("decision"),
        resolution_id=doc.get("resolution_id"),
        version=doc.get("version", 0),
    )


def appraisal_fields(a: Appraisal) -> Document:
    return {
        "community_code": a.community_code,
        "title": a.title,
        "subjects": a.subjects,
        "appraisers": a.appraisers,
        # Lists of objects, not maps keyed by person id (ids may hold '.', a path to MongoDB) nor
        # arrays of arrays (FerretDB 1.24 stores none).
        "grades": [
            {"by": k, "grades": [{"s": s, "g": g.value} for s, g in v.items()]} for k, v in a.grades.items()
        ],
        "status": a.status.value,
        "results": a.results,
    }


def appraisal_from(doc: Document) -> Appraisal:
    return Appraisal(
        appraisal_id=doc["_id"],
        community_code=doc["community_code"],
        title=doc["title"],
        subjects=list(doc["subjects"]),
        appraisers=list(doc["appraisers"]),
        grades={g["by"]: {e["s"]: Grade(e["g"]) for e in g["grades"]} for g in doc.get("grades", [])},
        status=AppraisalStatus(doc["status"]),
        results=list(doc.get("results", [])),
        version=doc.get("version", 0),
    )


def disclosure_fields(d: DisclosureItem) -> Document:
    return {
        "place_code": d.place_code,
        "community_code": d.community_code,
        "compound_code": d.compound_code,
        "kind": d.kind.value,
        "title": d.title,
        "body": d.body,
        "published_at": d.published_at,
        "published_by": d.published_by,
        "figures": [f.to_data() for f in d.figures],
        "source_id": d.source_id,
    }


def disclosure_from(doc: Document) -> DisclosureItem:
    return DisclosureItem(
        item_id=doc["_id"],
        place_code=doc["place_code"],
        kind=DisclosureKind(doc["kind"]),
        title=doc["title"],
        body=doc.get("body", ""),
        published_at=_utc(doc["published_at"]),
        published_by=doc.get("published_by", ""),
        figures=[Figure(f["label"], Decimal(f["amount"]), f.get("unit", "")) for f in doc.get("figures", [])],
        source_id=doc.get("source_id"),
        version=doc.get("version", 0),
    )
