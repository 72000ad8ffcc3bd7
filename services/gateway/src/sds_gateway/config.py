"""Settings of this service: the shared ``SDS_*`` variables plus the gateway's own."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from sds_common.http.settings import AccessSettings
from sds_common.settings import Runtime, Settings
from sds_gateway.domain.webhook_targets import AllowList
from sds_gateway.domain.webhooks import STANDARD_SCHEDULE_S

DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024


class GatewaySettings(AccessSettings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults."""

    service_name: str = "gateway"
    http_port: int = 8000
    # Secrets, replay protection and rate limits are AccessSettings' (the same variables for
    # every entry point: sds_common.http.identity, docs/access-control.md).

    max_upload_bytes: int = Field(
        default=DEFAULT_MAX_UPLOAD_BYTES, ge=1, description="largest accepted upload, in bytes"
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="browser origins allowed to call the API, comma-separated"
    )
    max_request_bytes: int = Field(
        default=DEFAULT_MAX_REQUEST_BYTES,
        ge=1,
        description="largest accepted request body outside uploads, in bytes",
    )
    sse_heartbeat_s: float = Field(
        default=15.0, gt=0, description="seconds between SSE keep-alive comments"
    )
    sse_poll_interval_s: float = Field(
        default=1.0, gt=0, description="SSE fallback poll of the job-events table, in seconds"
    )
    # The trainer enforces these; the gateway reads the SAME variables for its policy dry run
    # (POST /api/v1/privacy/validate), so both answer alike.
    trainer_epsilon_cap: float = Field(
        default=5.0, gt=0.0, description="policy cap: the most ε one training may ask for"
    )
    trainer_epsilon_budget: float = Field(
        default=5.0, gt=0.0, description="total ε each dataset may spend over all trainings"
    )
    # Webhooks (see sds_gateway.domain.webhooks and the README's "Webhooks" section).
    webhook_secret_key: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "key that encrypts webhook signing secrets at rest (16+ characters); generated "
            "under SDS_DATA_DIR/secrets when embedded; without it a distributed gateway refuses "
            "to create webhooks"
        ),
    )
    webhook_allowed_targets: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description=(
            "host names, addresses and CIDR blocks webhooks may reach although they are not "
            "public (loopback, private), comma-separated"
        ),
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="seconds one webhook delivery attempt may take"
    )
    webhook_retry_schedule_s: Annotated[tuple[float, ...], NoDecode] = Field(
        default=STANDARD_SCHEDULE_S,
        min_length=1,
        description="delay before each delivery attempt in seconds, comma-separated (+10 % jitter)",
    )
    webhook_disable_after_failures: int = Field(
        default=20, ge=1, description="failed deliveries in a row that disable a webhook"
    )
    webhook_disable_after_s: float = Field(
        default=5 * 24 * 3600.0,
        gt=0,
        description="seconds of nothing but failed attempts after which a webhook is disabled",
    )
    # Reverse proxy of the distributed gateway (see sds_gateway.entrypoints.proxy).
    upstream_audit_url: str | None = Field(
        default=None,
        description="distributed: base URL of the audit service, for /api/v1/audit/*",
    )
    upstream_llm_url: str | None = Field(
        default=None, description="distributed: base URL of the llm service, for its routes"
    )
    upstream_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="seconds a proxied service may take to answer or to send the next chunk",
    )

    @field_validator("upstream_audit_url", "upstream_llm_url")
    @classmethod
    def _http_base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
            raise ValueError(f"{value!r} is not an http(s) base URL such as http://llm:8004")
        return value.rstrip("/")

    @field_validator(
        "cors_origins",
        "webhook_allowed_targets",
        "webhook_retry_schedule_s",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("webhook_retry_schedule_s")
    @classmethod
    def _non_negative_delays(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 for delay in value):
            raise ValueError("webhook retry delays cannot be negative")
        return value

    @field_validator("webhook_allowed_targets")
    @classmethod
    def _readable_allow_list(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        AllowList.parse(value)  # raises ValueError naming the entry it cannot read
        return value

    @model_validator(mode="after")
    def _distributed_needs_a_secret(self) -> GatewaySettings:
        if self.runtime is Runtime.DISTRIBUTED and not self.secret_values():
            raise ValueError(
                "the distributed gateway refuses to start without a proxy secret: set "
                "SDS_AUTH_SECRETS (comma-separated, two during a rotation)"
            )
        return self


def gateway_settings(settings: Settings) -> GatewaySettings:
    """``settings`` as GatewaySettings (see ``Settings.for_service``)."""
    return settings.for_service(GatewaySettings)
