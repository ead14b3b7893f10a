"""Wires the service: settings, logging, MongoDB, Kafka, HTTP routes. Nothing connects at import."""

from __future__ import annotations

from fastapi import FastAPI

from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_runtime.http import HealthChecks, create_service_app
from civicgrid_runtime.kafka import create_broker
from civicgrid_runtime.logging import configure_logging
from civicgrid_runtime.service import ServiceLifecycle
from civicgrid_runtime.settings import load_settings
from civicgrid_runtime.stores.mongo import create_client, ping


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or load_settings(NotificationsSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    client = create_client(settings.mongo_uri, settings.service_name)
    db = client[settings.mongo_database]
    broker = create_broker(settings)
    lifecycle = ServiceLifecycle(
        settings=settings, broker=broker, topics=["civicgrid.notifications.delivery.v1"]
    )
    lifecycle.on_stop.append(client.close)

    async def mongo_ready() -> None:
        await ping(db)

    health = HealthChecks()
    health.add("kafka", lifecycle.kafka_ready)
    health.add("mongodb", mongo_ready)
    return create_service_app(
        "CivicGrid notifications",
        "Members' feeds, live stream and delivery to phones.",
        health,
        lifespan=lifecycle.lifespan,
    )
