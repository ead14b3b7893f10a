"""org-graph's facts into deliberation's own projections: organisations and posts (who is invited),
households (who may vote, with which area). Routing is data: payload class → handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from civicgrid_contracts.events import households as hh
from civicgrid_contracts.events import org
from civicgrid_contracts.events.base import EventPayload
from civicgrid_deliberation.domain.voting import area_hundredths
from civicgrid_deliberation.service_layer.ports import ProjectionStore

Handler = Callable[[ProjectionStore, Any], Awaitable[None]]


async def organisation_formed(store: ProjectionStore, e: org.OrganisationFormed) -> None:
    await store.organisation(
        e.org_id,
        {
            "kind": e.kind.value,
            "place_code": e.place_code,
            "community_code": e.community_code,
            "parent_org_id": e.parent_org_id,
            "dissolved": False,
        },
    )


async def organisation_dissolved(store: ProjectionStore, e: org.OrganisationDissolved) -> None:
    await store.organisation(e.org_id, {"community_code": e.community_code, "dissolved": True})
    await store.dissolve_memberships_of(e.org_id)


async def membership_started(store: ProjectionStore, e: org.MembershipStarted) -> None:
    await store.membership(
        e.membership_id,
        {
            "person_id": e.person_id,
            "org_id": e.org_id,
            "post": e.post,
            "place_code": e.place_code,
            "community_code": e.community_code,
            "active": True,
        },
    )


async def membership_ended(store: ProjectionStore, e: org.MembershipEnded) -> None:
    await store.membership(e.membership_id, {"active": False})


def household_fields(e: hh.HouseholdRegistered | hh.HouseholdUpdated) -> dict[str, Any]:
    return {
        "community_code": e.community_code,
        "compound_code": e.compound_code,
        "building_code": e.building_code,
        "area_hundredths": area_hundredths(e.exclusive_area_m2),
        "owners": [o.person_id for o in e.owners],
        "residents": list(e.resident_person_ids),
        "representative": e.representative_person_id,
    }


async def household_state(store: ProjectionStore, e: hh.HouseholdRegistered | hh.HouseholdUpdated) -> None:
    await store.household(e.household_code, e.version, household_fields(e))


async def household_removed(store: ProjectionStore, e: hh.HouseholdRemoved) -> None:
    await store.household(e.household_code, e.version, None)


ORG_FACTS: dict[type[EventPayload], Handler] = {
    org.OrganisationFormed: organisation_formed,
    org.OrganisationDissolved: organisation_dissolved,
    org.MembershipStarted: membership_started,
    org.MembershipEnded: membership_ended,
}

HOUSEHOLD_FACTS: dict[type[EventPayload], Handler] = {
    hh.HouseholdRegistered: household_state,
    hh.HouseholdUpdated: household_state,
    hh.HouseholdRemoved: household_removed,
}
