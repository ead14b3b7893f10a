"""Kafka consumers: inbound municipal population statistics (validated; bad records dead-lettered)."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import parse_payload, topic_for
from civicgrid_contracts.envelope import CloudEvent
from civicgrid_contracts.events.municipal import PopulationReported
from civicgrid_orggraph.service_layer.population import PopulationReport, apply_population_report
from civicgrid_orggraph.service_layer.ports import UnitOfWork
from civicgrid_runtime.kafka import EventRoutes, subscribe_events
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)
POPULATION_TOPIC = topic_for(PopulationReported.event_type)


def population_handler(uow: UnitOfWork):  # type: ignore[no-untyped-def]
    async def handle(event: CloudEvent) -> None:
        payload = parse_payload(event, PopulationReported)
        report = PopulationReport(
            event.id,
            payload.community_code,
            payload.as_of,
            payload.residents,
            payload.households,
            event.correlationid,
        )
        result = await apply_population_report(uow, report)
        log.info("population report handled", community_code=payload.community_code, **result)

    return handle


def subscribe(broker: KafkaBroker, uow: UnitOfWork, group_id: str) -> None:
    subscribe_events(
        broker,
        topics=[POPULATION_TOPIC],
        group_id=group_id,
        routes=EventRoutes({PopulationReported.event_type: population_handler(uow)}),
        skip_unknown_types=False,
    )
