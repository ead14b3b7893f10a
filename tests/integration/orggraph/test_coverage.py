"""Coverage and standards analytics for a region, with the gaps by name."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid_runtime.auth import Role
from tests.integration.orggraph.builders import appoint, community_orgs, person
from tests.integration.orggraph.conftest import Api, NewCommunity, build_compound

pytestmark = pytest.mark.integration


def _indicator(report: Any, name: str) -> Any:
    return next(i for i in report["indicators"] if i["name"] == name)


async def test_coverage_counts_compounds_buildings_and_owners_committees_with_gaps_by_name(
    api: Api, new_community: NewCommunity
):
    c = await new_community(residents=10000, households=4000, area=1000.0)
    await build_compound(api, c, compound=1, buildings=2)
    await build_compound(api, c, compound=2, buildings=1)
    orgs = await community_orgs(api, c)
    report = await api.ok("GET", f"/regions/{c.code}/coverage")
    assert report["counts"]["compounds"] == 2
    assert _indicator(report, "compound_party_organisation_coverage")["value"] == 0.5
    assert _indicator(report, "building_party_group_coverage")["value"] == pytest.approx(1 / 3, abs=1e-3)
    owners = _indicator(report, "owners_committee_coverage")
    assert (owners["value"], owners["target"], owners["meets_target"]) == (0.5, 0.9, False)
    service = _indicator(report, "service_area_m2_per_100_households")
    assert (service["value"], service["meets_target"]) == (25.0, False)
    gaps = await api.ok("GET", f"/regions/{c.code}/coverage/gaps/compounds_without_party_organisation")
    assert [(g["code"], g["name"]) for g in gaps["gaps"]] == [(c.compound(2), "小区2")]
    buildings = await api.ok("GET", f"/regions/{c.code}/coverage/gaps/buildings_without_party_group")
    assert [g["code"] for g in buildings["gaps"]] == [c.building(1, 2), c.building(2, 1)]
    assert orgs["owners"]


async def test_community_workers_per_ten_thousand_residents_counts_current_full_time_posts(
    api: Api, new_community: NewCommunity
):
    c = await new_community(residents=5000, households=2000, area=600.0)
    await build_compound(api, c, buildings=1)
    orgs = await community_orgs(api, c)
    for n in range(3):
        worker = await person(api, c, f"社工{n}")
        await appoint(api, worker, orgs["residents"], "community_worker", basis="appointment")
    part_timer = await person(api, c, "兼职", party_member=True)
    await appoint(api, part_timer, orgs["owners"], "owners_committee_chair", basis="owners_assembly_vote")
    await appoint(api, part_timer, orgs["party"], "part_time_committee_member")
    report = await api.ok("GET", f"/regions/{c.code}/coverage")
    workers = _indicator(report, "community_workers_per_10000_residents")
    assert (workers["numerator"], workers["value"], workers["meets_target"]) == (3, 6.0, False)
    below = await api.ok("GET", f"/regions/{c.code}/coverage/gaps/communities_below_worker_standard")
    assert [(g["code"], g["workers"]) for g in below["gaps"]] == [(c.code, 3)]
    cross = _indicator(report, "two_committee_members_cross_appointed")
    assert (cross["numerator"], cross["denominator"]) == (1, 1), "workers are staff, not committee members"


async def test_a_street_report_adds_up_its_communities(api: Api, new_community: NewCommunity):
    c = await new_community(residents=1000, households=300)
    await build_compound(api, c, buildings=1)
    street = await api.ok("GET", f"/regions/{c.street[:9]}/coverage")
    community = await api.ok("GET", f"/regions/{c.code}/coverage")
    assert street["counts"]["compounds"] >= community["counts"]["compounds"] == 1
    assert street["counts"]["residents"] >= 1000


async def test_an_unknown_gap_metric_is_a_4xx_that_lists_the_metrics(api: Api, new_community: NewCommunity):
    c = await new_community()
    response = await api.get(f"/regions/{c.code}/coverage/gaps/happiness")
    assert response.status_code == 422
    assert "compounds_without_party_organisation" in response.json()["message"]


async def test_a_coordinator_cannot_read_another_streets_coverage(api: Api, new_community: NewCommunity):
    c = await new_community()
    other = "420106001000" if not c.street.startswith("420106001") else "420106002000"
    response = await api.get(f"/regions/{c.code}/coverage", token=api.token(Role.COORDINATOR, region=other))
    assert response.status_code == 403
    own = await api.get(f"/regions/{c.code}/coverage", token=api.token(Role.COORDINATOR, region=c.street))
    assert own.status_code == 200
