"""Rules for resources, grids and points, without servers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from civicgrid_contracts.events import resources as contract
from civicgrid_resources.adapters.events import CONTRACTS, to_cloud_event
from civicgrid_resources.domain import events as ev
from civicgrid_resources.domain.deployment import (
    ReportInBasis,
    Resource,
    ResourceKind,
    TimeSlot,
    match_score,
    points_for,
)
from civicgrid_resources.service_layer.ids import new_id
from civicgrid_runtime.errors import Conflict, InvalidInput, RuleViolation

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _resource(kind: ResourceKind = ResourceKind.SUNK_DOWN_CADRE, **extra: object) -> Resource:
    fields: dict[str, object] = {
        "resource_id": "res-a",
        "community_code": "420106002003",
        "kind": kind,
        "display_name": "王",
        "basis": ReportInBasis.PAIRED,
        "reported_at": NOW,
        "person_id": "p-a",
        **extra,
    }
    return Resource.report_in(**fields)


def test_a_unit_kind_must_report_in_as_a_unit() -> None:
    with pytest.raises(InvalidInput):
        _resource(ResourceKind.JOINT_BUILD_UNIT)


def test_a_resource_joins_a_grid_only_after_confirmation_and_only_in_its_community() -> None:
    resource = _resource()
    with pytest.raises(RuleViolation):
        resource.join_grid("420106002003001", "cadre", date(2025, 1, 1), None)
    resource.confirm("coordinator", NOW)
    with pytest.raises(RuleViolation):
        resource.join_grid("420106002004001", "cadre", date(2025, 1, 1), None)
    resource.join_grid("420106002003001", "cadre", date(2025, 1, 1), None)
    with pytest.raises(Conflict):
        resource.join_grid("420106002003001", "cadre", date(2025, 2, 1), None)
    assert resource.in_grid("420106002003001", date(2025, 3, 1)) is not None


def test_leaving_a_grid_closes_the_period() -> None:
    resource = _resource()
    resource.confirm("c", NOW)
    resource.join_grid("420106002003001", "cadre", date(2025, 1, 1), None)
    resource.leave_grid("420106002003001", date(2025, 6, 30), "调岗")
    assert resource.in_grid("420106002003001", date(2025, 7, 1)) is None
    assert resource.in_grid("420106002003001", date(2025, 6, 30)) is not None


def test_a_time_slot_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidInput):
        TimeSlot(1, "10:00", "09:00")
    with pytest.raises(InvalidInput):
        TimeSlot(8, "09:00", "10:00")


def test_hours_become_points_at_the_configured_rate() -> None:
    assert points_for(1.5, 10) == 15
    assert points_for(0.01, 10) == 1
    with pytest.raises(InvalidInput):
        points_for(25, 10)


def test_matching_counts_shared_tags_ignoring_case() -> None:
    assert match_score(["Elderly", "meals"], ["elderly", "health"]) == 1


def test_every_domain_event_translates_to_its_contract() -> None:
    assert len(CONTRACTS) == 23
    assert all(model.__name__ == domain.__name__ for domain, model in CONTRACTS.items())
    event = to_cloud_event(
        ev.ResourceJoinedGrid(
            community_code="420106002003",
            resource_id="res-a",
            person_id="p-a",
            unit_id=None,
            grid_id="420106002003001",
            role="cadre",
            period_start=date(2025, 1, 1),
            period_end=None,
        )
    )
    assert (event.type, event.subject, event.partitionkey) == (
        contract.ResourceJoinedGrid.event_type,
        "res-a",
        "420106002003",
    )


def test_new_ids_never_contain_digits_that_read_as_a_phone_number() -> None:
    ids = [new_id("req") for _ in range(2000)]
    assert not any(c.isdigit() for i in ids for c in i.removeprefix("req-"))
    assert len(set(ids)) == len(ids)
