"""Wires org-graph: settings, logging, Neo4j, Kafka, outbox relay, HTTP routes. Nothing connects at import."""

from __future__ import annotations

from fastapi import FastAPI

from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_runtime.http import HealthChecks, create_service_app
from civicgrid_runtime.kafka import KafkaEventPublisher, create_broker
from civicgrid_runtime.logging import configure_logging
from civicgrid_runtime.outbox import OutboxRelay
from civicgrid_runtime.service import ServiceLifecycle
from civicgrid_runtime.settings import load_settings
from civicgrid_runtime.stores.neo4j import Neo4jOutboxStore, create_driver, ensure_schema


def create_app(settings: OrgGraphSettings | None = None) -> FastAPI:
    settings = settings or load_settings(OrgGraphSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    driver = create_driver(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password)
    broker = create_broker(settings)
    relay = OutboxRelay(
        Neo4jOutboxStore(driver, settings.neo4j_database),
        KafkaEventPublisher(broker),
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval_seconds,
    )
    lifecycle = ServiceLifecycle(
        settings=settings,
        broker=broker,
        relay=relay,
        topics=[
            "civicgrid.org.places.v1",
            "civicgrid.org.organisations.v1",
            "civicgrid.org.memberships.v1",
            "municipal.statistics.population.v1",
        ],
    )

    async def neo4j_ready() -> None:
        await driver.verify_connectivity()

    async def start_store() -> None:
        await ensure_schema(driver)

    lifecycle.on_start.append(start_store)
    lifecycle.on_stop.append(driver.close)
    health = HealthChecks()
    health.add("kafka", lifecycle.kafka_ready)
    health.add("neo4j", neo4j_ready)
    return create_service_app(
        "CivicGrid org-graph",
        "Divisions down to buildings, both hierarchies, grids, people, posts and cross-appointments.",
        health,
        lifespan=lifecycle.lifespan,
    )
