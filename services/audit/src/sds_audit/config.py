"""Settings of this service: the shared ``SDS_*`` variables plus the audit service's own."""

from __future__ import annotations

import contextlib
import os
import secrets as _secrets
from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr

from sds_common.auth import MissingSecretError
from sds_common.http.settings import AccessSettings
from sds_common.settings import Runtime, Settings

EMBEDDED_SIGNING_KEY_PATH: Final = Path("secrets") / "audit-signing-key"


class AuditSettings(AccessSettings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults.

    The identity check's (secrets, replay protection, rate limits) are ``AccessSettings``'.
    """

    service_name: str = "audit"
    http_port: int = 8005

    audit_checkpoint_every: int = Field(
        default=1000, ge=0, description="sign the chain head every N records (0: only on demand)"
    )
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description=(
            "HMAC key of the audit checkpoints; required when distributed, generated under "
            "SDS_DATA_DIR/secrets when embedded"
        ),
    )


def audit_settings(settings: Settings) -> AuditSettings:
    """``settings`` as AuditSettings (see ``Settings.for_service``)."""
    return settings.for_service(AuditSettings)


def resolve_signing_key(settings: AuditSettings) -> bytes:
    """The checkpoint signing key: configured, or the embedded one (created at first start).

    Raises:
        MissingSecretError: distributed runtime and no ``SDS_AUDIT_SIGNING_KEY``.
    """
    configured = settings.audit_signing_key
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    if settings.runtime is Runtime.EMBEDDED:
        return _load_or_create_key(settings.data_dir / EMBEDDED_SIGNING_KEY_PATH).encode()
    raise MissingSecretError(
        "the distributed audit service refuses to start without a checkpoint signing key: set "
        "SDS_AUDIT_SIGNING_KEY"
    )


def _load_or_create_key(path: Path) -> str:
    """Like ``sds_common.auth.load_or_create_embedded_secret``, for the audit key's own file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text().strip()
        if existing:
            return existing
    key = _secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = path.read_text().strip()
        if existing:
            return existing
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
