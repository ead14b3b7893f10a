"""org-graph settings: environment variables prefixed ``ORGGRAPH_``."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from civicgrid_orggraph.domain.cross_appointments import DEFAULT_POLICY, RuleMode
from civicgrid_runtime.settings import ServiceSettings

DEV_SALT = "civicgrid-development-salt"


class OrgGraphSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORGGRAPH_", extra="ignore")

    service_name: str = "org-graph"
    neo4j_uri: str = Field(default="bolt://127.0.0.1:7687", pattern=r"^(bolt|neo4j)(\+s|\+ssc)?://.+")
    neo4j_user: str | None = None
    neo4j_password: str | None = None
    neo4j_database: str | None = None
    consumer_group: str = "org-graph"
    id_hash_salt: str = Field(default=DEV_SALT, min_length=16, description="Key of the ID-number hash.")
    outbox_retention_hours: float = Field(
        default=7 * 24,
        gt=0,
        description="How long a published outbox node stays (the audit of what was sent).",
    )
    processed_event_retention_hours: float = Field(
        default=30 * 24,
        gt=0,
        description="How long a consumer's claim of an event stays: longer than any redelivery (Kafka keeps "
        "7 days by default; redriven dead letters come later).",
    )
    idempotency_retention_hours: float = Field(
        default=24,
        gt=0,
        description="How long an Idempotency-Key's answer is kept; a retry after that runs again.",
    )
    retention_sweep_interval_seconds: float = Field(default=600, gt=0)
    cross_appointment_policy: dict[str, RuleMode] = Field(
        default_factory=dict,
        description=(
            'Per-rule mode overrides, JSON: {"owners_committee_chair_manages_property_company": "reject"}.'
        ),
    )

    @model_validator(mode="after")
    def _checked(self) -> OrgGraphSettings:
        unknown = set(self.cross_appointment_policy) - set(DEFAULT_POLICY)
        if unknown:
            raise ValueError(f"unknown cross-appointment rules: {', '.join(sorted(unknown))}")
        if self.environment == "production" and self.id_hash_salt == DEV_SALT:
            raise ValueError("set ORGGRAPH_ID_HASH_SALT to a secret in production")
        return self

    @property
    def policy(self) -> dict[str, RuleMode]:
        return {**DEFAULT_POLICY, **self.cross_appointment_policy}
