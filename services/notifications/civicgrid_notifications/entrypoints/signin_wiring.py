"""Wiring of phone sign-in (kept out of bootstrap.py): store, SMS port, token issuing, phone key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from civicgrid_notifications.adapters.channels.sms import SmsGatewayChannel
from civicgrid_notifications.adapters.channels.sms_codes import DevelopmentCodeSender, GatewayCodeSender
from civicgrid_notifications.adapters.member_tokens import RuntimeTokenMinter, load_or_create_phone_key
from civicgrid_notifications.adapters.mongo_signin import MongoSignInStore
from civicgrid_notifications.service_layer.signin import CodeSender, PhoneSignIn, TokenMinter
from civicgrid_notifications.settings import NotificationsSettings
from civicgrid_runtime.auth import TokenIssuer
from civicgrid_runtime.auth.keys import PRIVATE_NAME


@dataclass
class SignInParts:
    service: PhoneSignIn
    store: MongoSignInStore


def wire_sign_in(
    settings: NotificationsSettings, db: AsyncDatabase[dict[str, Any]], sms: object | None
) -> SignInParts:
    """Codes go through the configured SMS gateway; without one, outside production, the development
    gateway prints them. Tokens are signed with the runtime's issuer when this service holds the
    private key (development and tests; production needs a signing service: sign-in answers 503)."""
    development = settings.environment != "production"
    key = load_or_create_phone_key(settings.keys_dir, create=development)
    store = MongoSignInStore(db, key)
    sender: CodeSender | None = None
    if isinstance(sms, SmsGatewayChannel):
        sender = GatewayCodeSender(sms)
    elif development:
        sender = DevelopmentCodeSender()
    minter: TokenMinter | None = None
    if development or (settings.keys_dir / PRIVATE_NAME).exists():
        minter = RuntimeTokenMinter(
            TokenIssuer(settings.keys_dir, settings.jwt_issuer, settings.jwt_audience)
        )
    if key is None:
        sender = None
    return SignInParts(PhoneSignIn(store, sender, minter, key or b""), store)
