"""The words of the org graph: kinds of places, organisations and posts; bases of appointment."""

from __future__ import annotations

from enum import StrEnum


class PlaceKind(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    VILLAGE = "village"
    COMPOUND = "compound"
    BUILDING = "building"


DIVISIONS = (PlaceKind.PROVINCE, PlaceKind.CITY, PlaceKind.DISTRICT, PlaceKind.STREET)
BASE_UNITS = (PlaceKind.COMMUNITY, PlaceKind.VILLAGE)

PARENT_KIND: dict[PlaceKind, tuple[PlaceKind, ...]] = {
    PlaceKind.PROVINCE: (),
    PlaceKind.CITY: (PlaceKind.PROVINCE,),
    PlaceKind.DISTRICT: (PlaceKind.CITY,),
    PlaceKind.STREET: (PlaceKind.DISTRICT,),
    PlaceKind.COMMUNITY: (PlaceKind.STREET,),
    PlaceKind.VILLAGE: (PlaceKind.STREET,),
    PlaceKind.COMPOUND: (PlaceKind.COMMUNITY,),
    PlaceKind.BUILDING: (PlaceKind.COMPOUND, PlaceKind.VILLAGE),
}
"""Which kind of place each kind hangs under. Rural buildings hang directly under their village."""


class OrganisationKind(StrEnum):
    PARTY_COMMITTEE = "party_committee"
    PARTY_GENERAL_BRANCH = "party_general_branch"
    PARTY_BRANCH = "party_branch"
    PARTY_GROUP = "party_group"
    PARTY_HOUSEHOLD_HUB = "party_household_hub"
    RESIDENTS_COMMITTEE = "residents_committee"
    VILLAGERS_COMMITTEE = "villagers_committee"
    SUBCOMMITTEE = "subcommittee"
    RESIDENTS_GROUP = "residents_group"
    VILLAGERS_GROUP = "villagers_group"
    OWNERS_ASSEMBLY = "owners_assembly"
    OWNERS_COMMITTEE = "owners_committee"
    PROPERTY_COMPANY = "property_company"
    STREET_OFFICE = "street_office"
    GOVERNMENT_DEPARTMENT = "government_department"
    SOCIAL_ORGANISATION = "social_organisation"


PARTY_KINDS = frozenset(
    {
        OrganisationKind.PARTY_COMMITTEE,
        OrganisationKind.PARTY_GENERAL_BRANCH,
        OrganisationKind.PARTY_BRANCH,
        OrganisationKind.PARTY_GROUP,
        OrganisationKind.PARTY_HOUSEHOLD_HUB,
    }
)
COMMUNITY_PARTY_KINDS = frozenset(
    {OrganisationKind.PARTY_COMMITTEE, OrganisationKind.PARTY_GENERAL_BRANCH, OrganisationKind.PARTY_BRANCH}
)
SELF_GOVERNANCE_COMMITTEES = frozenset(
    {OrganisationKind.RESIDENTS_COMMITTEE, OrganisationKind.VILLAGERS_COMMITTEE}
)


class PostKind(StrEnum):
    SECRETARY = "secretary"
    DEPUTY_SECRETARY = "deputy_secretary"
    COMMITTEE_MEMBER = "committee_member"
    PART_TIME_COMMITTEE_MEMBER = "part_time_committee_member"
    GROUP_LEADER = "group_leader"
    DIRECTOR = "director"
    DEPUTY_DIRECTOR = "deputy_director"
    COMMUNITY_WORKER = "community_worker"
    GRID_WORKER = "grid_worker"
    GRID_LEADER = "grid_leader"
    GRID_CONTACT_LEADER = "grid_contact_leader"
    BUILDING_HEAD = "building_head"
    RESIDENTS_REPRESENTATIVE = "residents_representative"
    OWNERS_COMMITTEE_CHAIR = "owners_committee_chair"
    OWNERS_COMMITTEE_MEMBER = "owners_committee_member"
    PROPERTY_MANAGER = "property_manager"
    PARTY_HOUSEHOLD_HUB_HEAD = "party_household_hub_head"


SINGLE_HOLDER_POSTS = frozenset(
    {
        PostKind.SECRETARY,
        PostKind.GROUP_LEADER,
        PostKind.DIRECTOR,
        PostKind.GRID_LEADER,
        PostKind.BUILDING_HEAD,
        PostKind.OWNERS_COMMITTEE_CHAIR,
        PostKind.PROPERTY_MANAGER,
        PostKind.PARTY_HOUSEHOLD_HUB_HEAD,
    }
)
"""Posts one person holds at a time; the others (members, workers, representatives) have many seats."""

GRID_POSTS = frozenset({PostKind.GRID_WORKER, PostKind.GRID_LEADER, PostKind.GRID_CONTACT_LEADER})
BUILDING_POSTS = frozenset({PostKind.BUILDING_HEAD, PostKind.RESIDENTS_REPRESENTATIVE})

COMMUNITY_WORKER_POSTS = frozenset(
    {
        PostKind.SECRETARY,
        PostKind.DEPUTY_SECRETARY,
        PostKind.COMMITTEE_MEMBER,
        PostKind.DIRECTOR,
        PostKind.DEPUTY_DIRECTOR,
        PostKind.COMMUNITY_WORKER,
        PostKind.GRID_WORKER,
    }
)
TWO_COMMITTEE_POSTS = frozenset(
    {
        PostKind.SECRETARY,
        PostKind.DEPUTY_SECRETARY,
        PostKind.COMMITTEE_MEMBER,
        PostKind.PART_TIME_COMMITTEE_MEMBER,
        PostKind.DIRECTOR,
        PostKind.DEPUTY_DIRECTOR,
    }
)
"""Posts that make someone a member of the two committees (a building head is not one)."""
"""Posts counted as community workers (社区工作者) for the 18-per-10,000 standard: full-time posts in
the two committees and full-time grid workers (part-time members are not counted)."""


class AppointmentBasis(StrEnum):
    ELECTION = "election"
    APPOINTMENT = "appointment"
    OWNERS_ASSEMBLY_VOTE = "owners_assembly_vote"


class EndReason(StrEnum):
    TERM_EXPIRED = "term_expired"
    RESIGNED = "resigned"
    DISMISSED = "dismissed"
    RECALLED = "recalled"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"
    ORGANISATION_DISSOLVED = "organisation_dissolved"
    OTHER = "other"
