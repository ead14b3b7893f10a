"""Inbound municipal statistics: a community's residents and households, idempotent by event id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from civicgrid_orggraph.domain.events import DomainEvent
from civicgrid_orggraph.domain.vocabulary import BASE_UNITS
from civicgrid_orggraph.service_layer.ports import GraphTx, Locks, Result, UnitOfWork
from civicgrid_runtime.errors import PermanentFailure

CONSUMER = "org-graph.population"


@dataclass(frozen=True)
class PopulationReport:
    event_id: str
    community_code: str
    as_of: date
    residents: int
    households: int
    correlation_id: str | None = None


async def apply_population_report(uow: UnitOfWork, report: PopulationReport) -> Result:
    """Update the counts (newer reports win); unknown communities are a permanent failure. The events it
    causes carry the report's id as causation id and its correlation id (or, lacking one, its id)."""

    async def work(g: GraphTx) -> Result:
        if not await g.claim_event(CONSUMER, report.event_id):
            return {"applied": False, "reason": "already processed"}
        await g.lock(Locks.of(places=[report.community_code]))
        place = await g.get_place(report.community_code)
        if place is None or place.kind not in BASE_UNITS or not place.active:
            raise PermanentFailure(f"unknown community or village {report.community_code}")
        previous = place.attributes.get("population_as_of")
        if previous is not None and str(previous) > report.as_of.isoformat():
            return {"applied": False, "reason": f"older than the figures of {previous}"}
        wanted = {
            "residents": report.residents,
            "households": report.households,
            "population_as_of": report.as_of.isoformat(),
        }
        changed = {k: v for k, v in wanted.items() if place.attributes.get(k) != v}
        if not changed:
            return {"applied": False, "reason": "no change"}
        await g.update_place(place.code, None, changed)
        g.emit(
            DomainEvent(
                "place.updated",
                place.code,
                f"place/{place.code}",
                {"code": place.code, "name": None, "attributes": changed},
            )
        )
        return {"applied": True, "changed": changed}

    return await uow.run(
        work, causation_id=report.event_id, correlation_id=report.correlation_id or report.event_id
    )
