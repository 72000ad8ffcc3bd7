"""Settings of every HTTP entry point's door: secrets, replay protection, rate limits.

The gateway, audit and llm settings classes derive from :class:`AccessSettings`, so the same
``SDS_AUTH_*`` and ``SDS_RATE_LIMIT_*`` variables configure every entry point alike.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from sds_common.auth import resolve_proxy_secrets
from sds_common.settings import Runtime, Settings


class AccessSettings(Settings):
    """The shared ``SDS_*`` variables plus those of the identity check (``sds_common.http``)."""

    auth_secrets: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description=(
            "proxy HMAC secrets, comma-separated (two during a rotation); required when "
            "distributed, generated under SDS_DATA_DIR/secrets when embedded"
        ),
    )
    auth_replay_protection: bool = Field(
        default=True,
        description=(
            "require X-Proxy-Nonce on signed requests and refuse a nonce seen within the "
            "window (in Redis when SDS_REDIS_URL is set, else in-process)"
        ),
    )
    rate_limit_window_s: int = Field(
        default=60, ge=1, description="length of one rate-limit window, in seconds"
    )
    rate_limit_per_user: int = Field(
        default=1200, ge=0, description="requests one user may send per window (0: no limit)"
    )
    rate_limit_per_api_key: int = Field(
        default=600, ge=0, description="requests one API key may send per window (0: no limit)"
    )
    auth_failure_events_per_window: int = Field(
        default=60,
        ge=0,
        description="AuthenticationFailed events recorded per window; further failures are "
        "only counted",
    )

    @field_validator("auth_secrets", mode="before")
    @classmethod
    def _split_secrets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def secret_values(self) -> tuple[str, ...]:
        """The configured secrets in clear (only for signing and verifying)."""
        return tuple(s.get_secret_value() for s in self.auth_secrets if s.get_secret_value())


def resolve_auth_secrets(settings: AccessSettings) -> tuple[str, ...]:
    """The proxy secrets requests are verified against (the first one signs).

    Args:
        settings: a service's settings.

    Returns:
        The configured secrets, or the embedded runtime's generated one.

    Raises:
        MissingSecretError: distributed runtime and no ``SDS_AUTH_SECRETS``.
    """
    return resolve_proxy_secrets(
        settings.secret_values(),
        embedded=settings.runtime is Runtime.EMBEDDED,
        data_dir=settings.data_dir,
        service=settings.service_name,
    )
