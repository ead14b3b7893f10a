"""Building real contract events for tests."""

from __future__ import annotations

from datetime import date

from civicgrid_contracts.catalogue import new_event
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.municipal import PopulationReported

POPULATION_REPORTED = PopulationReported.event_type


def population_reported(community_code: str = "420106002003", residents: int = 12636) -> CloudEvent:
    payload = PopulationReported(
        community_code=community_code, as_of=date(2025, 6, 30), residents=residents, households=4453
    )
    return new_event(payload, source="/civicgrid/tests")
