"""One valid example payload per event type: documentation (AsyncAPI ``examples``) and test data."""

from __future__ import annotations

from datetime import UTC, date, datetime

from civicgrid_contracts.events import (
    AppointmentBasis,
    CrossAppointmentFlagged,
    EscalationReason,
    EventPayload,
    GridBuildingAssigned,
    GridBuildingMoved,
    GridDefined,
    HotlineRequestSubmitted,
    HouseholdOwner,
    HouseholdRegistered,
    HouseholdRemoved,
    HouseholdUpdated,
    MembershipEnded,
    MembershipEndReason,
    MembershipStarted,
    NeedClaimed,
    NeedPublished,
    NotificationDelivered,
    NotificationDeliveryFailed,
    OfferKind,
    OfferPublished,
    OfferUpdated,
    OfferWithdrawn,
    OrganisationDissolved,
    OrganisationFormed,
    OrganisationKind,
    PersonRegistered,
    PlaceDissolved,
    PlaceKind,
    PlaceRegistered,
    PlaceUpdated,
    PointsAwarded,
    PointsRedeemed,
    PopulationReported,
    RequestAccepted,
    RequestChannel,
    RequestClosed,
    RequestDispatched,
    RequestEscalated,
    RequestEvaluated,
    RequestKind,
    RequestMoved,
    RequestOutcome,
    RequestProgressed,
    RequestReceived,
    RequestReopened,
    RequestResolved,
    ResourceJoinedGrid,
    ResourceKind,
    ResourceLeftGrid,
    ResourceReportedIn,
    ResourceReportInConfirmed,
    TeamFormed,
    TeamMemberAdded,
    Tier,
    Urgency,
)
from civicgrid_contracts.events.org import GridDissolved, GridUpdated, OrganisationUpdated

COMMUNITY = "420102001001"
STREET = "420102001000"
GRID = COMMUNITY + "003"
OTHER_GRID = COMMUNITY + "004"
BUILDING = COMMUNITY + "-B07"
COMPOUND = COMMUNITY + "-C02"
HOUSEHOLD = BUILDING + "-U2-1203"
DUE = datetime(2025, 6, 3, 9, 30, tzinfo=UTC)


def example_payloads() -> dict[str, EventPayload]:
    """Event type → a valid payload of that type, all in community 420102001001."""
    c = COMMUNITY
    payloads: list[EventPayload] = [
        PlaceRegistered(
            community_code=c,
            kind=PlaceKind.BUILDING,
            code=BUILDING,
            name="7号楼",
            parent_code=COMPOUND,
            attributes={"households": 96, "floors": 18},
        ),
        PlaceUpdated(community_code=c, code=BUILDING, name="7栋", attributes={"floors": None}),
        PlaceDissolved(community_code=c, code=BUILDING, reason="demolished for renewal"),
        GridDefined(community_code=c, grid_id=GRID, name="第三网格", building_codes=[BUILDING]),
        GridBuildingMoved(community_code=c, building_code=BUILDING, from_grid_id=GRID, to_grid_id=OTHER_GRID),
        GridBuildingAssigned(
            community_code=c, building_code=BUILDING, grid_id=OTHER_GRID, previous_grid_id=GRID
        ),
        GridUpdated(community_code=c, grid_id=GRID, name="第三网格（东）"),
        GridDissolved(community_code=c, grid_id=OTHER_GRID, reason="merged into the third grid"),
        OrganisationFormed(
            community_code=c,
            org_id="org-oc-c02",
            kind=OrganisationKind.OWNERS_COMMITTEE,
            name="业主委员会",
            place_code=COMPOUND,
        ),
        OrganisationDissolved(
            community_code=c, org_id="org-oc-c02", reason="term ended, new committee elected"
        ),
        OrganisationUpdated(community_code=c, org_id="org-oc-c02", name="第二届业主委员会"),
        PersonRegistered(
            community_code=c, person_id="p-8f2c", display_name="王某", party_member=True, phone="138****5678"
        ),
        MembershipStarted(
            community_code=c,
            membership_id="m-51",
            person_id="p-8f2c",
            post="member",
            org_id="org-oc-c02",
            place_code=COMPOUND,
            start_date=date(2025, 3, 1),
            term_end_date=date(2030, 2, 28),
            basis=AppointmentBasis.OWNERS_ASSEMBLY_VOTE,
            basis_reference="owners' assembly 2025-02-20",
            cross_appointment=True,
        ),
        MembershipEnded(
            community_code=c,
            membership_id="m-51",
            end_date=date(2030, 2, 28),
            reason=MembershipEndReason.TERM_EXPIRED,
        ),
        CrossAppointmentFlagged(
            community_code=c,
            rule="owners_committee_requires_election",
            person_id="p-8f2c",
            membership_ids=["m-51"],
            details="owners' committee seat without an owners' assembly vote",
        ),
        HouseholdRegistered(
            community_code=c,
            household_code=HOUSEHOLD,
            compound_code=None,
            building_code=BUILDING,
            entrance_code=BUILDING + "-U2",
            unit_number="1203",
            exclusive_area_m2=89.56,
            owners=[HouseholdOwner(person_id="p-8f2c")],
            resident_person_ids=["p-8f2c", "p-8f2d"],
            representative_person_id="p-31aa",
            version=1,
        ),
        HouseholdUpdated(
            community_code=c,
            household_code=HOUSEHOLD,
            compound_code=None,
            building_code=BUILDING,
            entrance_code=BUILDING + "-U2",
            unit_number="1203",
            exclusive_area_m2=89.56,
            owners=[HouseholdOwner(person_id="p-8f2c"), HouseholdOwner(person_id="p-8f2d")],
            resident_person_ids=["p-8f2c", "p-8f2d"],
            representative_person_id="p-31aa",
            version=2,
        ),
        HouseholdRemoved(community_code=c, household_code=HOUSEHOLD, building_code=BUILDING, version=3),
        ResourceReportedIn(
            community_code=c,
            resource_id="r-77",
            kind=ResourceKind.IN_SERVICE_MEMBER,
            person_id="p-9a01",
            unit_id="unit-tax-bureau",
            display_name="李某",
            skills=["elderly care", "legal advice"],
        ),
        ResourceReportInConfirmed(community_code=c, resource_id="r-77", confirmed_by="p-secretary"),
        ResourceJoinedGrid(
            community_code=c,
            resource_id="r-77",
            person_id="p-9a01",
            grid_id=GRID,
            role="volunteer",
            period_start=date(2025, 4, 1),
        ),
        ResourceLeftGrid(community_code=c, resource_id="r-77", grid_id=GRID, period_end=date(2025, 12, 31)),
        TeamFormed(
            community_code=c, team_id="t-3", name="第三网格服务队", grid_id=GRID, leader_resource_id="r-77"
        ),
        TeamMemberAdded(community_code=c, team_id="t-3", resource_id="r-78", role="member"),
        NeedPublished(
            community_code=c, need_id="n-12", title="老旧小区加装电梯协调", tags=["elevator"], slots=2
        ),
        NeedClaimed(community_code=c, need_id="n-12", title="老旧小区加装电梯协调", team_id="t-3"),
        OfferPublished(
            community_code=c,
            offer_id="o-5",
            resource_id="r-90",
            unit_id="u-tax-bureau",
            kind=OfferKind.RESOURCE,
            title="法律咨询志愿服务",
            tags=["legal advice"],
        ),
        OfferUpdated(community_code=c, offer_id="o-5", title="法律咨询(每周六上午)", tags=["legal advice"]),
        OfferWithdrawn(community_code=c, offer_id="o-5", reason="the volunteers moved to another street"),
        PointsAwarded(
            community_code=c,
            award_id="a-1",
            resource_id="r-77",
            points=10,
            reason="need completed",
            reference_id="n-12",
        ),
        PointsRedeemed(
            community_code=c,
            redemption_id="redeem-1",
            resource_id="r-77",
            points=6,
            item="社区超市购物券",
            balance_after=4,
        ),
        RequestReceived(
            community_code=c,
            request_id="q-1001",
            channel=RequestChannel.HOTLINE12345,
            kind=RequestKind.HELP,
            category="water supply",
            urgency=Urgency.UTILITIES,
            building_code=BUILDING,
            grid_id=GRID,
            summary="no water since morning",
            due_at=DUE,
            external_ref="12345-20250602-0001",
        ),
        RequestDispatched(community_code=c, request_id="q-1001", tier=Tier.GRID, assignee_ids=["p-grid-3"]),
        RequestMoved(
            community_code=c,
            request_id="q-1001",
            from_grid_id=GRID,
            to_grid_id=OTHER_GRID,
            note="the building is in the fourth grid",
            actor_id="p-secretary",
        ),
        RequestEscalated(
            community_code=c,
            request_id="q-1001",
            from_tier=Tier.GRID,
            to_tier=Tier.COMMUNITY,
            reason=EscalationReason.BEYOND_AUTHORITY,
        ),
        RequestAccepted(community_code=c, request_id="q-1001", assignee_id="p-secretary"),
        RequestProgressed(
            community_code=c, request_id="q-1001", note="water company on site", actor_id="p-grid-3"
        ),
        RequestResolved(community_code=c, request_id="q-1001", result="pipe repaired, water back at 16:00"),
        RequestEvaluated(community_code=c, request_id="q-1001", rating=5, comment="fast"),
        RequestReopened(community_code=c, request_id="q-1001", reason="pressure still low on floors 15-18"),
        RequestClosed(community_code=c, request_id="q-1001", outcome=RequestOutcome.RESOLVED),
        NotificationDelivered(
            community_code=c, notification_id="nt-5", member_id="p-8f2c", channel="web_push", attempts=1
        ),
        NotificationDeliveryFailed(
            community_code=c,
            notification_id="nt-6",
            member_id="p-8f2c",
            channel="web_push",
            attempts=3,
            error="subscription expired (410)",
        ),
        HotlineRequestSubmitted(
            community_code=c,
            ticket_no="12345-20250602-0001",
            received_at=datetime(2025, 6, 2, 1, 5, tzinfo=UTC),
            kind=RequestKind.HELP,
            category="water supply",
            urgency=Urgency.UTILITIES,
            address="江岸区某街道某社区7号楼",
            building_code=BUILDING,
            description="no water since morning",
            caller_phone="139****0001",
        ),
        PopulationReported(community_code=c, as_of=date(2024, 12, 31), residents=12636, households=4453),
    ]
    return {payload.event_type: payload for payload in payloads}
