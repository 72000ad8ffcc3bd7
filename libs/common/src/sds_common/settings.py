"""Settings shared by every service, read from ``SDS_*`` environment variables.

The same code runs embedded (one process, in-memory bus, SQLite, local folder) or distributed
(Kafka, PostgreSQL, S3, Redis); which adapters are built is decided here and nowhere else.
Every variable is documented in the README's configuration table; a test keeps the two in sync.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ServiceSettingsT = TypeVar("ServiceSettingsT", bound="Settings")


class Runtime(StrEnum):
    """How the services are deployed."""

    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class BusKind(StrEnum):
    MEMORY = "memory"
    KAFKA = "kafka"


class StorageKind(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class Settings(BaseSettings):
    """Process-wide configuration; build one in bootstrap code, never at import time."""

    model_config = SettingsConfigDict(env_prefix="SDS_", extra="ignore", frozen=True)

    runtime: Runtime = Field(default=Runtime.EMBEDDED, description="embedded or distributed")
    service_name: str = Field(default="sds", description="name used in logs, traces, metrics")
    data_dir: Path = Field(
        default=Path(".sds"),
        description="embedded mode: SQLite files, objects, secrets",
    )

    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy async URL, e.g. postgresql+asyncpg://u:p@host/db; "
            "default: a SQLite file per service under SDS_DATA_DIR"
        ),
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema owned by the service (default: its name)"
    )

    bus: BusKind = Field(default=BusKind.MEMORY, description="memory or kafka")
    kafka_bootstrap_servers: str = Field(default="localhost:9092", description="Kafka brokers")
    topic_prefix: str = Field(default="", description="prefix of every topic (isolation)")
    bus_max_retries: int = Field(default=3, ge=0, le=20, description="handler retries before DLQ")
    bus_retry_backoff_ms: int = Field(default=50, ge=0, description="first retry delay, doubles")
    outbox_poll_interval_ms: int = Field(default=200, ge=1, description="relay fallback poll")

    jobs_lease_s: float = Field(
        default=60.0, gt=0.0, description="a crashed worker's job is resumed after this long"
    )
    jobs_max_wait_s: float = Field(
        default=900.0,
        gt=0.0,
        description="a job still waiting for its inputs after this long is given up",
    )

    storage: StorageKind = Field(default=StorageKind.LOCAL, description="local or s3")
    s3_endpoint: str = Field(default="localhost:9000", description="S3 host:port")
    s3_access_key: SecretStr = Field(default=SecretStr(""), description="S3 access key")
    s3_secret_key: SecretStr = Field(default=SecretStr(""), description="S3 secret key")
    s3_bucket: str = Field(default="sds", description="bucket holding every object")
    s3_secure: bool = Field(default=False, description="use HTTPS for S3")
    s3_region: str = Field(default="us-east-1", description="S3 region")

    redis_url: str | None = Field(default=None, description="redis://host:port/db (distributed)")

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR")
    log_format: str = Field(default="json", description="json or console")
    otel_exporter: str = Field(default="none", description="none, console or otlp")
    otel_endpoint: str = Field(
        default="http://localhost:4318", description="OTLP/HTTP collector endpoint"
    )

    http_host: str = Field(default="127.0.0.1", description="interface the HTTP server binds")
    http_port: int = Field(default=8000, ge=1, le=65535, description="HTTP port")
    # Far above what the signed identity, a browser and a tracing proxy send together (about
    # 2 KiB in 20 fields); beyond them a request is answered 431 before any routing.
    http_max_header_bytes: int = Field(
        default=32 * 1024, ge=1024, description="most bytes of request headers (names and values)"
    )
    http_max_headers: int = Field(
        default=100, ge=10, description="most header fields one request may carry"
    )

    @model_validator(mode="after")
    def _distributed_needs_servers(self) -> Settings:
        if self.runtime is Runtime.DISTRIBUTED and self.bus is BusKind.MEMORY:
            raise ValueError("SDS_RUNTIME=distributed needs SDS_BUS=kafka")
        return self

    def for_service(self, cls: type[ServiceSettingsT]) -> ServiceSettingsT:
        """These values as a service's own settings class, its extra fields read from the env.

        The embedded runtime builds one ``Settings`` for every service; each service reads its
        own ``SDS_<SERVICE>_*`` variables on top of those values.
        """
        if isinstance(self, cls):
            return self
        return cls(**{name: getattr(self, name) for name in Settings.model_fields})

    def topic(self, name: str) -> str:
        """Return the physical topic name for a logical one (applies the prefix)."""
        return f"{self.topic_prefix}{name}"

    def database_url_for(self, service: str) -> str:
        """Return the database URL of ``service``: the configured one or its own SQLite file."""
        if self.database_url:
            return self.database_url
        path = (self.data_dir / "db" / f"{service}.sqlite").resolve()
        return f"sqlite+aiosqlite:///{path}"
