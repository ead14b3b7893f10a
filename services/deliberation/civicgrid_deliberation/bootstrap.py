"""Wires deliberation on the runtime's service skeleton (docs/runtime.md): MongoDB, its outbox,
org-graph's organisations/posts/households consumed into projections, the HTTP API and the public
disclosure pages. Nothing connects at import.
"""

from __future__ import annotations

from fastapi import FastAPI

from civicgrid_deliberation.adapters.events import PRODUCED
from civicgrid_deliberation.adapters.mongo import (
    MongoBallots,
    MongoCompoundRules,
    MongoProjections,
    MongoRolls,
    MongoStore,
    MongoUnitOfWork,
    MongoViews,
)
from civicgrid_deliberation.entrypoints import consumers, cors, http, me, public
from civicgrid_deliberation.service_layer import votes
from civicgrid_deliberation.service_layer.context import Context
from civicgrid_deliberation.settings import DeliberationSettings
from civicgrid_runtime.service import Service
from civicgrid_runtime.settings import load_settings


def create_app(settings: DeliberationSettings | None = None) -> FastAPI:
    settings = settings or load_settings(DeliberationSettings)
    service = Service(
        settings,
        title="CivicGrid deliberation",
        description="Deliberation at four levels (议事协商): meetings, topics and the 5 % motion, "
        "owners' votes "
        "by the Civil Code's double majority, democratic appraisal, public disclosure by QR code (码上公开).",
        produces=PRODUCED,
    )
    db = service.mongo(settings.mongo_uri, settings.mongo_database)
    store = MongoStore(db)
    service.on_start(store.ensure_indexes)
    relay = service.outbox(store.outbox)
    projections = MongoProjections(store)
    ctx = Context(
        uow=MongoUnitOfWork(store, relay.notify),
        directory=projections,
        households=projections,
        rolls=MongoRolls(store),
        ballots=MongoBallots(store),
        rules=MongoCompoundRules(store),
        views=MongoViews(store),
        projections=projections,
    )
    consumers.subscribe(service.broker, projections, store.inbox, settings.consumer_group)

    async def close_due_votes() -> int:
        return await votes.close_due(ctx)

    service.periodic("vote-closer", close_due_votes, settings.vote_close_interval_seconds)
    service.components["context"] = ctx
    service.components["store"] = store  # for tests and operators' scripts; the routes use only the ports
    app = service.app(
        http.build_router(ctx, service.auth),
        me.build_router(ctx, service.auth),
        public.build_router(ctx, settings.public_base_url),
    )
    cors.allow_origins(app, settings.cors_allowed_origins)
    return app
