"""Wires the service: settings, logging, MongoDB, Kafka, outbox relay, SLA sweeper, HTTP routes.

Nothing connects at import.
"""

from __future__ import annotations

from fastapi import FastAPI

from civicgrid_resources.adapters.dashboards import MongoDashboards
from civicgrid_resources.adapters.events import OutboxWriter
from civicgrid_resources.adapters.mongo import MongoStore
from civicgrid_resources.adapters.places import PlaceDirectory
from civicgrid_resources.adapters.topics import USED
from civicgrid_resources.adapters.unit_of_work import MongoUnitOfWork
from civicgrid_resources.adapters.views import MongoViews
from civicgrid_resources.entrypoints import consumers, deployment_api, requests_api
from civicgrid_resources.entrypoints.sweeper import reconciler, sla_sweeper, statistics_folder
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.auth import TokenVerifier
from civicgrid_runtime.auth.keys import read_public_key
from civicgrid_runtime.http import Authenticator, HealthChecks, create_service_app
from civicgrid_runtime.kafka import KafkaEventPublisher, create_broker
from civicgrid_runtime.logging import configure_logging
from civicgrid_runtime.outbox import OutboxRelay
from civicgrid_runtime.service import ServiceLifecycle
from civicgrid_runtime.settings import load_settings
from civicgrid_runtime.stores.mongo import create_client, ping


def create_app(settings: ResourcesSettings | None = None) -> FastAPI:
    settings = settings or load_settings(ResourcesSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    client = create_client(settings.mongo_uri, settings.service_name)
    db = client[settings.mongo_database]
    topics = settings.topic_names()
    outbox = OutboxWriter(topics)
    store = MongoStore(db, outbox)
    broker = create_broker(settings)
    relay = OutboxRelay(
        store.outbox,
        KafkaEventPublisher(broker),
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval_seconds,
    )
    ctx = Context(
        uow=MongoUnitOfWork(store, outbox, relay.notify),
        places=PlaceDirectory(store),
        views=MongoViews(store),
        dashboards=MongoDashboards(store),
        deadlines=store.deadlines,
        maintenance=store,
        inbox=store.inbox,
        sla=settings.sla_policy(),
        points_per_hour=settings.points_per_hour,
        points_per_request=settings.points_per_request,
    )
    lifecycle = ServiceLifecycle(settings=settings, broker=broker, relay=relay, topics=USED)
    consumers.subscribe(broker, ctx, topics, settings.consumer_group, settings.hotline_consumers)
    lifecycle.background.append(sla_sweeper(ctx, settings.sla_sweep_interval_seconds))
    lifecycle.background.append(reconciler(ctx, settings.reconcile_interval_seconds))
    lifecycle.background.append(statistics_folder(ctx, settings.statistics_fold_interval_seconds))

    async def start_store() -> None:
        await store.ensure_indexes()

    lifecycle.on_start.append(start_store)
    lifecycle.on_stop.append(client.close)

    async def mongo_ready() -> None:
        await ping(db)

    health = HealthChecks()
    health.add("kafka", lifecycle.kafka_ready)
    health.add("mongodb", mongo_ready)
    app = create_service_app(
        "CivicGrid resources",
        "Sunk-down cadres and partner units joining grids as teams; the closed loop of residents' requests.",
        health,
        lifespan=lifecycle.lifespan,
    )
    verifier = TokenVerifier(
        read_public_key(settings.keys_dir, create_if_missing=settings.environment != "production"),
        settings.jwt_issuer,
        settings.jwt_audience,
    )
    auth = Authenticator(verifier)
    app.include_router(requests_api.build_router(ctx, auth))
    app.include_router(requests_api.build_supervision_router(ctx, auth))
    app.include_router(deployment_api.build_router(ctx, auth))
    app.state.context = ctx
    app.state.store = store  # for tests and operators' scripts; the routes use only the ports
    app.state.relay = relay
    return app
