"""resources settings: environment variables prefixed ``RESOURCES_``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from civicgrid_resources.domain.requests import SlaPolicy, Urgency
from civicgrid_runtime.settings import ServiceSettings


class ResourcesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCES_", extra="ignore")

    service_name: str = "resources"
    mongo_uri: str = Field(default="mongodb://127.0.0.1:27017", pattern=r"^mongodb(\+srv)?://.+")
    mongo_database: str = Field(default="civicgrid_resources", min_length=1)
    consumer_group: str = "resources"
    sla_emergency_seconds: float = Field(default=2 * 3600, gt=0)
    sla_utilities_seconds: float = Field(default=24 * 3600, gt=0)
    sla_ordinary_seconds: float = Field(default=7 * 86400, gt=0)
    sla_complex_seconds: float = Field(default=15 * 86400, gt=0)
    sla_sweep_interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    statistics_fold_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often request writes recorded for the dashboards are folded into their buckets.",
    )
    hotline_consumers: int = Field(
        default=4,
        ge=1,
        le=32,
        description="Consumers of the 12345 topic in one process (its partitions are shared among them).",
    )
    reconcile_interval_seconds: float = Field(
        default=21600.0,
        gt=0,
        description="How often the outbox and deadline side collections are checked against the "
        "documents (a safety net: side entries are written before each change).",
    )
    points_per_hour: int = Field(default=10, ge=1, le=1000)
    points_per_request: int = Field(
        default=2,
        ge=0,
        le=1000,
        description="Points each person who handled a resolved request earns (0: none).",
    )

    def sla_policy(self) -> SlaPolicy:
        return SlaPolicy(
            {
                Urgency.EMERGENCY: timedelta(seconds=self.sla_emergency_seconds),
                Urgency.UTILITIES: timedelta(seconds=self.sla_utilities_seconds),
                Urgency.ORDINARY: timedelta(seconds=self.sla_ordinary_seconds),
                Urgency.COMPLEX: timedelta(seconds=self.sla_complex_seconds),
            }
        )
