"""Where a service's proxy secrets come from: configured, or the embedded runtime's own file."""

from __future__ import annotations

import contextlib
import os
import secrets as _secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Final

EMBEDDED_SECRET_PATH: Final = Path("secrets") / "proxy-secret"


class MissingSecretError(RuntimeError):
    """A distributed service was started without a secret it cannot run without."""


def load_or_create_embedded_secret(data_dir: Path) -> str:
    """Return the embedded runtime's proxy secret, creating it (mode 0600) at first start.

    The bundled CLI reads the same file, so a local user can call the API without configuring
    anything, while nobody without access to the data folder can.

    Args:
        data_dir: the embedded runtime's data folder (``SDS_DATA_DIR``).

    Returns:
        The secret (64 hex characters).
    """
    path = Path(data_dir) / EMBEDDED_SECRET_PATH
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text().strip()
        if existing:
            return existing
    secret = _secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it first (or it was empty): use theirs once it is written.
        existing = path.read_text().strip()
        if existing:
            return existing
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def resolve_proxy_secrets(
    configured: Sequence[str], *, embedded: bool, data_dir: Path, service: str
) -> tuple[str, ...]:
    """The proxy secrets a service verifies identities against.

    Args:
        configured: the secrets from ``SDS_AUTH_SECRETS`` (empty ones are ignored).
        embedded: whether the embedded runtime runs (it generates and shares one secret).
        data_dir: the embedded runtime's data folder.
        service: named in the error.

    Returns:
        The active secrets, the one to sign with first.

    Raises:
        MissingSecretError: distributed runtime and no secret configured.
    """
    secrets = tuple(secret for secret in configured if secret)
    if secrets:
        return secrets
    if embedded:
        return (load_or_create_embedded_secret(data_dir),)
    raise MissingSecretError(
        f"the distributed {service} refuses to start without a proxy secret: set SDS_AUTH_SECRETS "
        "(comma-separated, two during a rotation)"
    )
