"""Who reads what: for every event type of the catalogue, each consumer and the payload fields it uses.

Declared by hand from the consumers' code (resources' places projection, grid appointments, 12345
intake and resolutions intake, org-graph's population intake, notifications' directory, recipients
and rule templates, deliberation's organisation, post and household projections) and checked by
``tests/contract/test_consumer_fields.py``: every catalogued type has an entry, every field named here
exists in the payload model, and every type a consumer's routes take is declared for it. An empty
entry means "no consumer in CivicGrid yet: published for municipal systems".

A producer that wants to remove or rename a field looks here first: a field listed here is read.
"""

from __future__ import annotations

from collections.abc import Mapping

RESOURCES_PLACES = "resources.places"
"""resources' local projection of org-graph's places and grids (adapters/places.py)."""
RESOURCES_HOTLINE = "resources.hotline"
"""resources' 12345 hotline intake (service_layer/intake.py)."""
RESOURCES_APPOINTMENTS = "resources.memberships"
"""resources' grid teams from org-graph's appointments to grid posts (service_layer/appointments.py)."""
ORGGRAPH_POPULATION = "org-graph.population"
"""org-graph's population statistics intake (entrypoints/consumers.py)."""
NOTIFICATIONS_FACTS = "notifications.facts"
"""notifications' directory projection, recipients and messages (service_layer/notify.py)."""
RESOURCES_RESOLUTIONS = "resources.deliberation"
"""resources' intake of adopted resolutions onto the needs list (service_layer/needs.py)."""
DELIBERATION_ORG = "deliberation.org"
"""deliberation's organisations and posts: who a meeting invites (service_layer/projections.py)."""
DELIBERATION_HOUSEHOLDS = "deliberation.households"
"""deliberation's households: a vote's roll, a topic's supporters (service_layer/projections.py)."""

CONSUMERS: tuple[str, ...] = (
    RESOURCES_PLACES,
    RESOURCES_HOTLINE,
    RESOURCES_APPOINTMENTS,
    ORGGRAPH_POPULATION,
    NOTIFICATIONS_FACTS,
    RESOURCES_RESOLUTIONS,
    DELIBERATION_ORG,
    DELIBERATION_HOUSEHOLDS,
)

_C = "community_code"

CONSUMED_FIELDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    # -- org-graph: places and grids -------------------------------------------------------------
    "cn.civicgrid.org.place.registered.v1": {
        RESOURCES_PLACES: (_C, "kind", "code", "name", "parent_code", "attributes"),
        NOTIFICATIONS_FACTS: (_C, "kind", "code", "name"),
    },
    "cn.civicgrid.org.place.updated.v1": {
        RESOURCES_PLACES: (_C, "code", "name", "attributes"),
        NOTIFICATIONS_FACTS: (_C, "code", "name"),
    },
    "cn.civicgrid.org.place.dissolved.v1": {
        RESOURCES_PLACES: ("code",),
        NOTIFICATIONS_FACTS: (_C,),
    },
    "cn.civicgrid.org.grid.defined.v1": {
        RESOURCES_PLACES: (_C, "grid_id", "name", "building_codes"),
        NOTIFICATIONS_FACTS: (_C, "grid_id", "name"),
    },
    "cn.civicgrid.org.grid.building_moved.v1": {
        RESOURCES_PLACES: (_C, "building_code", "from_grid_id", "to_grid_id"),
        NOTIFICATIONS_FACTS: (_C,),
    },
    "cn.civicgrid.org.grid.building_assigned.v1": {
        RESOURCES_PLACES: (_C, "building_code", "grid_id", "previous_grid_id"),
        NOTIFICATIONS_FACTS: (_C,),
    },
    "cn.civicgrid.org.grid.updated.v1": {
        RESOURCES_PLACES: ("grid_id", "name"),
        NOTIFICATIONS_FACTS: (_C,),
    },
    "cn.civicgrid.org.grid.dissolved.v1": {
        RESOURCES_PLACES: ("grid_id",),
        NOTIFICATIONS_FACTS: (_C,),
    },
    # -- org-graph: organisations, people, posts -------------------------------------------------
    "cn.civicgrid.org.organisation.formed.v1": {
        NOTIFICATIONS_FACTS: (_C, "org_id", "kind", "name", "place_code"),
        DELIBERATION_ORG: (_C, "org_id", "kind", "place_code", "parent_org_id"),
    },
    "cn.civicgrid.org.organisation.dissolved.v1": {
        NOTIFICATIONS_FACTS: (_C, "org_id"),
        DELIBERATION_ORG: (_C, "org_id"),
    },
    "cn.civicgrid.org.organisation.updated.v1": {
        NOTIFICATIONS_FACTS: (_C,),
    },
    "cn.civicgrid.org.person.registered.v1": {
        NOTIFICATIONS_FACTS: (_C, "person_id", "display_name"),
        RESOURCES_APPOINTMENTS: ("person_id", "display_name"),
    },
    "cn.civicgrid.org.membership.started.v1": {
        NOTIFICATIONS_FACTS: (
            _C,
            "membership_id",
            "person_id",
            "post",
            "org_id",
            "grid_id",
            "place_code",
            "start_date",
            "basis_reference",
        ),
        DELIBERATION_ORG: (_C, "membership_id", "person_id", "post", "org_id", "place_code"),
        RESOURCES_APPOINTMENTS: (_C, "membership_id", "person_id", "post", "grid_id", "start_date"),
    },
    "cn.civicgrid.org.membership.ended.v1": {
        NOTIFICATIONS_FACTS: (_C, "membership_id", "end_date", "reason"),
        DELIBERATION_ORG: ("membership_id",),
        RESOURCES_APPOINTMENTS: ("membership_id", "end_date"),
    },
    "cn.civicgrid.org.cross_appointment.flagged.v1": {
        NOTIFICATIONS_FACTS: (_C, "person_id"),
    },
    # -- org-graph: households (deliberation's eligibility projection reads them) ------------------
    "cn.civicgrid.org.household.registered.v1": {
        NOTIFICATIONS_FACTS: (_C, "household_code", "compound_code", "owners", "version"),
        DELIBERATION_HOUSEHOLDS: (
            _C,
            "household_code",
            "compound_code",
            "building_code",
            "exclusive_area_m2",
            "owners",
            "resident_person_ids",
            "representative_person_id",
            "version",
        ),
    },
    "cn.civicgrid.org.household.updated.v1": {
        NOTIFICATIONS_FACTS: (_C, "household_code", "compound_code", "owners", "version"),
        DELIBERATION_HOUSEHOLDS: (
            _C,
            "household_code",
            "compound_code",
            "building_code",
            "exclusive_area_m2",
            "owners",
            "resident_person_ids",
            "representative_person_id",
            "version",
        ),
    },
    "cn.civicgrid.org.household.removed.v1": {
        NOTIFICATIONS_FACTS: (_C, "household_code", "version"),
        DELIBERATION_HOUSEHOLDS: ("household_code", "version"),
    },
    # -- resources: deployment -------------------------------------------------------------------
    "cn.civicgrid.resources.resource.reported_in.v1": {
        NOTIFICATIONS_FACTS: (_C, "resource_id", "person_id", "display_name"),
    },
    "cn.civicgrid.resources.resource.report_in_confirmed.v1": {
        NOTIFICATIONS_FACTS: (_C, "resource_id"),
    },
    "cn.civicgrid.resources.resource.joined_grid.v1": {
        NOTIFICATIONS_FACTS: (_C, "resource_id", "person_id", "grid_id", "role", "period_start"),
    },
    "cn.civicgrid.resources.resource.left_grid.v1": {
        NOTIFICATIONS_FACTS: (_C, "resource_id", "grid_id"),
    },
    "cn.civicgrid.resources.team.formed.v1": {
        NOTIFICATIONS_FACTS: (_C, "team_id", "name", "grid_id", "leader_resource_id"),
    },
    "cn.civicgrid.resources.team.member_added.v1": {
        NOTIFICATIONS_FACTS: (_C, "team_id", "resource_id"),
    },
    "cn.civicgrid.resources.need.published.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.need.claimed.v1": {NOTIFICATIONS_FACTS: (_C, "resource_id", "team_id")},
    "cn.civicgrid.resources.offer.published.v1": {NOTIFICATIONS_FACTS: (_C, "resource_id")},
    "cn.civicgrid.resources.offer.updated.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.offer.withdrawn.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.points.awarded.v1": {NOTIFICATIONS_FACTS: (_C, "resource_id")},
    "cn.civicgrid.resources.points.redeemed.v1": {NOTIFICATIONS_FACTS: (_C, "resource_id")},
    # -- resources: requests ---------------------------------------------------------------------
    "cn.civicgrid.resources.request.received.v1": {
        NOTIFICATIONS_FACTS: (
            _C,
            "request_id",
            "grid_id",
            "kind",
            "category",
            "urgency",
            "summary",
            "due_at",
            "resident_person_id",
        ),
    },
    "cn.civicgrid.resources.request.dispatched.v1": {
        NOTIFICATIONS_FACTS: (_C, "request_id", "assignee_ids"),
    },
    "cn.civicgrid.resources.request.moved.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.request.escalated.v1": {
        NOTIFICATIONS_FACTS: (_C, "request_id", "from_tier", "to_tier", "reason"),
    },
    "cn.civicgrid.resources.request.accepted.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.request.progressed.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.request.resolved.v1": {NOTIFICATIONS_FACTS: (_C, "request_id", "result")},
    "cn.civicgrid.resources.request.evaluated.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.request.reopened.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.resources.request.closed.v1": {NOTIFICATIONS_FACTS: (_C,)},
    # -- deliberation (resources takes adopted resolutions; notifications tells participants and coordinators)
    "cn.civicgrid.deliberation.meeting.convened.v1": {
        NOTIFICATIONS_FACTS: (
            _C,
            "meeting_id",
            "title",
            "meeting_type",
            "scheduled_for",
            "participant_person_ids",
        ),
    },
    "cn.civicgrid.deliberation.meeting.held.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.deliberation.topic.raised.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.deliberation.topic.motion_reached.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.deliberation.vote.opened.v1": {
        NOTIFICATIONS_FACTS: (_C, "vote_id", "compound_code", "title", "closes_at")
    },
    "cn.civicgrid.deliberation.vote.closed.v1": {
        NOTIFICATIONS_FACTS: (_C, "vote_id", "compound_code", "outcome")
    },
    "cn.civicgrid.deliberation.resolution.adopted.v1": {
        RESOURCES_RESOLUTIONS: (
            _C,
            "resolution_id",
            "title",
            "summary",
            "place_code",
            "meeting_id",
            "vote_id",
            "topic_id",
            "request_id",
            "need_id",
        ),
        NOTIFICATIONS_FACTS: (_C, "title"),
    },
    "cn.civicgrid.deliberation.resolution.rejected.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.deliberation.appraisal.published.v1": {NOTIFICATIONS_FACTS: (_C,)},
    "cn.civicgrid.deliberation.disclosure.published.v1": {NOTIFICATIONS_FACTS: (_C,)},
    # -- notifications: delivery outcomes (for municipal systems and operations) -------------------
    "cn.civicgrid.notifications.notification.delivered.v1": {},
    "cn.civicgrid.notifications.notification.delivery_failed.v1": {},
    # -- municipal inbound -----------------------------------------------------------------------
    "cn.civicgrid.municipal.hotline12345.request.submitted.v1": {
        RESOURCES_HOTLINE: (
            _C,
            "ticket_no",
            "received_at",
            "kind",
            "category",
            "urgency",
            "address",
            "building_code",
            "description",
        ),
    },
    "cn.civicgrid.municipal.statistics.population.reported.v1": {
        ORGGRAPH_POPULATION: (_C, "as_of", "residents", "households"),
    },
}


def consumers_of(event_type: str) -> Mapping[str, tuple[str, ...]]:
    """The consumers of ``event_type`` and the fields each reads (empty: none in CivicGrid yet)."""
    return CONSUMED_FIELDS[event_type]


def types_consumed_by(consumer: str) -> frozenset[str]:
    """Every event type ``consumer`` is declared to take."""
    return frozenset(t for t, readers in CONSUMED_FIELDS.items() if consumer in readers)
