"""deliberation settings: environment variables prefixed ``DELIBERATION_``."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
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
    cors_allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8003", "http://localhost:8003"],
        description="Origins whose pages may call this API from a browser: the member's phone app "
        "(served by notifications). Exact origins (scheme://host[:port]), never '*' (JSON list).",
    )

    @field_validator("cors_allowed_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin such as https://app.example.org ('*' is refused)"
                )
        return origins


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?")
