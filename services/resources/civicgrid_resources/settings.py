"""resources settings: environment variables prefixed ``RESOURCES_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from civicgrid_runtime.settings import ServiceSettings


class ResourcesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCES_", extra="ignore")

    service_name: str = "resources"
    mongo_uri: str = Field(default="mongodb://127.0.0.1:27017", pattern=r"^mongodb(\+srv)?://.+")
    mongo_database: str = Field(default="civicgrid_resources", min_length=1)
    consumer_group: str = "resources"
