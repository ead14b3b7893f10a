"""The plan's targets as indicators computed from counts over the graph."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoverageCounts:
    communities: int = 0
    compounds: int = 0
    compounds_with_party_organisation: int = 0
    buildings: int = 0
    buildings_with_party_group: int = 0
    buildings_without_grid: int = 0
    eligible_compounds: int = 0
    eligible_compounds_with_owners_committee: int = 0
    residents: int = 0
    households: int = 0
    community_workers: int = 0
    service_area_m2: float = 0.0
    owners_committees: int = 0
    owners_committees_with_two_committee_member: int = 0
    two_committee_members: int = 0
    two_committee_members_cross_appointed: int = 0


@dataclass(frozen=True)
class Indicator:
    name: str
    value: float | None
    target: float | None
    meets_target: bool | None
    numerator: float
    denominator: float
    unit: str
    gaps_metric: str | None = None
    """The name to ask ``/coverage/gaps/{metric}`` for the places missing from the numerator."""


TARGETS = {
    "compound_party_organisation_coverage": 1.0,
    "building_party_group_coverage": 1.0,
    "owners_committee_coverage": 0.9,
    "community_workers_per_10000_residents": 18.0,
    "service_area_m2_per_100_households": 30.0,
    "grid_coverage": 1.0,
}


def _ratio(
    name: str, numerator: float, denominator: float, scale: float, unit: str, gaps: str | None = None
) -> Indicator:
    value = round(numerator / denominator * scale, 4) if denominator else None
    target = TARGETS.get(name)
    meets = None if value is None or target is None else value >= target
    return Indicator(name, value, target, meets, numerator, denominator, unit, gaps)


def indicators(c: CoverageCounts) -> list[Indicator]:
    return [
        _ratio(
            "compound_party_organisation_coverage",
            c.compounds_with_party_organisation,
            c.compounds,
            1,
            "share of compounds",
            "compounds_without_party_organisation",
        ),
        _ratio(
            "building_party_group_coverage",
            c.buildings_with_party_group,
            c.buildings,
            1,
            "share of buildings",
            "buildings_without_party_group",
        ),
        _ratio(
            "owners_committee_coverage",
            c.eligible_compounds_with_owners_committee,
            c.eligible_compounds,
            1,
            "share of eligible compounds",
            "eligible_compounds_without_owners_committee",
        ),
        _ratio(
            "grid_coverage",
            c.buildings - c.buildings_without_grid,
            c.buildings,
            1,
            "share of buildings in a grid",
            "buildings_without_grid",
        ),
        _ratio(
            "community_workers_per_10000_residents",
            c.community_workers,
            c.residents,
            10_000,
            "workers per 10,000 residents",
            "communities_below_worker_standard",
        ),
        _ratio(
            "service_area_m2_per_100_households",
            c.service_area_m2,
            c.households,
            100,
            "m² per 100 households",
            "communities_below_service_area_standard",
        ),
        _ratio(
            "owners_committees_with_two_committee_member",
            c.owners_committees_with_two_committee_member,
            c.owners_committees,
            1,
            "share of owners' committees with a cross-appointed two-committee member",
        ),
        _ratio(
            "two_committee_members_cross_appointed",
            c.two_committee_members_cross_appointed,
            c.two_committee_members,
            1,
            "share of two-committee members also on an owners' committee or property company",
        ),
    ]


GAP_METRICS = (
    "compounds_without_party_organisation",
    "buildings_without_party_group",
    "eligible_compounds_without_owners_committee",
    "buildings_without_grid",
    "communities_below_worker_standard",
    "communities_below_service_area_standard",
)
