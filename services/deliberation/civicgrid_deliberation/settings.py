"""deliberation settings: environment variables prefixed ``DELIBERATION_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from civicgrid_runtime.settings import ServiceSettings


class DeliberationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DELIBERATION_", extra="ignore")

    service_name: str = "deliberation"
    mongo_uri: str = Field(default="mongodb://127.0.0.1:27017", pattern=r"^mongodb(\+srv)?://.+")
    mongo_database: str = Field(default="civicgrid_deliberation", min_length=1)
    consumer_group: str = "deliberation"
    vote_close_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often votes past their closing time are closed and tallied.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8004",
        pattern=r"^https?://[^\s]+$",
        description="Where the public disclosure pages are reached: the address the QR codes carry.",
    )
