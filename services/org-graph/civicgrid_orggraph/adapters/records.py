"""Turning Neo4j values into the service layer's records."""

from __future__ import annotations

from datetime import date
from typing import Any

from neo4j.time import Date

from civicgrid_orggraph.domain.shapes import OrgRef, PlaceRef
from civicgrid_orggraph.domain.vocabulary import AppointmentBasis, OrganisationKind, PlaceKind, PostKind
from civicgrid_orggraph.service_layer.ports import MembershipRecord, OrgRecord, PersonRecord, PlaceRecord

ATTRIBUTE_PREFIX = "a_"


def to_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, Date):
        return value.to_native()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def attributes_of(node: dict[str, Any]) -> dict[str, Any]:
    return {k[len(ATTRIBUTE_PREFIX) :]: v for k, v in node.items() if k.startswith(ATTRIBUTE_PREFIX)}


def place(node: dict[str, Any]) -> PlaceRecord:
    return PlaceRecord(
        code=node["code"],
        kind=PlaceKind(node["kind"]),
        name=node["name"],
        parent_code=node.get("parent_code"),
        active=bool(node.get("active", True)),
        attributes=attributes_of(node),
    )


def org_ref(node: dict[str, Any], place_node: dict[str, Any]) -> OrgRef:
    p = place(place_node)
    return OrgRef(node["id"], OrganisationKind(node["kind"]), PlaceRef(p.code, p.kind, p.parent_code, p.name))


def org(node: dict[str, Any], place_node: dict[str, Any]) -> OrgRecord:
    return OrgRecord(
        ref=org_ref(node, place_node),
        name=node["name"],
        parent_org_id=node.get("parent_id"),
        active=bool(node.get("active", True)),
    )


def person(node: dict[str, Any]) -> PersonRecord:
    return PersonRecord(
        person_id=node["id"],
        display_name=node["display_name"],
        party_member=bool(node["party_member"]),
        phone=node.get("phone"),
        community_code=node["community_code"],
    )


def membership(node: dict[str, Any]) -> MembershipRecord:
    start = to_date(node["start_date"])
    assert start is not None
    return MembershipRecord(
        membership_id=node["id"],
        person_id=node["person_id"],
        post_id=node["post_id"],
        post=PostKind(node["post"]),
        org_id=node["org_id"],
        community_code=node["community_code"],
        start_date=start,
        end_date=to_date(node.get("end_date")),
        basis=AppointmentBasis(node["basis"]),
    )
