"""notifications settings: environment variables prefixed ``NOTIFICATIONS_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from civicgrid_notifications.domain.push_endpoints import DEFAULT_PUSH_HOST_SUFFIXES, PushEndpointPolicy
from civicgrid_runtime.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    mongo_uri: str = Field(default="mongodb://127.0.0.1:27017", pattern=r"^mongodb(\+srv)?://.+")
    mongo_database: str = Field(default="civicgrid_notifications", min_length=1)
    consumer_group: str = "notifications"
    consumer_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest",
        description="Where a new consumer group starts; earliest rebuilds projections from retained history.",
    )
    consumer_max_in_flight: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Facts of different communities handled at once. 1 (one at a time) until the live "
        "path keeps up with concurrent writers: with 8, a clean-clone CI run saw notices reach open "
        "streams late and a shutdown hang (docs/notifications.md).",
    )
    public_url: str = Field(default="http://127.0.0.1:8003", description="Where phones reach this service.")
    resources_public_url: str = Field(default="http://127.0.0.1:8002", description="Base of request links.")
    deliberation_public_url: str | None = Field(
        default="http://127.0.0.1:8004",
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="Where phones reach deliberation's API (the app's 议事 screen calls it directly; "
        "deliberation must list this service's origin in DELIBERATION_CORS_ALLOWED_ORIGINS). "
        "None: the app shows no 议事 tab.",
    )
    stream_poll_interval_seconds: float = Field(default=0.5, gt=0, le=30)
    stream_gap_grace_seconds: float = Field(default=3.0, ge=0, le=120)
    stream_ping_seconds: float = Field(default=15.0, gt=0, le=300)
    channels: list[str] = Field(
        default_factory=lambda: ["web_push"],
        description="Enabled phone channels, any of web_push, sms, wechat (JSON list in the environment).",
    )
    vapid_private_key_path: Path | None = Field(
        default=None, description="PEM P-256 key; default <keys_dir>/vapid_private.pem (created in dev)."
    )
    vapid_subject: str = "mailto:ops@civicgrid.example"
    push_allowed_host_suffixes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PUSH_HOST_SUFFIXES),
        min_length=1,
        description="Hosts (and their subdomains) push endpoints may name: the Web Push services "
        "(JSON list in the environment).",
    )
    push_allow_local_receiver: bool = Field(
        default=False,
        description="Development and tests only: accept push endpoints on a loopback address "
        "(http://127.0.0.1:<port>). Refused when environment is production.",
    )
    sms_gateway_url: str | None = None
    sms_gateway_token: str = ""
    wechat_gateway_url: str | None = None
    wechat_template_id: str = "civicgrid-notice"
    delivery_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    delivery_backoff_base_seconds: float = Field(default=2.0, gt=0, le=600)
    delivery_backoff_cap_seconds: float = Field(default=600.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _no_local_receiver_in_production(self) -> NotificationsSettings:
        if self.push_allow_local_receiver and self.environment == "production":
            raise ValueError("push_allow_local_receiver is for development and tests, not production")
        return self

    def push_policy(self) -> PushEndpointPolicy:
        return PushEndpointPolicy(tuple(self.push_allowed_host_suffixes), self.push_allow_local_receiver)
