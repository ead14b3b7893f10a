"""notifications settings: environment variables prefixed ``NOTIFICATIONS_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from civicgrid_runtime.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    mongo_uri: str = Field(default="mongodb://127.0.0.1:27017", pattern=r"^mongodb(\+srv)?://.+")
    mongo_database: str = Field(default="civicgrid_notifications", min_length=1)
    consumer_group: str = "notifications"
