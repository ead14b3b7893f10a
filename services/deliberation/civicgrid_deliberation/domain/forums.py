"""Forums at four linked levels and the meeting types that run in them, as data.

A forum is a level and a place: the street (township), the community (village), the compound
(villager group), the building (entrance). Place codes follow org-graph: 12-digit division codes for
streets and communities, ``<community>-C01`` for a compound (or a villager group's 村湾 registered as
one), ``<compound>-B07`` or ``<village>-B12`` for a building, ``<building>-U2`` for an entrance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from civicgrid_deliberation.domain.voting import MeetingRules, Threshold
from civicgrid_runtime.errors import InvalidInput


class ForumLevel(StrEnum):
    STREET = "street"
    """街道/乡镇 协商."""
    COMMUNITY = "community"
    """社区/村 协商."""
    COMPOUND = "compound"
    """小区/村民小组 协商."""
    BUILDING = "building"
    """楼栋/单元 协商."""


_STREET = re.compile(r"^\d{9}000$")
_COMMUNITY = re.compile(r"^\d{12}$")
_COMPOUND = re.compile(r"^\d{12}-C[0-9A-Za-z]{1,8}$")
_BUILDING = re.compile(r"^\d{12}(-C[0-9A-Za-z]{1,8})?-B[0-9A-Za-z]{1,8}(-U[0-9A-Za-z]{1,8})?$")
_IN_COMPOUND = re.compile(r"^(\d{12}-C[0-9A-Za-z]{1,8})(-|$)")


@dataclass(frozen=True)
class Forum:
    level: ForumLevel
    place_code: str

    def __post_init__(self) -> None:
        pattern = {
            ForumLevel.STREET: _STREET,
            ForumLevel.COMMUNITY: _COMMUNITY,
            ForumLevel.COMPOUND: _COMPOUND,
            ForumLevel.BUILDING: _BUILDING,
        }[self.level]
        if not pattern.match(self.place_code) or (
            self.level is ForumLevel.COMMUNITY and _STREET.match(self.place_code)
        ):
            raise InvalidInput(
                f"{self.place_code!r} is not the code of a {self.level.value}", field="place_code"
            )

    @property
    def community_code(self) -> str:
        """The partition key: the community (for a street forum, the street's own 12-digit code)."""
        return self.place_code[:12]

    @property
    def compound_code(self) -> str | None:
        return compound_of(self.place_code)


def compound_of(place_code: str) -> str | None:
    """The compound a compound/building/entrance/household code lies in (None: not in a compound,
    e.g. a building directly in a village, ``420106002003-B12``)."""
    found = _IN_COMPOUND.match(place_code)
    return found.group(1) if found else None


class Party(StrEnum):
    """Which side a participant comes for (the tripartite meeting needs all three)."""

    COMMUNITY = "community"
    OWNERS = "owners"
    PROPERTY = "property"
    RESIDENTS = "residents"
    UNITS = "units"


@dataclass(frozen=True)
class Invitation:
    """Invite the members of organisations of ``org_kind`` found at ``where``: the forum's own
    place (``forum``) or the community the forum lies in (``community``)."""

    org_kind: str
    where: str
    party: Party


@dataclass(frozen=True)
class MeetingType:
    code: str
    label: str
    label_zh: str
    levels: frozenset[ForumLevel]
    invitations: tuple[Invitation, ...]
    rules: MeetingRules | None
    """How its resolutions pass by show of hands; ``None``: it resolves nothing (it hears, it advises)."""
    required_parties: frozenset[Party] = frozenset()
    """Parties that must attend before it may resolve anything."""


_MEMBERS = MeetingRules()
"""≥ 2/3 of members attend, > 1/2 of those attending agree (村民委员会组织法 for representative meetings)."""
_CONSULTATIVE = MeetingRules(
    quorum=Threshold(Fraction(0)),
    approval=Threshold(Fraction(1, 2), strict=True),
    name="majority_of_attending",
)
"""No quorum; > 1/2 of those attending agree."""

_ALL = frozenset(ForumLevel)

MEETING_TYPES: dict[str, MeetingType] = {
    t.code: t
    for t in (
        MeetingType(
            "representatives_meeting",
            "Residents' (villagers') representative meeting",
            "居(村)民代表会议",
            frozenset({ForumLevel.COMMUNITY}),
            (
                Invitation("residents_committee", "community", Party.COMMUNITY),
                Invitation("villagers_committee", "community", Party.COMMUNITY),
                Invitation("residents_group", "community", Party.RESIDENTS),
                Invitation("villagers_group", "community", Party.RESIDENTS),
            ),
            _MEMBERS,
        ),
        MeetingType(
            "villager_group_meeting",
            "Villager-group meeting (village evening talk)",
            "村民小组会议(村湾夜话)",
            frozenset({ForumLevel.COMPOUND}),
            (Invitation("villagers_group", "forum", Party.RESIDENTS),),
            _MEMBERS,
        ),
        MeetingType(
            "building_meeting",
            "Building meeting",
            "楼栋会议",
            frozenset({ForumLevel.BUILDING}),
            (
                Invitation("party_group", "forum", Party.COMMUNITY),
                Invitation("residents_group", "forum", Party.RESIDENTS),
            ),
            _CONSULTATIVE,
        ),
        MeetingType(
            "tripartite_joint_meeting",
            "Tripartite joint meeting (community, owners' committee, property company)",
            "三方联席会",
            frozenset({ForumLevel.COMPOUND}),
            (
                Invitation("party_committee", "community", Party.COMMUNITY),
                Invitation("residents_committee", "community", Party.COMMUNITY),
                Invitation("owners_committee", "forum", Party.OWNERS),
                Invitation("property_company", "forum", Party.PROPERTY),
            ),
            _CONSULTATIVE,
            frozenset({Party.COMMUNITY, Party.OWNERS, Party.PROPERTY}),
        ),
        MeetingType(
            "property_salon",
            "Property salon",
            "物业沙龙",
            frozenset({ForumLevel.COMPOUND, ForumLevel.BUILDING}),
            (
                Invitation("owners_committee", "forum", Party.OWNERS),
                Invitation("property_company", "forum", Party.PROPERTY),
            ),
            None,
        ),
        MeetingType(
            "decision_hearing",
            "Decision hearing",
            "决策听证会",
            _ALL,
            (
                Invitation("party_committee", "community", Party.COMMUNITY),
                Invitation("residents_committee", "community", Party.COMMUNITY),
            ),
            None,
        ),
        MeetingType(
            "democratic_appraisal",
            "Democratic appraisal meeting",
            "民主评议会",
            frozenset({ForumLevel.COMMUNITY}),
            (
                Invitation("residents_group", "community", Party.RESIDENTS),
                Invitation("villagers_group", "community", Party.RESIDENTS),
            ),
            None,
        ),
        MeetingType(
            "street_consultation",
            "Street (township) consultation meeting",
            "乡镇(街道)协商会",
            frozenset({ForumLevel.STREET}),
            (Invitation("street_office", "forum", Party.COMMUNITY),),
            _CONSULTATIVE,
        ),
    )
}


def meeting_type(code: str) -> MeetingType:
    try:
        return MEETING_TYPES[code]
    except KeyError:
        raise InvalidInput(
            f"unknown meeting type {code!r}; known: {', '.join(MEETING_TYPES)}", field="meeting_type"
        ) from None
