"""Signed proxy identity: how the gateway trusts who a request comes from.

The frontend (BetterAuth behind a Next.js proxy), the bundled CLI and tests send five headers:
``X-User-Id``, ``X-User-Email``, ``X-User-Role``, ``X-Proxy-Timestamp`` (unix seconds) and
``X-Proxy-Signature`` = lowercase hex HMAC-SHA256(secret, canonical string). The canonical string
binds the identity to one method, one path and one moment, so a leaked header set is only good for
that request within the allowed clock skew. Two secrets may be active while one is rotated.

An optional sixth header, ``X-Proxy-Nonce``, makes each signature single-use: when present it is
appended to the canonical string (so it cannot be swapped), and a verifier with a nonce store
(the gateway) refuses a nonce it has seen within the window. A verifier that requires nonces
refuses a request without one; ``signed_headers`` always sends a fresh one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

HEADER_USER_ID: Final = "X-User-Id"
HEADER_EMAIL: Final = "X-User-Email"
HEADER_ROLE: Final = "X-User-Role"
HEADER_TIMESTAMP: Final = "X-Proxy-Timestamp"
HEADER_SIGNATURE: Final = "X-Proxy-Signature"
HEADER_NONCE: Final = "X-Proxy-Nonce"
REQUIRED_HEADERS: Final = (
    HEADER_USER_ID,
    HEADER_EMAIL,
    HEADER_ROLE,
    HEADER_TIMESTAMP,
    HEADER_SIGNATURE,
)
DEFAULT_MAX_SKEW_S: Final = 300
ROLES: Final = ("admin", "user")
EMBEDDED_SECRET_PATH: Final = Path("secrets") / "proxy-secret"

Role = Literal["admin", "user"]
_MAX_USER_ID: Final = 200
_MAX_EMAIL: Final = 320
#: A nonce is 16 to 128 characters of the URL-safe base64 alphabet (a UUID's hex fits too).
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_NONCE_KEY: Final = HEADER_NONCE.lower()
#: C0 control characters and DEL (one regex search instead of a Python loop per character).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AuthError(Exception):
    """A request's identity could not be trusted; ``reason`` is safe to log and to return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified request acts as.

    Attributes:
        user_id: the identity provider's stable user id.
        email: the user's email address as the provider reports it.
        role: ``admin`` or ``user``.
    """

    user_id: str
    email: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """Whether the user holds the global admin role."""
        return self.role == "admin"


def canonical_string(  # noqa: PLR0917 — positional: the order IS the canonical form
    timestamp: str | int,
    method: str,
    path: str,
    user_id: str,
    email: str,
    role: str,
    *,
    nonce: str | None = None,
) -> str:
    """Return the string a proxy signs, one field per line.

    The form is ``"{timestamp}\\n{METHOD}\\n{path}\\n{user_id}\\n{email}\\n{role}"``, followed by
    ``"\\n{nonce}"`` when the request carries ``X-Proxy-Nonce``.

    Args:
        timestamp: unix seconds, as sent in ``X-Proxy-Timestamp``.
        method: the HTTP method (upper-cased here).
        path: the request path without query string, e.g. ``/api/v1/projects``.
        user_id: value of ``X-User-Id``.
        email: value of ``X-User-Email``.
        role: value of ``X-User-Role``.
        nonce: value of ``X-Proxy-Nonce``, if the request carries one.

    Returns:
        The canonical string.
    """
    base = f"{timestamp}\n{method.upper()}\n{path}\n{user_id}\n{email}\n{role}"
    return base if nonce is None else f"{base}\n{nonce}"


def sign(
    secret: str,
    *,
    timestamp: str | int,
    method: str,
    path: str,
    user_id: str,
    email: str,
    role: str,
    nonce: str | None = None,
) -> str:
    """Return the lowercase hex HMAC-SHA256 of the canonical string under ``secret``."""
    message = canonical_string(timestamp, method, path, user_id, email, role, nonce=nonce)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """A fresh random nonce (128 bits, URL-safe base64)."""
    return _secrets.token_urlsafe(16)


def signed_headers(
    secret: str,
    *,
    method: str,
    path: str,
    user_id: str,
    email: str,
    role: str,
    now: float | None = None,
    nonce: str | None = None,
    with_nonce: bool = True,
) -> dict[str, str]:
    """Return the identity headers for one request (CLI, tests, server-side callers).

    Args:
        secret: the shared proxy secret.
        method: the request's HTTP method.
        path: the request path without query string.
        user_id: who acts.
        email: their email.
        role: ``admin`` or ``user``.
        now: unix time to sign at (default: the current time).
        nonce: the nonce to send (default: a fresh random one).
        with_nonce: ``False`` signs the five-header form without a nonce (a verifier that
            requires nonces refuses it).

    Returns:
        Header name → value: the five identity headers, plus ``X-Proxy-Nonce``.
    """
    timestamp = str(int(time.time() if now is None else now))
    used_nonce = (nonce or new_nonce()) if with_nonce else None
    signature = sign(
        secret,
        timestamp=timestamp,
        method=method,
        path=path,
        user_id=user_id,
        email=email,
        role=role,
        nonce=used_nonce,
    )
    headers = {
        HEADER_USER_ID: user_id,
        HEADER_EMAIL: email,
        HEADER_ROLE: role,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: signature,
    }
    if used_nonce is not None:
        headers[HEADER_NONCE] = used_nonce
    return headers


def verify(
    headers: Mapping[str, str],
    *,
    secrets: Sequence[str],
    method: str,
    path: str,
    now: float | None = None,
    max_skew_s: int = DEFAULT_MAX_SKEW_S,
    require_nonce: bool = False,
) -> Identity:
    """Check a request's identity headers and return who it acts as.

    The signature is compared in constant time against every active secret (all of them, so the
    time taken does not tell which one matched). A request carrying ``X-Proxy-Nonce`` is verified
    with the nonce in the canonical string; whether that nonce was seen before is the caller's
    check (``request_nonce`` returns it once ``verify`` accepted the request).

    Args:
        headers: the request headers (names compared case-insensitively).
        secrets: the active secrets (two during a rotation).
        method: the request's HTTP method.
        path: the request path without query string.
        now: unix time to check against (default: the current time).
        max_skew_s: how far the timestamp may lie in the past or the future.
        require_nonce: refuse a request without ``X-Proxy-Nonce`` (replay protection is on).

    Returns:
        The verified identity.

    Raises:
        AuthError: a header is missing or malformed, the timestamp is stale or in the future,
            or no active secret produced the signature.
    """
    active = [secret for secret in secrets if secret]
    if not active:
        raise AuthError("no proxy secret is configured")
    lowered = {name.lower(): value for name, value in headers.items()}
    values: dict[str, str] = {}
    for name in REQUIRED_HEADERS:
        value = lowered.get(name.lower())
        if value is None or value == "":
            raise AuthError(f"missing header {name}")
        if _CONTROL.search(value) is not None:
            raise AuthError(f"header {name} contains a control character")
        values[name] = value
    nonce = request_nonce(lowered)
    if nonce is None and require_nonce:
        raise AuthError(f"missing header {HEADER_NONCE}")
    timestamp = values[HEADER_TIMESTAMP]
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError(f"header {HEADER_TIMESTAMP} is not unix seconds")
    current = time.time() if now is None else now
    age = current - int(timestamp)
    if age > max_skew_s:
        raise AuthError("request timestamp is stale")
    if age < -max_skew_s:
        raise AuthError("request timestamp is in the future")
    user_id, email, role = values[HEADER_USER_ID], values[HEADER_EMAIL], values[HEADER_ROLE]
    expected = [
        sign(
            secret,
            timestamp=timestamp,
            method=method,
            path=path,
            user_id=user_id,
            email=email,
            role=role,
            nonce=nonce,
        )
        for secret in active
    ]
    given = values[HEADER_SIGNATURE].lower()
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(candidate, given)
    if not matched:
        raise AuthError("bad signature")
    if role not in ROLES:
        raise AuthError(f"unknown role (expected one of {', '.join(ROLES)})")
    if len(user_id) > _MAX_USER_ID or len(email) > _MAX_EMAIL:
        raise AuthError("user id or email is too long")
    return Identity(user_id=user_id, email=email, role="admin" if role == "admin" else "user")


def request_nonce(headers: Mapping[str, str]) -> str | None:
    """The request's ``X-Proxy-Nonce``, or None when it sends none.

    Args:
        headers: the request headers (names compared case-insensitively).

    Raises:
        AuthError: the header is present but not 16 to 128 URL-safe characters.
    """
    # Starlette's headers and ``verify``'s lowered copy answer a lowercase name directly.
    value = headers.get(_NONCE_KEY)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == _NONCE_KEY), None)
    if value is None:
        return None
    if _NONCE.fullmatch(value) is None:
        raise AuthError(f"header {HEADER_NONCE} is not 16 to 128 URL-safe characters")
    return value


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


__all__ = [
    "DEFAULT_MAX_SKEW_S",
    "HEADER_EMAIL",
    "HEADER_NONCE",
    "HEADER_ROLE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HEADER_USER_ID",
    "REQUIRED_HEADERS",
    "ROLES",
    "AuthError",
    "Identity",
    "Role",
    "canonical_string",
    "load_or_create_embedded_secret",
    "new_nonce",
    "request_nonce",
    "sign",
    "signed_headers",
    "verify",
]


class MissingSecretError(RuntimeError):
    """A distributed service was started without a secret it cannot run without."""


def resolve_proxy_secrets(
    configured: Sequence[str], *, embedded: bool, data_dir: Path, service: str
) -> tuple[str, ...]:
    """The proxy secrets a service verifies identities against.

    Args:
        configured: the secrets from ``SDS_AUTH_SECRETS`` (empty ones are ignored).
        embedded: whether the embedded runtime runs (it generates and shares one secret).
        data_dir: the embedded runtime's data folder.
        service: named in the error.

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
