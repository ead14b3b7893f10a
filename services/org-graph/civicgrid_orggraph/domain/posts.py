"""Posts exist independently of who holds them (org:Post); each kind fits certain organisations."""

from __future__ import annotations

from civicgrid_orggraph.domain.shapes import OrgRef
from civicgrid_orggraph.domain.vocabulary import (
    BUILDING_POSTS,
    COMMUNITY_PARTY_KINDS,
    GRID_POSTS,
    PARTY_KINDS,
    SELF_GOVERNANCE_COMMITTEES,
    OrganisationKind,
    PlaceKind,
    PostKind,
)
from civicgrid_runtime.errors import RuleViolation

K = OrganisationKind
_COMMITTEES = frozenset(
    {
        *(PARTY_KINDS - {K.PARTY_GROUP, K.PARTY_HOUSEHOLD_HUB}),
        *SELF_GOVERNANCE_COMMITTEES,
        K.SUBCOMMITTEE,
    }
)
_FITS: dict[PostKind, frozenset[OrganisationKind]] = {
    PostKind.SECRETARY: PARTY_KINDS - {K.PARTY_GROUP, K.PARTY_HOUSEHOLD_HUB},
    PostKind.DEPUTY_SECRETARY: PARTY_KINDS - {K.PARTY_GROUP, K.PARTY_HOUSEHOLD_HUB},
    PostKind.COMMITTEE_MEMBER: _COMMITTEES,
    PostKind.PART_TIME_COMMITTEE_MEMBER: COMMUNITY_PARTY_KINDS,
    PostKind.GROUP_LEADER: frozenset({K.PARTY_GROUP, K.RESIDENTS_GROUP, K.VILLAGERS_GROUP}),
    PostKind.DIRECTOR: frozenset({*SELF_GOVERNANCE_COMMITTEES, K.SUBCOMMITTEE}),
    PostKind.DEPUTY_DIRECTOR: frozenset({*SELF_GOVERNANCE_COMMITTEES, K.SUBCOMMITTEE}),
    PostKind.COMMUNITY_WORKER: frozenset({*SELF_GOVERNANCE_COMMITTEES, *COMMUNITY_PARTY_KINDS}),
    PostKind.GRID_WORKER: frozenset({*SELF_GOVERNANCE_COMMITTEES, *COMMUNITY_PARTY_KINDS}),
    PostKind.GRID_LEADER: frozenset({*SELF_GOVERNANCE_COMMITTEES, *COMMUNITY_PARTY_KINDS}),
    PostKind.GRID_CONTACT_LEADER: frozenset({K.STREET_OFFICE, K.GOVERNMENT_DEPARTMENT}),
    PostKind.BUILDING_HEAD: frozenset({*SELF_GOVERNANCE_COMMITTEES, K.RESIDENTS_GROUP}),
    PostKind.RESIDENTS_REPRESENTATIVE: frozenset({*SELF_GOVERNANCE_COMMITTEES, K.RESIDENTS_GROUP}),
    PostKind.OWNERS_COMMITTEE_CHAIR: frozenset({K.OWNERS_COMMITTEE}),
    PostKind.OWNERS_COMMITTEE_MEMBER: frozenset({K.OWNERS_COMMITTEE}),
    PostKind.PROPERTY_MANAGER: frozenset({K.PROPERTY_COMPANY}),
    PostKind.PARTY_HOUSEHOLD_HUB_HEAD: frozenset({K.PARTY_HOUSEHOLD_HUB}),
}


def post_id(org_id: str, post: PostKind, scope_code: str | None) -> str:
    """A post's id: the organisation, the post kind and, for grid or building posts, what it covers."""
    return f"{org_id}:{post.value}" + (f":{scope_code}" if scope_code else "")


def check_post_fits(post: PostKind, org: OrgRef, grid_id: str | None, building: str | None) -> None:
    """Raise ``RuleViolation`` if ``post`` does not exist in ``org`` or lacks the grid/building it covers."""
    if org.kind not in _FITS[post]:
        allowed = ", ".join(sorted(k.value for k in _FITS[post]))
        raise RuleViolation(
            "post_fits_organisation", f"a {post} post exists in: {allowed}; {org.org_id} is a {org.kind}"
        )
    if post is PostKind.PART_TIME_COMMITTEE_MEMBER and org.place.kind not in (
        PlaceKind.COMMUNITY,
        PlaceKind.VILLAGE,
    ):
        raise RuleViolation(
            "post_fits_organisation",
            "part-time committee members sit on the party organisation of a community or village",
        )
    if (post in GRID_POSTS) != (grid_id is not None):
        raise RuleViolation(
            "grid_post_needs_grid",
            f"grid_id is required for {', '.join(sorted(GRID_POSTS))} and only for them",
        )
    if (post in BUILDING_POSTS) != (building is not None):
        raise RuleViolation(
            "building_post_needs_building",
            f"building_code is required for {', '.join(sorted(BUILDING_POSTS))} and only for them",
        )
