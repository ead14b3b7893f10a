"""Cross-appointments (双向进入、交叉任职) as named policy rules, each set to reject, flag or off.

Defaults follow the 2025 Hubei plan; a deployment may change a rule's mode in its settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from civicgrid_orggraph.domain.shapes import OrgRef
from civicgrid_orggraph.domain.vocabulary import (
    COMMUNITY_PARTY_KINDS,
    SELF_GOVERNANCE_COMMITTEES,
    TWO_COMMITTEE_POSTS,
    AppointmentBasis,
    OrganisationKind,
    PlaceKind,
    PostKind,
)

K = OrganisationKind


class RuleMode(StrEnum):
    REJECT = "reject"
    FLAG = "flag"
    OFF = "off"


OWNERS_COMMITTEE_BY_ASSEMBLY_VOTE = "owners_committee_requires_assembly_vote"
PART_TIME_MEMBER_QUALIFIED = "part_time_member_is_party_member_heading_the_body"
CHAIR_MANAGES_PROPERTY_COMPANY = "owners_committee_chair_manages_property_company"

DEFAULT_POLICY: dict[str, RuleMode] = {
    OWNERS_COMMITTEE_BY_ASSEMBLY_VOTE: RuleMode.REJECT,
    PART_TIME_MEMBER_QUALIFIED: RuleMode.REJECT,
    CHAIR_MANAGES_PROPERTY_COMPANY: RuleMode.FLAG,
}
RULE_DESCRIPTIONS = {
    OWNERS_COMMITTEE_BY_ASSEMBLY_VOTE: "a two-committee member may sit on an owners' committee only on "
    "an owners'-assembly vote with a reference",
    PART_TIME_MEMBER_QUALIFIED: "a part-time member of the community party organisation drawn from an "
    "owners' committee or property company must be a party member and that body's responsible person",
    CHAIR_MANAGES_PROPERTY_COMPANY: "one person chairs the owners' committee and manages the property "
    "company serving the same compound",
}
RESPONSIBLE_POSTS = {
    K.OWNERS_COMMITTEE: PostKind.OWNERS_COMMITTEE_CHAIR,
    K.PROPERTY_COMPANY: PostKind.PROPERTY_MANAGER,
}


def body_of(org: OrgRef) -> str | None:
    """Which of the bodies that cross-appoint an organisation is: two committees, owners or property."""
    if org.kind in SELF_GOVERNANCE_COMMITTEES or (
        org.kind in COMMUNITY_PARTY_KINDS and org.place.kind in (PlaceKind.COMMUNITY, PlaceKind.VILLAGE)
    ):
        return "two_committees"
    if org.kind is K.OWNERS_COMMITTEE:
        return "owners_committee"
    if org.kind is K.PROPERTY_COMPANY:
        return "property_company"
    return None


@dataclass(frozen=True)
class Holding:
    membership_id: str
    post: PostKind
    org: OrgRef


@dataclass(frozen=True)
class Appointment:
    person_id: str
    party_member: bool
    post: PostKind
    org: OrgRef
    basis: AppointmentBasis
    basis_reference: str
    drawn_from: OrgRef | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    mode: RuleMode
    message: str
    membership_ids: tuple[str, ...] = field(default_factory=tuple)


def serves_in(post: PostKind, org: OrgRef) -> str | None:
    """The body a post makes its holder a member of (a building head is not a two-committee member)."""
    body = body_of(org)
    if body == "two_committees" and post not in TWO_COMMITTEE_POSTS:
        return None
    return body


def is_cross_appointment(appointment: Appointment, holdings: Sequence[Holding]) -> bool:
    """True when the new post joins a body different from one the person already serves in."""
    new_body = serves_in(appointment.post, appointment.org)
    if new_body is None:
        return False
    return any((b := serves_in(h.post, h.org)) is not None and b != new_body for h in holdings)


def evaluate(
    policy: Mapping[str, RuleMode], appointment: Appointment, holdings: Sequence[Holding]
) -> list[Finding]:
    """Every rule the appointment breaks (rules set to ``off`` are skipped)."""
    findings: list[Finding] = []

    def add(rule: str, message: str, memberships: Sequence[str] = ()) -> None:
        mode = policy.get(rule, DEFAULT_POLICY[rule])
        if mode is not RuleMode.OFF:
            findings.append(Finding(rule, mode, message, tuple(memberships)))

    two_committee = [h for h in holdings if serves_in(h.post, h.org) == "two_committees"]
    if (
        appointment.org.kind is K.OWNERS_COMMITTEE
        and two_committee
        and appointment.basis is not AppointmentBasis.OWNERS_ASSEMBLY_VOTE
    ):
        add(
            OWNERS_COMMITTEE_BY_ASSEMBLY_VOTE,
            f"{appointment.person_id} serves on the two committees, so an owners' committee post needs "
            f"basis owners_assembly_vote with the vote's reference (got {appointment.basis})",
            [h.membership_id for h in two_committee],
        )
    if appointment.post is PostKind.PART_TIME_COMMITTEE_MEMBER:
        _part_time_member(appointment, holdings, add)
    chair_or_manager = {PostKind.OWNERS_COMMITTEE_CHAIR, PostKind.PROPERTY_MANAGER}
    if appointment.post in chair_or_manager:
        other = (chair_or_manager - {appointment.post}).pop()
        clashes = [h for h in holdings if h.post is other and h.org.place.code == appointment.org.place.code]
        if clashes:
            add(
                CHAIR_MANAGES_PROPERTY_COMPANY,
                f"{appointment.person_id} would both chair the owners' committee and manage the property "
                f"company of compound {appointment.org.place.code}",
                [h.membership_id for h in clashes],
            )
    return findings


def _part_time_member(appointment: Appointment, holdings: Sequence[Holding], add: _Add) -> None:
    bodies = [h for h in holdings if h.org.kind in RESPONSIBLE_POSTS]
    drawn = appointment.drawn_from
    if drawn is None and not bodies:
        return
    if drawn is not None and drawn.kind not in RESPONSIBLE_POSTS:
        add(
            PART_TIME_MEMBER_QUALIFIED,
            f"drawn_from_org_id must be an owners' committee or a property company, not a {drawn.kind}",
        )
        return
    heads = [
        h
        for h in bodies
        if h.post is RESPONSIBLE_POSTS[h.org.kind] and (drawn is None or h.org.org_id == drawn.org_id)
    ]
    if not appointment.party_member or not heads:
        which = drawn.org_id if drawn is not None else "the owners' committee or property company"
        add(
            PART_TIME_MEMBER_QUALIFIED,
            f"{appointment.person_id} must be a party member (is: {appointment.party_member}) and the "
            f"responsible person (chair or manager) of {which}",
            [h.membership_id for h in bodies],
        )


class _Add(Protocol):
    def __call__(self, rule: str, message: str, memberships: Sequence[str] = ()) -> None: ...
