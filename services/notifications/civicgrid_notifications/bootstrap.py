"""Wires notifications on the runtime's service skeleton: MongoDB, feeds, live hub, delivery, sign-in, routes.

Nothing connects at import."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter
from py_vapid import Vapid02

from civicgrid_notifications.adapters.channels.sms import SmsGatewayChannel
from civicgrid_notifications.adapters.channels.webpush import (
    WebPushChannel,
    load_or_create_vapid_key,
    vapid_public_key,
)
from civicgrid_notifications.adapters.channels.wechat import WeChatChannel
from civicgrid_notifications.adapters.live import LiveHub
from civicgrid_notifications.adapters.mongo_delivery import (
    CompositeDeliveryStore,
    MongoBroadcastDeliveries,
    MongoDeliveryStore,
)
from civicgrid_notifications.adapters.mongo_directory import MongoDirectory
from civicgrid_notifications.adapters.mongo_feed import MongoFeedStore
from civicgrid_notifications.adapters.mongo_preferences import MongoPreferenceStore
from civicgrid_notifications.domain.delivery import DeliveryStatus
from civicgrid_notifications.domain.rules import load_default_rulebook
from civicgrid_notifications.entrypoints import consumers
from civicgrid_notifications.entrypoints.http import HttpDeps, feed_router
from civicgrid_notifications.entrypoints.signin_http import signin_router
from civicgrid_notifications.entrypoints.signin_wiring import wire_sign_in
from civicgrid_notifications.entrypoints.stream import stream_router
from civicgrid_notifications.service_layer.broadcast_push import BroadcastPusher
from civicgrid_notifications.service_layer.delivery import Channel, DeliveryError, DeliveryWorker, Outbound
from civicgrid_notifications.service_layer.delivery_status import DeliveryStatusReader
from civicgrid_notifications.service_layer.feed import FeedService
from civicgrid_notifications.service_layer.notify import EventNotifier
from civicgrid_notifications.service_layer.preferences import MemberPreferences
from civicgrid_notifications.service_layer.subscriptions import PushSubscriptions
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_runtime.service import Service
from civicgrid_runtime.settings import load_settings
from civicgrid_runtime.stores.mongo import MongoEmbeddedOutbox, MongoInbox

DELIVERY_TOPIC = "civicgrid.notifications.delivery.v1"


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or load_settings(NotificationsSettings)
    service = Service(
        settings,
        title="CivicGrid notifications",
        description="Members' feeds, live stream and delivery to phones.",
        produces=[DELIVERY_TOPIC],
    )
    db = service.mongo(settings.mongo_uri, settings.mongo_database)
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    service.on_stop(http.aclose)

    directory = MongoDirectory(db)
    feed = MongoFeedStore(db)
    preferences = MongoPreferenceStore(db)
    deliveries = MongoDeliveryStore(db)
    broadcast_deliveries = MongoDeliveryStore(db, "broadcast_deliveries")
    outbox = MongoEmbeddedOutbox([feed.entries, broadcast_deliveries.entries])
    relay = service.outbox(outbox)
    hub = LiveHub(
        feed,
        audiences_of=directory.audiences_of,
        poll_interval=settings.stream_poll_interval_seconds,
        gap_grace=settings.stream_gap_grace_seconds,
    )
    notifier = EventNotifier(
        directory,
        feed,
        preferences,
        load_default_rulebook(),
        hub,
        resources_url=settings.resources_public_url,
    )
    vapid = load_or_create_vapid_key(
        settings.vapid_private_key_path or settings.keys_dir / "vapid_private.pem"
    )
    channels = _channels(settings, http, vapid, preferences)
    configured = frozenset(channels)
    notifier.configured = configured
    attempts = service.metrics.counter(
        "civicgrid_notifications_delivery_attempts",
        "Attempts to reach a phone, by channel and outcome (sent, delivered, failed, error).",
        ["channel", "outcome"],
    )
    worker = DeliveryWorker(
        CompositeDeliveryStore(deliveries, broadcast_deliveries),
        preferences,
        {name: CountedChannel(channel, attempts) for name, channel in channels.items()},
        max_attempts=settings.delivery_max_attempts,
        backoff_base=settings.delivery_backoff_base_seconds,
        backoff_cap=settings.delivery_backoff_cap_seconds,
    )
    consumers.subscribe(
        service.broker,
        notifier,
        MongoInbox(db["inbox"]),
        settings.consumer_group,
        settings.consumer_offset_reset,
        max_in_flight=settings.consumer_max_in_flight,
    )

    async def indexes() -> None:
        await directory.ensure_indexes()
        await feed.ensure_indexes()
        await deliveries.ensure_indexes()
        await broadcast_deliveries.ensure_indexes()
        await outbox.ensure_indexes()
        await db["inbox"].create_index("consumer")

    service.on_start(indexes)
    sign_in = wire_sign_in(settings, db, channels.get("sms"))
    service.on_start(sign_in.store.ensure_indexes)
    service.background(hub.start)
    service.periodic("delivery-worker", worker.run_once, settings.delivery_poll_interval_seconds)
    pusher = BroadcastPusher(
        feed, preferences, directory, preferences, MongoBroadcastDeliveries(db), configured=configured
    )
    service.periodic("broadcast-pusher", pusher.run_once, settings.delivery_poll_interval_seconds)

    feeds = FeedService(directory, feed, hub)
    app = service.app(
        feed_router(
            HttpDeps(
                service.auth,
                feeds,
                directory,
                preferences,
                MemberPreferences(preferences, configured),
                DeliveryStatusReader(directory, feed, deliveries, broadcast_deliveries, broadcast_deliveries),
                PushSubscriptions(preferences, settings.push_policy()),
                vapid_public_key(vapid),
                phones=sign_in.store,
                deliberation_url=settings.deliberation_public_url,
            )
        ),
        signin_router(sign_in.service),
        stream_router(service.auth, feeds, feed, hub, settings.stream_ping_seconds),
    )
    static = resources.files("civicgrid_notifications.entrypoints").joinpath("static")
    app.mount("/app", StaticFiles(directory=str(static), html=True), name="app")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/app/")

    streams = service.metrics.gauge("civicgrid_notifications_open_streams", "Live streams open now.")
    streams.set_function(lambda: hub.open_streams)
    service.components.update(
        hub=hub, worker=worker, relay=relay, feed=feed, notifier=notifier, sign_in=sign_in.service
    )
    return app


class CountedChannel:
    """A channel whose sends are counted in ``/metrics`` by outcome."""

    def __init__(self, channel: Channel, counter: Counter) -> None:
        self.name = channel.name
        self._channel = channel
        self._counter = counter

    def targets(self, addresses: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        return self._channel.targets(addresses)

    async def send(self, outbound: Outbound, target: Mapping[str, Any]) -> DeliveryStatus:
        try:
            status = await self._channel.send(outbound, target)
        except DeliveryError:
            self._counter.labels(self.name, "failed").inc()
            raise
        except Exception:
            self._counter.labels(self.name, "error").inc()
            raise
        self._counter.labels(self.name, status.value).inc()
        return status


def _channels(
    settings: NotificationsSettings,
    http: httpx.AsyncClient,
    vapid: Vapid02,
    preferences: MongoPreferenceStore,
) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if "web_push" in settings.channels:
        channels["web_push"] = WebPushChannel(
            http,
            vapid,
            settings.vapid_subject,
            on_gone=preferences.remove_push_subscription,
            policy=settings.push_policy(),
        )
    if "sms" in settings.channels and settings.sms_gateway_url:
        channels["sms"] = SmsGatewayChannel(http, settings.sms_gateway_url, settings.sms_gateway_token)
    if "wechat" in settings.channels and settings.wechat_gateway_url:
        channels["wechat"] = WeChatChannel(http, settings.wechat_gateway_url, settings.wechat_template_id)
    return channels
