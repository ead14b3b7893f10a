"""Shape rules of both hierarchies: where each kind of organisation may sit and what it hangs under.

Every rule has a name; a wrong shape raises ``RuleViolation(rule, message)`` (a 422 naming the rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from civicgrid_orggraph.domain.vocabulary import (
    COMMUNITY_PARTY_KINDS,
    DIVISIONS,
    OrganisationKind,
    PlaceKind,
)
from civicgrid_runtime.errors import RuleViolation

K = OrganisationKind
P = PlaceKind


@dataclass(frozen=True)
class PlaceRef:
    code: str
    kind: PlaceKind
    parent_code: str | None
    name: str = ""


@dataclass(frozen=True)
class OrgRef:
    org_id: str
    kind: OrganisationKind
    place: PlaceRef


CheckFn = Callable[[PlaceRef, OrgRef | None], None]


def _need(condition: bool, rule: str, message: str) -> None:
    if not condition:
        raise RuleViolation(rule, message)


def _parent_at(parent: OrgRef | None, kinds: frozenset[OrganisationKind], place_code: str) -> bool:
    return parent is not None and parent.kind in kinds and parent.place.code == place_code


def check_organisation_shape(kind: OrganisationKind, place: PlaceRef, parent: OrgRef | None) -> None:
    """Raise ``RuleViolation`` if an organisation of ``kind`` may not sit at ``place`` under ``parent``."""
    checker = _CHECKS[kind]
    checker(place, parent)


def _community_party(place: PlaceRef, parent: OrgRef | None) -> None:
    if place.kind is P.COMPOUND:
        _need(
            _parent_at(parent, COMMUNITY_PARTY_KINDS, place.parent_code or ""),
            "compound_party_branch_under_community_party_organisation",
            f"a compound party branch hangs under the party committee, general branch or branch of "
            f"community {place.parent_code}, the community containing compound {place.code}",
        )
        return
    _need(
        place.kind in (P.COMMUNITY, P.VILLAGE, *DIVISIONS),
        "party_organisation_place",
        f"a party committee, general branch or branch sits at a division, community, village or "
        f"compound, not at a {place.kind} (a building has a building party group)",
    )


def _compound_party_branch(place: PlaceRef, parent: OrgRef | None) -> None:
    _community_party(place, parent)


def _party_group(place: PlaceRef, parent: OrgRef | None) -> None:
    if place.kind is P.BUILDING and place.parent_code and "-C" in place.code:
        _need(
            _parent_at(parent, frozenset({K.PARTY_BRANCH}), place.parent_code),
            "building_party_group_under_compound_branch",
            f"a building party group hangs under the compound party branch of compound "
            f"{place.parent_code}, which contains building {place.code}",
        )
        return
    if place.kind is P.BUILDING:
        _need(
            _parent_at(parent, COMMUNITY_PARTY_KINDS, place.parent_code or ""),
            "building_party_group_under_compound_branch",
            f"a party group of a village building hangs under the party organisation of village "
            f"{place.parent_code}",
        )
        return
    _need(
        place.kind is P.VILLAGE,
        "villager_group_party_group_only_in_village",
        f"a party group sits at a building (building party group) or in a village (villager-group "
        f"party group); a {place.kind} cannot have one",
    )
    _need(
        _parent_at(parent, COMMUNITY_PARTY_KINDS, place.code),
        "villager_group_party_group_under_village_party_organisation",
        f"a villager-group party group hangs under the party branch (general branch, committee) of "
        f"village {place.code}",
    )


def _household_hub(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(
        parent is not None
        and parent.kind is K.PARTY_GROUP
        and place.kind in (P.BUILDING, P.VILLAGE)
        and parent.place.code in (place.code, place.parent_code),
        "party_household_hub_under_party_group",
        "a party household hub sits at a building (or in a village) and hangs under the party group "
        "of that building (or of that village)",
    )


def _self_governance_committee(place_kind: PlaceKind, rule: str) -> CheckFn:
    def check(place: PlaceRef, parent: OrgRef | None) -> None:
        _need(place.kind is place_kind, rule, f"this committee sits at a {place_kind}, not a {place.kind}")
        _need(parent is None, rule, "a residents' or villagers' committee has no parent organisation")

    return check


def _subcommittee(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(
        _parent_at(parent, frozenset({K.RESIDENTS_COMMITTEE, K.VILLAGERS_COMMITTEE}), place.code),
        "subcommittee_under_committee",
        "a subcommittee hangs under the residents' or villagers' committee of the same place",
    )


def _residents_group(place: PlaceRef, parent: OrgRef | None) -> None:
    community = place.code if place.kind is P.COMMUNITY else place.parent_code or ""
    _need(
        place.kind in (P.COMMUNITY, P.COMPOUND)
        and _parent_at(parent, frozenset({K.RESIDENTS_COMMITTEE}), community),
        "residents_group_under_residents_committee",
        "a residents' group sits in a community (or one of its compounds) under that community's "
        "residents' committee",
    )


def _villagers_group(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(
        place.kind is P.VILLAGE and _parent_at(parent, frozenset({K.VILLAGERS_COMMITTEE}), place.code),
        "villagers_group_under_villagers_committee",
        "a villager group exists only in a village, under that village's villagers' committee",
    )


def _owners_assembly(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(
        place.kind is P.COMPOUND and parent is None,
        "owners_assembly_per_compound",
        "an owners' assembly belongs to one compound and has no parent organisation",
    )


def _owners_committee(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(
        place.kind is P.COMPOUND and _parent_at(parent, frozenset({K.OWNERS_ASSEMBLY}), place.code),
        "owners_committee_elected_by_assembly",
        "an owners' committee belongs to one compound and hangs under that compound's owners' assembly",
    )


def _property_company(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(
        place.kind is P.COMPOUND and parent is None,
        "property_company_serves_compound",
        "a property company is recorded at the compound it serves, with no parent organisation",
    )


def _street_office(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(place.kind is P.STREET, "street_office_at_street", "a street office sits at a street (township)")


def _government_department(place: PlaceRef, parent: OrgRef | None) -> None:
    _need(
        place.kind in DIVISIONS,
        "government_department_at_division",
        "a government department sits at a province, city, district or street",
    )


def _anywhere(place: PlaceRef, parent: OrgRef | None) -> None:
    return None


_CHECKS: dict[OrganisationKind, CheckFn] = {
    K.PARTY_COMMITTEE: _community_party,
    K.PARTY_GENERAL_BRANCH: _community_party,
    K.PARTY_BRANCH: _compound_party_branch,
    K.PARTY_GROUP: _party_group,
    K.PARTY_HOUSEHOLD_HUB: _household_hub,
    K.RESIDENTS_COMMITTEE: _self_governance_committee(P.COMMUNITY, "residents_committee_in_community"),
    K.VILLAGERS_COMMITTEE: _self_governance_committee(P.VILLAGE, "villagers_committee_in_village"),
    K.SUBCOMMITTEE: _subcommittee,
    K.RESIDENTS_GROUP: _residents_group,
    K.VILLAGERS_GROUP: _villagers_group,
    K.OWNERS_ASSEMBLY: _owners_assembly,
    K.OWNERS_COMMITTEE: _owners_committee,
    K.PROPERTY_COMPANY: _property_company,
    K.STREET_OFFICE: _street_office,
    K.GOVERNMENT_DEPARTMENT: _government_department,
    K.SOCIAL_ORGANISATION: _anywhere,
}


def uniqueness_group(kind: OrganisationKind, place_kind: PlaceKind) -> str | None:
    """Organisations of one group may have only one active member per place (None: no limit)."""
    if kind in COMMUNITY_PARTY_KINDS and place_kind in (P.COMMUNITY, P.VILLAGE):
        return "community_party_organisation"
    if kind is K.PARTY_BRANCH and place_kind is P.COMPOUND:
        return "compound_party_branch"
    if kind is K.PARTY_GROUP and place_kind is P.BUILDING:
        return "building_party_group"
    if kind in (
        K.RESIDENTS_COMMITTEE,
        K.VILLAGERS_COMMITTEE,
        K.OWNERS_ASSEMBLY,
        K.OWNERS_COMMITTEE,
        K.PROPERTY_COMPANY,
        K.STREET_OFFICE,
    ):
        return kind.value
    return None
