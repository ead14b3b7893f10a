"""Wires org-graph: settings, logging, Neo4j, Kafka, outbox relay, HTTP routes. Nothing connects at import."""

from __future__ import annotations

from fastapi import FastAPI

from civicgrid_orggraph.adapters.coverage import Neo4jCoverage
from civicgrid_orggraph.adapters.queries import Neo4jQueries
from civicgrid_orggraph.adapters.schema import ORG_GRAPH_SCHEMA
from civicgrid_orggraph.adapters.unit_of_work import Neo4jUnitOfWork
from civicgrid_orggraph.entrypoints import consumers
from civicgrid_orggraph.entrypoints.container import Container
from civicgrid_orggraph.entrypoints.http_reads import read_router
from civicgrid_orggraph.entrypoints.http_transfer import transfer_router
from civicgrid_orggraph.entrypoints.http_writes import write_router
from civicgrid_orggraph.entrypoints.redaction import install_redaction
from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_runtime.auth import TokenVerifier
from civicgrid_runtime.auth.keys import read_public_key
from civicgrid_runtime.http import Authenticator, HealthChecks, create_service_app
from civicgrid_runtime.kafka import KafkaEventPublisher, create_broker
from civicgrid_runtime.logging import configure_logging
from civicgrid_runtime.outbox import OutboxRelay
from civicgrid_runtime.service import ServiceLifecycle
from civicgrid_runtime.settings import load_settings
from civicgrid_runtime.stores.neo4j import Neo4jOutboxStore, create_driver, ensure_schema

DESCRIPTION = """Divisions down to buildings, both hierarchies (party and self-governance), grids, people,
posts with terms and history, cross-appointment rules, coverage and standards analytics.

Every write accepts an `Idempotency-Key` header; every change is published through a transactional
outbox to the `civicgrid.org.*` topics, keyed by community code."""


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
    uow = Neo4jUnitOfWork(driver, settings.neo4j_database, on_commit=relay.notify)
    reader = Neo4jQueries(driver, settings.neo4j_database)
    verifier = TokenVerifier(
        read_public_key(settings.keys_dir, create_if_missing=settings.environment != "production"),
        settings.jwt_issuer,
        settings.jwt_audience,
    )
    container = Container(
        uow=uow,
        reader=reader,
        coverage=Neo4jCoverage(reader),
        auth=Authenticator(verifier),
        policy=settings.policy,
        id_hash_salt=settings.id_hash_salt,
    )
    consumers.subscribe(broker, uow, settings.consumer_group)
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
        await ensure_schema(driver, ORG_GRAPH_SCHEMA)

    lifecycle.on_start.append(start_store)
    lifecycle.on_stop.append(driver.close)
    health = HealthChecks()
    health.add("kafka", lifecycle.kafka_ready)
    health.add("neo4j", neo4j_ready)
    app = create_service_app("CivicGrid org-graph", DESCRIPTION, health, lifespan=lifecycle.lifespan)
    install_redaction(app)
    app.state.broker, app.state.relay, app.state.driver, app.state.uow = broker, relay, driver, uow
    app.include_router(write_router(container))
    app.include_router(read_router(container))
    app.include_router(transfer_router(container))
    return app
