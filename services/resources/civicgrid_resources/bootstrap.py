"""Wires resources on the runtime's service skeleton: MongoDB, its outbox, consumers, SLA sweeper, routes.

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
from civicgrid_resources.domain.requests import Tier
from civicgrid_resources.entrypoints import consumers, deployment_api, requests_api
from civicgrid_resources.entrypoints.sweeper import reconcile, sla_sweep, statistics_fold
from civicgrid_resources.service_layer.context import Context
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.service import Service
from civicgrid_runtime.settings import load_settings


def create_app(settings: ResourcesSettings | None = None) -> FastAPI:
    settings = settings or load_settings(ResourcesSettings)
    service = Service(
        settings,
        title="CivicGrid resources",
        description="Sunk-down cadres and partner units joining grids as teams; "
        "the closed loop of residents' requests.",
        produces=USED,
    )
    db = service.mongo(settings.mongo_uri, settings.mongo_database)
    topics = service.topic_names
    outbox = OutboxWriter(topics)
    store = MongoStore(db, outbox)
    service.on_start(store.ensure_indexes)
    relay = service.outbox(store.outbox)
    dashboards = MongoDashboards(store)
    ctx = Context(
        uow=MongoUnitOfWork(store, outbox, relay.notify),
        places=PlaceDirectory(store),
        views=MongoViews(store),
        dashboards=dashboards,
        deadlines=store.deadlines,
        maintenance=store,
        inbox=store.inbox,
        sla=settings.sla_policy(),
        appointments=store.appointments,
        points_per_hour=settings.points_per_hour,
        points_per_request=settings.points_per_request,
    )
    consumers.subscribe(service.broker, ctx, topics, settings.consumer_group, settings.hotline_consumers)
    service.periodic("sla-sweeper", sla_sweep(ctx), settings.sla_sweep_interval_seconds)
    service.periodic("statistics-folder", statistics_fold(ctx), settings.statistics_fold_interval_seconds)
    interval = settings.reconcile_interval_seconds
    service.periodic("reconciler", reconcile(ctx), interval, first_after=interval)
    overdue = service.metrics.gauge(
        "civicgrid_requests_overdue",
        "Open requests past their SLA deadline, by the tier handling them.",
        ["tier"],
    )

    async def count_overdue() -> None:
        counts = await dashboards.overdue_by_tier(ctx.now())
        for tier in [*(t.value for t in Tier), "none"]:
            overdue.labels(tier).set(counts.get(tier, 0))

    service.metrics.on_scrape(count_overdue)
    app = service.app(
        requests_api.build_router(ctx, service.auth),
        requests_api.build_supervision_router(ctx, service.auth),
        deployment_api.build_router(ctx, service.auth),
    )
    app.state.context = ctx
    app.state.store = store  # for tests and operators' scripts; the routes use only the ports
    app.state.relay = relay
    return app
