"""Settings of this service: the shared ``SDS_*`` variables plus the gateway's own."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from sds_common.auth import (
    resolve_proxy_secrets,
)
from sds_common.settings import Runtime, Settings

DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class GatewaySettings(Settings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults."""

    service_name: str = "gateway"
    http_port: int = 8000

    auth_secrets: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description=(
            "proxy HMAC secrets, comma-separated (two during a rotation); required when "
            "distributed, generated under SDS_DATA_DIR/secrets when embedded"
        ),
    )
    max_upload_bytes: int = Field(
        default=DEFAULT_MAX_UPLOAD_BYTES, ge=1, description="largest accepted upload, in bytes"
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="browser origins allowed to call the API, comma-separated"
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

    @field_validator("auth_secrets", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _distributed_needs_a_secret(self) -> GatewaySettings:
        if self.runtime is Runtime.DISTRIBUTED and not self.secret_values():
            raise ValueError(
                "the distributed gateway refuses to start without a proxy secret: set "
                "SDS_AUTH_SECRETS (comma-separated, two during a rotation)"
            )
        return self

    def secret_values(self) -> tuple[str, ...]:
        """The configured secrets in clear (only for signing and verifying)."""
        return tuple(s.get_secret_value() for s in self.auth_secrets if s.get_secret_value())


def gateway_settings(settings: Settings) -> GatewaySettings:
    """``settings`` as GatewaySettings (see ``Settings.for_service``)."""
    return settings.for_service(GatewaySettings)


def resolve_auth_secrets(settings: GatewaySettings) -> tuple[str, ...]:
    """The proxy secrets requests are verified against (see ``sds_common.auth``).

    Raises:
        MissingSecretError: distributed runtime and no ``SDS_AUTH_SECRETS``.
    """
    return resolve_proxy_secrets(
        settings.secret_values(),
        embedded=settings.runtime is Runtime.EMBEDDED,
        data_dir=settings.data_dir,
        service="gateway",
    )
