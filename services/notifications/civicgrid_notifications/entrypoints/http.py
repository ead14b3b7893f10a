"""HTTP API: a member's feed, unread count, marks, preferences, phone addresses; broadcasts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from civicgrid_contracts.values import IDENTIFIER_PATTERN
from civicgrid_notifications.adapters.mongo_directory import MongoDirectory
from civicgrid_notifications.adapters.mongo_preferences import MongoPreferenceStore
from civicgrid_notifications.domain.model import Audience, FeedState, Message
from civicgrid_notifications.entrypoints.schemas import (
    CURSOR_PATTERN,
    ERROR_RESPONSES,
    BroadcastDeliveriesOut,
    BroadcastIn,
    BroadcastOut,
    Category,
    ChangedOut,
    ContactsIn,
    DeliveriesOut,
    DeliveryChannelsOut,
    FeedItemOut,
    FeedPageOut,
    ItemViewOut,
    MeOut,
    PreferencesIn,
    PushSubscriptionIn,
    PushSubscriptionList,
    PushSubscriptionOut,
    ReadAll,
    StateChange,
    UnreadOut,
    VapidKeyOut,
)
from civicgrid_notifications.service_layer.delivery_status import DeliveryStatusReader
from civicgrid_notifications.service_layer.feed import FeedService
from civicgrid_notifications.service_layer.item_view import ItemViewer
from civicgrid_notifications.service_layer.preferences import MemberPreferences
from civicgrid_notifications.service_layer.subscriptions import PushSubscriptions
from civicgrid_runtime.auth.principal import Principal
from civicgrid_runtime.http import Authenticator

MemberId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="The member's person id.")]
ItemId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
SubscriptionId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{24}$", description="The id the registration answered with.")
]


class PhoneIndex(Protocol):
    async def remember_phone(self, member_id: str, phone: str | None) -> None: ...


@dataclass
class HttpDeps:
    auth: Authenticator
    feeds: FeedService
    directory: MongoDirectory
    preferences: MongoPreferenceStore
    member_preferences: MemberPreferences
    delivery_status: DeliveryStatusReader
    subscriptions: PushSubscriptions
    vapid_public_key: str
    phones: PhoneIndex | None = None
    """Keeps the keyed hash of an SMS number, by which the member signs in."""
    deliberation_url: str | None = None
    """Where the phone app reaches deliberation's API (``GET /app-config``)."""


class AppConfigOut(BaseModel):
    deliberation_url: str | None = Field(
        description="Base URL of deliberation's API, which the app calls with the member's token "
        "(CORS: deliberation allows this service's origin); null: no 议事 screen."
    )


def feed_router(deps: HttpDeps) -> APIRouter:
    router = APIRouter(tags=["feed"], responses=ERROR_RESPONSES)
    who = Depends(deps.auth.principal)

    @router.get("/me", summary="Who the token belongs to (the phone page uses it)")
    async def me(principal: Principal = who) -> MeOut:
        return MeOut(subject=principal.subject, person_id=principal.person_id, roles=sorted(principal.roles))

    @router.get("/members/{member_id}/feed", summary="A page of the member's feed, newest first")
    async def feed(
        member_id: MemberId,
        principal: Principal = who,
        cursor: Annotated[
            str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        category: Annotated[Category | None, Query()] = None,
        state: Annotated[
            list[FeedState] | None, Query(description="Repeat to combine; default all but archived.")
        ] = None,
    ) -> FeedPageOut:
        page = await deps.feeds.page(
            principal,
            member_id,
            cursor=cursor,
            limit=limit,
            category=category,
            states=tuple(state) if state else None,
        )
        return FeedPageOut.model_validate(page)

    viewer = ItemViewer(deps.feeds, deps.directory)

    @router.get(
        "/members/{member_id}/feed/{item_id}",
        summary="One item as the app shows it, with the status of the request it is about (read model)",
    )
    async def item_view(member_id: MemberId, item_id: ItemId, principal: Principal = who) -> ItemViewOut:
        return ItemViewOut.model_validate(await viewer.view(principal, member_id, item_id))

    @router.get("/members/{member_id}/unread-count", summary="The unread badge")
    async def unread(member_id: MemberId, principal: Principal = who) -> UnreadOut:
        return UnreadOut(unread=await deps.feeds.unread(principal, member_id))

    @router.post("/members/{member_id}/feed/{item_id}/state", summary="Mark one entry seen, read or archived")
    async def mark(
        member_id: MemberId, item_id: ItemId, body: StateChange, principal: Principal = who
    ) -> FeedItemOut:
        item = await deps.feeds.mark(principal, member_id, item_id, FeedState(body.state))
        return FeedItemOut.model_validate(item.to_json())

    @router.post(
        "/members/{member_id}/feed/read-all", summary="Mark every unread entry read (optionally one category)"
    )
    async def read_all(member_id: MemberId, body: ReadAll, principal: Principal = who) -> ChangedOut:
        return ChangedOut(changed=await deps.feeds.mark_all_read(principal, member_id, body.category))

    @router.get(
        "/members/{member_id}/feed/{item_id}/deliveries",
        summary="The member's deliveries of an entry or a broadcast: per channel and per address",
    )
    async def deliveries(member_id: MemberId, item_id: ItemId, principal: Principal = who) -> DeliveriesOut:
        found = await deps.delivery_status.of_item(principal, member_id, item_id)
        return DeliveriesOut.model_validate(found)

    @router.get("/members/{member_id}/preferences", summary="Channels per category, quiet hours, digest")
    async def get_preferences(member_id: MemberId, principal: Principal = who) -> PreferencesIn:
        return PreferencesIn.model_validate(await deps.member_preferences.get(principal, member_id))

    @router.put(
        "/members/{member_id}/preferences",
        summary="Replace the member's preferences (422 for a channel this service is not configured for)",
    )
    async def put_preferences(
        member_id: MemberId, body: PreferencesIn, principal: Principal = who
    ) -> PreferencesIn:
        await deps.member_preferences.replace(principal, member_id, body.model_dump(mode="json"))
        return body

    @router.post(
        "/members/{member_id}/push-subscriptions",
        status_code=201,
        summary="Register a browser for Web Push (https endpoint of a known push service)",
        responses={200: {"model": PushSubscriptionOut, "description": "The endpoint was registered already"}},
    )
    async def subscribe(
        member_id: MemberId, body: PushSubscriptionIn, response: Response, principal: Principal = who
    ) -> PushSubscriptionOut:
        view, created = await deps.subscriptions.register(
            principal, member_id, str(body.endpoint), body.keys.model_dump()
        )
        if not created:
            response.status_code = 200
        return PushSubscriptionOut.of(view)

    @router.get("/members/{member_id}/push-subscriptions", summary="The member's registered browsers")
    async def subscriptions(member_id: MemberId, principal: Principal = who) -> PushSubscriptionList:
        found = await deps.subscriptions.list(principal, member_id)
        return PushSubscriptionList(items=[PushSubscriptionOut.of(v) for v in found])

    @router.delete(
        "/members/{member_id}/push-subscriptions/{subscription_id}",
        status_code=204,
        summary="Stop pushing to a browser (idempotent: 204 whether it was there or not)",
    )
    async def unsubscribe(
        member_id: MemberId, subscription_id: SubscriptionId, principal: Principal = who
    ) -> Response:
        await deps.subscriptions.remove(principal, member_id, subscription_id)
        return Response(status_code=204)

    @router.put(
        "/members/{member_id}/contacts", status_code=204, summary="Set or clear SMS number / WeChat openid"
    )
    async def contacts(member_id: MemberId, body: ContactsIn, principal: Principal = who) -> Response:
        deps.feeds.authorise(principal, member_id)
        await deps.preferences.set_contact(member_id, "sms", body.sms)
        if deps.phones is not None:
            await deps.phones.remember_phone(member_id, body.sms)
        await deps.preferences.set_contact(member_id, "wechat", body.wechat)
        return Response(status_code=204)

    @router.get("/delivery-channels", summary="The channels this service can send on (for preferences)")
    async def delivery_channels() -> DeliveryChannelsOut:
        return DeliveryChannelsOut.model_validate({"channels": sorted(deps.member_preferences.configured)})

    @router.get("/app-config", summary="What the phone app needs to know: the other APIs it calls")
    async def app_config() -> AppConfigOut:
        url = deps.deliberation_url.rstrip("/") if deps.deliberation_url else None
        return AppConfigOut(deliberation_url=url)

    @router.get("/push/vapid-public-key", summary="The applicationServerKey for PushManager.subscribe")
    async def vapid() -> VapidKeyOut:
        return VapidKeyOut(public_key=deps.vapid_public_key)

    @router.post(
        "/broadcasts",
        status_code=201,
        tags=["broadcasts"],
        summary="Send a notice to a large audience",
        responses={200: {"model": BroadcastOut, "description": "The same id and content existed already"}},
    )
    async def broadcast(body: BroadcastIn, response: Response, principal: Principal = who) -> BroadcastOut:
        broadcast_id, created = await deps.feeds.send_broadcast(
            principal,
            deps.directory,
            audience=Audience.parse(body.audience),
            community_code=body.community_code,
            message=Message(
                body.category, body.priority, body.title, body.body, str(body.link) if body.link else None
            ),
            broadcast_id=body.id,
        )
        if not created:
            response.status_code = 200
        return BroadcastOut(id=broadcast_id, created=created)

    @router.get(
        "/broadcasts/{broadcast_id}/deliveries",
        tags=["broadcasts"],
        summary="Delivery counts by outcome, per channel (the sender, admins, the community's coordinators)",
    )
    async def broadcast_deliveries(
        broadcast_id: ItemId, principal: Principal = who
    ) -> BroadcastDeliveriesOut:
        return BroadcastDeliveriesOut.model_validate(
            await deps.delivery_status.of_broadcast(principal, broadcast_id)
        )

    return router
