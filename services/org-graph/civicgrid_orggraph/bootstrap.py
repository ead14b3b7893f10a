"""Wires org-graph on the runtime's service skeleton: Neo4j, its outbox, the population consumer, routes.

Nothing connects at import."""

from __future__ import annotations

from datetime import timedelta

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
from civicgrid_runtime.jobs import Neo4jLeases
from civicgrid_runtime.service import Service
from civicgrid_runtime.settings import load_settings
from civicgrid_runtime.stores.neo4j import Neo4jOutboxStore, create_driver, ensure_schema
from civicgrid_runtime.stores.neo4j_retention import RETENTION_SCHEMA, Neo4jRetention, Retention, bookkeeping

DESCRIPTION = """Divisions down to buildings, both hierarchies (party and self-governance), grids, people,
posts with terms and history, cross-appointment rules, coverage and standards analytics.

Every write accepts an `Idempotency-Key` header; every change is published through a transactional
outbox to the `civicgrid.org.*` topics, keyed by community code."""


def create_app(settings: OrgGraphSettings | None = None) -> FastAPI:
    settings = settings or load_settings(OrgGraphSettings)
    service = Service(
        settings,
        title="CivicGrid org-graph",
        description=DESCRIPTION,
        produces=[
            "civicgrid.org.places.v1",
            "civicgrid.org.organisations.v1",
            "civicgrid.org.memberships.v1",
            "civicgrid.org.households.v1",
        ],
    )
    driver = create_driver(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password)

    leases = Neo4jLeases(driver, settings.neo4j_database)  # the relay runs in one replica at a time

    async def start_store() -> None:
        await ensure_schema(driver, (*ORG_GRAPH_SCHEMA, *RETENTION_SCHEMA))
        await leases.ensure_schema()

    async def neo4j_ready() -> None:
        await driver.verify_connectivity()

    service.store("neo4j", neo4j_ready, start=start_store, close=driver.close)
    service.leases(leases)
    relay = service.outbox(Neo4jOutboxStore(driver, settings.neo4j_database))
    uow = Neo4jUnitOfWork(driver, settings.neo4j_database, on_commit=relay.notify)
    reader = Neo4jQueries(driver, settings.neo4j_database)
    container = Container(
        uow=uow,
        reader=reader,
        coverage=Neo4jCoverage(reader),
        auth=service.auth,
        policy=settings.policy,
        id_hash_salt=settings.id_hash_salt,
    )
    consumers.subscribe(service.broker, uow, settings.consumer_group)
    retention = Neo4jRetention(
        driver,
        [
            *bookkeeping(
                timedelta(hours=settings.outbox_retention_hours),
                timedelta(hours=settings.processed_event_retention_hours),
            ),
            Retention("IdempotencyRecord", "at", timedelta(hours=settings.idempotency_retention_hours)),
        ],
        settings.neo4j_database,
    )
    service.periodic("retention-sweep", retention.sweep, settings.retention_sweep_interval_seconds)
    app = service.app(write_router(container), read_router(container), transfer_router(container))
    install_redaction(app)
    app.state.broker, app.state.relay, app.state.driver, app.state.uow = service.broker, relay, driver, uow
    return app
