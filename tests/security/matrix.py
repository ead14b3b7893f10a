"""THE authorisation table: for every HTTP route of every service, who may call it.

One row per route (``"METHOD /path"`` exactly as in the service's OpenAPI document), seven outcomes in
the order of ``ACTORS``:

    admin · coordinator of the object's region · coordinator of another region ·
    the member concerned · another member · integration · no token

Outcomes: ``ok`` = a 2xx answer; ``403`` = refused; ``hid`` = refused without saying whether the object
exists (403 or 404); ``422`` = refused as invalid input (a file whose rows lie outside the caller's region
is refused row by row); ``401`` = no or bad token.

The object of every row lies in street A of the run's region ("the object's region"); the coordinator
elsewhere is street B's. ``concerned`` names the member the row is about (see ``world.Persona``); the
other member is a bystander of street A, concerned by nothing. What each row calls is in ``calls.py``.

A route that appears in an OpenAPI document without a row here fails the matrix test: a new route must
be declared (and so thought about) before it ships. Rows are written from the services' documentation
(docs/*.md), i.e. what is intended, not from what the code does today.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.security.world import ACTORS, Actor, Persona

OUTCOMES = ("ok", "403", "hid", "422", "401")


@dataclass(frozen=True)
class Row:
    outcomes: str
    concerned: Persona = Persona.CADRE
    note: str = ""

    def expected(self) -> dict[Actor, str]:
        words = self.outcomes.split()
        assert len(words) == len(ACTORS), f"{self.outcomes!r}: one outcome per actor"
        assert set(words) <= set(OUTCOMES), f"{self.outcomes!r}: outcomes are {OUTCOMES}"
        return dict(zip(ACTORS, words, strict=True))


# The usual shapes, spelled out once (admin, here, elsewhere, concerned, other, integration, no token):
STAFF = "ok ok 403 403 403 403 401"
"""Coordinators of the object's region and admins only."""
STAFF_OR_SELF = "ok ok 403 ok 403 403 401"
"""...and the member the object is about."""
ADMIN_ONLY = "ok 403 403 403 403 403 401"
SELF_OR_ADMIN = "ok 403 403 ok 403 403 401"
"""A member's own feed, preferences and addresses: no coordinator reads them."""
ANY_TOKEN = "ok ok ok ok ok ok 401"
PUBLIC = "ok ok ok ok ok ok ok"
HANDLER = "ok ok 403 ok 403 403 401"
"""Handling a request: its region's coordinators, or a member who is one of its assignees."""
RESIDENT_ONLY = "403 403 403 ok 403 403 401"

MATRIX: dict[str, dict[str, Row]] = {
    "org-graph": {
        "GET /healthz": Row(PUBLIC),
        "GET /readyz": Row(PUBLIC),
        "POST /places": Row(STAFF, note="registers a building in community A"),
        "PATCH /places/{code}": Row(STAFF),
        "GET /places/{code}": Row(STAFF),
        "POST /places/{code}/dissolve": Row(STAFF),
        "POST /grids": Row(STAFF),
        "POST /buildings/{code}/grid": Row(STAFF),
        "POST /organisations": Row(STAFF),
        "PATCH /organisations/{org_id}": Row(STAFF),
        "GET /organisations/{org_id}": Row(STAFF),
        "PATCH /grids/{grid_id}": Row(STAFF),
        "POST /grids/{grid_id}/dissolve": Row(STAFF),
        "POST /organisations/{org_id}/dissolve": Row(STAFF),
        "POST /people": Row(STAFF),
        "POST /memberships": Row(
            STAFF, note="appoints a person of community A to community A's party committee"
        ),
        "POST /memberships/{membership_id}/end": Row(STAFF),
        "GET /buildings/{code}/responsibility-chain": Row(STAFF),
        "GET /communities/{code}/tree": Row(STAFF),
        "GET /communities/{code}/two-committees": Row(STAFF),
        "GET /people/{person_id}": Row(STAFF_OR_SELF, Persona.CADRE),
        "GET /people/{person_id}/posts": Row(STAFF_OR_SELF, Persona.CADRE),
        "GET /posts/{post_id}/holders": Row(STAFF),
        "GET /grids/{grid_id}/members": Row(STAFF),
        "GET /regions/{code}/coverage": Row(STAFF),
        "GET /regions/{code}/coverage/gaps/{metric}": Row(STAFF),
        "GET /regions/{code}/cross-appointment-flags": Row(STAFF),
        "GET /policy/cross-appointments": Row(ANY_TOKEN),
        "POST /imports/roster": Row(
            "ok ok 422 403 403 403 401",
            note="re-imports community A's own export; rows elsewhere: 422 per row",
        ),
        "POST /imports/posts": Row(
            "ok ok 422 403 403 403 401",
            note="re-imports community A's own export; rows elsewhere: 422 per row",
        ),
        "GET /exports/posts": Row(STAFF),
        "GET /exports/roster": Row(STAFF),
    },
    "resources": {
        "GET /healthz": Row(PUBLIC),
        "GET /readyz": Row(PUBLIC),
        "POST /requests": Row(STAFF),
        "GET /requests": Row(STAFF, note="community_code=A: a community's list is for its coordinators"),
        "GET /requests/{request_id}": Row("ok ok 403 ok 403 403 401", Persona.RESIDENT),
        "POST /requests/{request_id}/dispatch": Row(STAFF),
        "POST /requests/{request_id}/escalate": Row(HANDLER, Persona.CADRE),
        "POST /requests/{request_id}/decline": Row(HANDLER, Persona.CADRE),
        "POST /requests/{request_id}/accept": Row(HANDLER, Persona.CADRE),
        "POST /requests/{request_id}/progress": Row(HANDLER, Persona.CADRE),
        "POST /requests/{request_id}/resolve": Row(HANDLER, Persona.CADRE),
        "POST /requests/{request_id}/evaluate": Row(RESIDENT_ONLY, Persona.RESIDENT),
        "POST /requests/{request_id}/reopen": Row(
            "ok ok 403 ok 403 403 401", Persona.RESIDENT, note="the resident, or a supervisor of the region"
        ),
        "POST /requests/{request_id}/close": Row(STAFF),
        "POST /requests/{request_id}/move": Row(STAFF, note="to another grid of the same community"),
        "GET /supervision/rates": Row(STAFF),
        "GET /supervision/overdue": Row(STAFF),
        "POST /supervision/statistics/rebuild": Row(ADMIN_ONLY),
        "POST /resources": Row(STAFF_OR_SELF, Persona.CADRE, note="a member reports in only themselves"),
        "GET /resources": Row(STAFF),
        "GET /resources/{resource_id}": Row(STAFF_OR_SELF, Persona.CADRE),
        "POST /resources/{resource_id}/confirm": Row(STAFF),
        "POST /resources/{resource_id}/grids": Row(STAFF),
        "POST /resources/{resource_id}/grids/{grid_id}/leave": Row(STAFF),
        "GET /people/{person_id}/grids": Row(STAFF_OR_SELF, Persona.CADRE),
        "GET /communities/{community_code}/grids": Row(STAFF),
        "GET /grids/{grid_id}/team": Row(STAFF),
        "POST /teams": Row(STAFF),
        "POST /teams/{team_id}/members": Row(STAFF),
        "POST /needs": Row(STAFF),
        "GET /needs": Row(STAFF),
        "POST /needs/{need_id}/claims": Row(
            "ok ok hid ok hid hid 401",
            Persona.CADRE,
            note="the concerned member claims with their own resource; a need one may not see is not found",
        ),
        "POST /needs/{need_id}/claims/{claim_id}/complete": Row(STAFF),
        "GET /needs/{need_id}/matches": Row(STAFF),
        "POST /offers": Row(STAFF),
        "GET /offers/{offer_id}": Row(STAFF),
        "PATCH /offers/{offer_id}": Row(STAFF),
        "POST /offers/{offer_id}/withdraw": Row(STAFF),
        "GET /points/ranking": Row(STAFF),
        "POST /points/{resource_id}/redeem": Row(STAFF),
        "GET /points/{resource_id}": Row(STAFF_OR_SELF, Persona.CADRE),
        "GET /service-reports": Row(STAFF, note="resource_id= the cadre's resource"),
    },
    "notifications": {
        "GET /healthz": Row(PUBLIC),
        "GET /readyz": Row(PUBLIC),
        "GET /me": Row(ANY_TOKEN),
        "GET /members/{member_id}/feed": Row(SELF_OR_ADMIN),
        "GET /members/{member_id}/unread-count": Row(SELF_OR_ADMIN),
        "GET /members/{member_id}/feed/{item_id}": Row(SELF_OR_ADMIN, note="the app's view of one notice"),
        "POST /members/{member_id}/feed/{item_id}/state": Row(SELF_OR_ADMIN),
        "POST /members/{member_id}/feed/read-all": Row(SELF_OR_ADMIN),
        "GET /members/{member_id}/feed/{item_id}/deliveries": Row(SELF_OR_ADMIN),
        "GET /members/{member_id}/preferences": Row(SELF_OR_ADMIN),
        "PUT /members/{member_id}/preferences": Row(SELF_OR_ADMIN),
        "POST /members/{member_id}/push-subscriptions": Row(SELF_OR_ADMIN),
        "GET /members/{member_id}/push-subscriptions": Row(SELF_OR_ADMIN),
        "DELETE /members/{member_id}/push-subscriptions/{subscription_id}": Row(
            SELF_OR_ADMIN, note="issue 9: a subscription can be deleted"
        ),
        "PUT /members/{member_id}/contacts": Row(SELF_OR_ADMIN),
        "GET /members/{member_id}/stream": Row(SELF_OR_ADMIN),
        "GET /push/vapid-public-key": Row(PUBLIC),
        "GET /delivery-channels": Row(PUBLIC),
        "GET /app-config": Row(PUBLIC, note="where the phone app finds deliberation: read before sign-in"),
        "POST /broadcasts": Row(STAFF, note="audience community:A"),
        "GET /broadcasts/{broadcast_id}/deliveries": Row(STAFF, note="a broadcast to community A"),
        # Sign-in on a phone (issue 10): how a member gets a token, so no token is needed.
        "POST /auth/sms-code": Row(PUBLIC, note="a fresh number nobody has: 202, no SMS"),
        "POST /auth/sms-code/verify": Row(
            "401 401 401 401 401 401 401", note="a wrong code: whatever token is sent, no sign-in"
        ),
        "POST /auth/refresh": Row("401 401 401 401 401 401 401", note="a refresh token never issued"),
        "POST /auth/sign-out": Row(PUBLIC, note="revoking an unknown refresh token is a no-op (204)"),
    },
}


def rows() -> list[tuple[str, str, Row]]:
    return [(service, route, row) for service, table in MATRIX.items() for route, row in table.items()]


# -- org-graph: households (issue 11; docs/orggraph-households.md) -------------------------------------
# Every household route is for the coordinators of the household's region (and admins); a household
# roster file whose rows lie elsewhere is refused row by row (422), like the building roster.
MATRIX["org-graph"].update(
    {
        "POST /households": Row(
            STAFF, note="registers a unit of building A1 owned by community A's resident"
        ),
        "PATCH /households/{code}": Row(STAFF),
        "PUT /households/{code}/owners": Row(STAFF),
        "PUT /households/{code}/residents": Row(STAFF),
        "PUT /households/{code}/representative": Row(STAFF),
        "DELETE /households/{code}": Row(STAFF),
        "GET /households/{code}": Row(STAFF),
        "GET /people/{person_id}/households": Row(STAFF_OR_SELF, Persona.RESIDENT),
        "GET /buildings/{code}/households": Row(STAFF),
        "GET /compounds/{code}/households": Row(STAFF),
        "POST /imports/households": Row(
            "ok ok 422 403 403 403 401",
            note="re-imports community A's own household export; rows elsewhere: 422 per row",
        ),
        "GET /exports/households": Row(STAFF),
    }
)


# -- deliberation (issue 11; docs/deliberation.md) ------------------------------------------------------
# Coordinators act within their region; members act as their own person (a token without a person, as
# an admin's, a coordinator's or an integration's, casts no ballot, supports nothing, grades nothing).
# The object of every row lies in community A / compound A; the member concerned is the resident (owner
# of household A) unless the row says otherwise; the other member (bystander) owns and lives nowhere.
OWN_PERSON = "403 403 403 ok 403 403 401"
"""A person's own act (a ballot, a support, grades): a token naming that person."""
MEMBER_WITH_STANDING = "ok ok 403 ok 403 403 401"
"""Coordinators of the place, or a member who owns, lives in or represents a household there."""
MINE = "403 403 403 ok ok 403 401"
"""A person's own list: any token naming a person (empty for one with no household)."""

MATRIX["deliberation"] = {
    "GET /healthz": Row(PUBLIC),
    "GET /readyz": Row(PUBLIC),
    "GET /meeting-types": Row(ANY_TOKEN, note="reference data"),
    "GET /matters": Row(ANY_TOKEN, note="reference data"),
    "GET /compounds/{compound_code}/rules": Row(ANY_TOKEN, note="a compound's rules are no secret"),
    "PUT /compounds/{compound_code}/rules": Row(STAFF),
    "POST /meetings": Row(STAFF, note="a decision hearing of community A"),
    "GET /meetings": Row(STAFF, note="place_code=community A"),
    "GET /meetings/{meeting_id}": Row(STAFF_OR_SELF, Persona.CADRE, note="the cadre is a participant"),
    "POST /meetings/{meeting_id}/agenda": Row(STAFF, note="a topic of compound A"),
    "POST /meetings/{meeting_id}/attendance": Row(STAFF),
    "POST /meetings/{meeting_id}/hold": Row(STAFF),
    "POST /meetings/{meeting_id}/resolutions": Row(STAFF, note="on a held meeting"),
    "POST /meetings/{meeting_id}/close": Row(STAFF, note="a held meeting"),
    "POST /topics": Row(MEMBER_WITH_STANDING, Persona.RESIDENT, note="in compound A"),
    "GET /topics": Row(MEMBER_WITH_STANDING, Persona.RESIDENT, note="place_code=compound A"),
    "GET /topics/{topic_id}": Row(
        MEMBER_WITH_STANDING, Persona.RESIDENT, note="a topic is read where one may list it"
    ),
    "POST /topics/{topic_id}/support": Row(OWN_PERSON, Persona.RESIDENT, note="an owner of compound A"),
    "POST /votes": Row(STAFF, note="in compound A"),
    "GET /votes": Row(MINE, Persona.RESIDENT),
    "GET /me/votes": Row(
        MINE, Persona.RESIDENT, note="the phone app's list: empty for one with no household"
    ),
    "GET /me/votes/{vote_id}": Row(OWN_PERSON, Persona.RESIDENT, note="an owner of compound A"),
    "GET /votes/{vote_id}": Row(MEMBER_WITH_STANDING, Persona.RESIDENT, note="owners of compound A"),
    "POST /votes/{vote_id}/ballots": Row(OWN_PERSON, Persona.RESIDENT, note="household A's ballot"),
    "POST /votes/{vote_id}/close": Row(STAFF),
    "POST /appraisals": Row(STAFF),
    "GET /appraisals/{appraisal_id}": Row(STAFF_OR_SELF, Persona.RESIDENT, note="the named appraiser"),
    "POST /appraisals/{appraisal_id}/grades": Row(OWN_PERSON, Persona.RESIDENT, note="the named appraiser"),
    "POST /appraisals/{appraisal_id}/publish": Row(STAFF),
    "POST /disclosures": Row(STAFF, note="a finance item of community A"),
    # 码上公开: the public page of a community or compound and its QR code, read without signing in
    "GET /public/disclosures/{place_code}": Row(PUBLIC),
    "GET /public/disclosures/{place_code}/page": Row(PUBLIC),
    "GET /public/disclosures/{place_code}/qr.svg": Row(PUBLIC),
    "GET /public/disclosures/{place_code}/qr.png": Row(PUBLIC),
}
