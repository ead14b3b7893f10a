"""Settings with pydantic-settings: one prefix per service, and a clear stop on a bad value."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from civicgrid_runtime.topic_names import TOPIC_SUFFIX_PATTERN, TopicNames


class InvalidSettings(SystemExit):
    """Raised at start-up when a setting is missing or malformed; the message names it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceSettings(BaseSettings):
    """What every service needs. Subclasses set ``model_config`` with their own env prefix."""

    model_config = SettingsConfigDict(env_prefix="CIVICGRID_", extra="ignore")

    service_name: str = "civicgrid"
    environment: Literal["development", "test", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=3)
    kafka_client_id: str | None = None
    topic_suffix: str = Field(
        default="",
        pattern=TOPIC_SUFFIX_PATTERN,
        description="Appended to every catalogue topic this service produces to or consumes from "
        "(isolated test and benchmark runs), e.g. .run42; empty in a real deployment.",
    )
    consumer_max_attempts: int = Field(default=3, ge=1, le=20)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0, le=60)
    consumer_transient_backoff_seconds: float = Field(default=0.2, gt=0, le=60)
    """First wait before retrying a record whose store or broker is unavailable; doubles each try..."""
    consumer_transient_backoff_cap_seconds: float = Field(default=10.0, gt=0, le=300)
    """...up to this cap, for as long as the outage lasts (the partition is held, never skipped)."""
    http_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Requests with a larger body are refused with 413 before they are read."""
    http_request_deadline_seconds: float | None = Field(default=None, gt=0, le=3600)
    """If set, a request that has not begun to answer after this long is cancelled and answered 503
    (off by default: exports and imports may legitimately take long)."""
    consumer_commit_every: int = Field(default=200, ge=1, le=100_000)
    consumer_commit_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    outbox_poll_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    outbox_batch_size: int = Field(default=200, ge=1, le=10_000)
    keys_dir: Path = Field(default=Path(".local/keys"))
    jwt_issuer: str = "civicgrid-dev"
    jwt_audience: str = "civicgrid"
    run_background_workers: bool = True
    otlp_endpoint: str | None = Field(default=None, pattern=r"^(https?://\S+)?$")
    """OpenTelemetry: where traces go over OTLP/HTTP (protobuf), e.g. http://otel-collector:4318 (the
    path /v1/traces is added). Unset (the default): no tracing at all, no exporter, no instrumentation."""
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of new traces recorded (a trace started elsewhere follows its caller's decision)."""
    instance_id: str = Field(default="", max_length=200)
    """Names this instance among a service's replicas (its lease owner); empty: the host name. Replicas
    on one host need their own (``./civicgrid up --replicas`` sets ``<PREFIX>INSTANCE_ID``); a restarted
    instance with the same id takes its leases back at once instead of waiting for them to expire."""
    lease_ttl_seconds: float = Field(default=10.0, ge=1, le=600)
    """How long a periodic job's (or the outbox relay's) lease lasts without renewal: the longest a
    dead holder's jobs wait for another replica to take them over. Renewed every third of it."""

    def topic_names(self) -> TopicNames:
        """The topic names this service uses (catalogue names plus ``topic_suffix``)."""
        return TopicNames(self.topic_suffix)


S = TypeVar("S", bound=BaseSettings)


def describe_validation_error(cls: type[BaseSettings], error: ValidationError) -> str:
    """A one-paragraph message naming every bad setting by its environment variable."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "?"
        env_name = (prefix + field).upper()
        parts.append(f"{env_name} ({field}): {item['msg']}")
    return f"invalid settings for {cls.__name__}: " + "; ".join(parts)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment; a bad value stops the process with a readable message."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        message = describe_validation_error(cls, error)
        print(message, file=sys.stderr)
        raise InvalidSettings(message) from None
