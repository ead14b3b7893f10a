"""org-graph settings: environment variables prefixed ``ORGGRAPH_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from civicgrid_runtime.settings import ServiceSettings


class OrgGraphSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORGGRAPH_", extra="ignore")

    service_name: str = "org-graph"
    neo4j_uri: str = Field(default="bolt://127.0.0.1:7687", pattern=r"^(bolt|neo4j)(\+s|\+ssc)?://.+")
    neo4j_user: str | None = None
    neo4j_password: str | None = None
    neo4j_database: str | None = None
    consumer_group: str = "org-graph"
