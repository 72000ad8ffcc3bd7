"""Signed proxy identity: how every HTTP entry point trusts who a request comes from.

The frontend (BetterAuth behind a Next.js proxy), the bundled CLI and tests send five headers:
``X-User-Id``, ``X-User-Email``, ``X-User-Role``, ``X-Proxy-Timestamp`` (unix seconds) and
``X-Proxy-Signature`` = lowercase hex HMAC-SHA256(secret, canonical string). The canonical string
binds the identity to one method, one path and one moment, so a leaked header set is only good for
that request within the allowed clock skew. Two secrets may be active while one is rotated.

An optional sixth header, ``X-Proxy-Nonce``, makes each signature single-use: when present it is
appended to the canonical string (so it cannot be swapped), and a verifier with a nonce store
refuses a nonce it has seen within the window. A verifier that requires nonces refuses a request
without one; ``signed_headers`` always sends a fresh one.

A seventh, ``X-Api-Key-Scope``, is only ever written by the gateway: it verifies an API key (it
owns them) and hands the request on signed as the key's creator, narrowed to the key's project and
access. It follows the nonce in the canonical string, so it can be neither added nor stripped; it
can only narrow what the signed identity may do, never widen it.

Each of these headers must appear at most once: a request that repeats one (in any position, with
the same value or another) is refused, so no two readers of one request can see different values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

HEADER_USER_ID: Final = "X-User-Id"
HEADER_EMAIL: Final = "X-User-Email"
HEADER_ROLE: Final = "X-User-Role"
HEADER_TIMESTAMP: Final = "X-Proxy-Timestamp"
HEADER_SIGNATURE: Final = "X-Proxy-Signature"
HEADER_NONCE: Final = "X-Proxy-Nonce"
HEADER_KEY_SCOPE: Final = "X-Api-Key-Scope"
REQUIRED_HEADERS: Final = (
    HEADER_USER_ID,
    HEADER_EMAIL,
    HEADER_ROLE,
    HEADER_TIMESTAMP,
    HEADER_SIGNATURE,
)
#: Every header a signed identity is read from; each may appear at most once in a request.
IDENTITY_HEADERS: Final = (*REQUIRED_HEADERS, HEADER_NONCE, HEADER_KEY_SCOPE)
DEFAULT_MAX_SKEW_S: Final = 300
ROLES: Final = ("admin", "user")

Role = Literal["admin", "user"]
_MAX_USER_ID: Final = 200
_MAX_EMAIL: Final = 320
#: A nonce is 16 to 128 characters of the URL-safe base64 alphabet (a UUID's hex fits too).
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SCOPE = re.compile(r"([A-Za-z0-9-]{1,64}):([A-Za-z0-9-]{1,64}):(read|write)")
#: C0 control characters and DEL (one regex search instead of a Python loop per character).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPELLING: Final = {name.lower(): name for name in IDENTITY_HEADERS}


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


class KeyAccess(StrEnum):
    """What an API key may do in its project."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class KeyScope:
    """The limits of one API key: its id, its project and its access."""

    key_id: str
    project_id: str
    access: KeyAccess

    def header_value(self) -> str:
        """The scope as ``X-Api-Key-Scope`` carries it: ``{key_id}:{project_id}:{access}``."""
        return f"{self.key_id}:{self.project_id}:{self.access.value}"

    @classmethod
    def parse(cls, value: str) -> KeyScope:
        """Read an ``X-Api-Key-Scope`` value.

        Raises:
            AuthError: the value is not ``{key_id}:{project_id}:{read|write}``.
        """
        match = _SCOPE.fullmatch(value)
        if match is None:
            raise AuthError(f"header {HEADER_KEY_SCOPE} is not key:project:access")
        return cls(key_id=match[1], project_id=match[2], access=KeyAccess(match[3]))


@dataclass(frozen=True, slots=True)
class KeyIdentity(Identity):
    """The identity of a request made with an API key: its creator, within the key's scope."""

    scope: KeyScope


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A verified request: who it acts as and the nonce that makes it single-use (if any)."""

    identity: Identity
    nonce: str | None


def canonical_string(  # noqa: PLR0917 — positional: the order IS the canonical form
    timestamp: str | int,
    method: str,
    path: str,
    user_id: str,
    email: str,
    role: str,
    *,
    nonce: str | None = None,
    scope: str | None = None,
) -> str:
    """Return the string a proxy signs, one field per line.

    The form is ``"{timestamp}\\n{METHOD}\\n{path}\\n{user_id}\\n{email}\\n{role}"``, followed by
    ``"\\n{nonce}"`` when the request carries ``X-Proxy-Nonce``, and then by ``"\\n{scope}"`` when
    it carries ``X-Api-Key-Scope`` (only with a nonce).

    Args:
        timestamp: unix seconds, as sent in ``X-Proxy-Timestamp``.
        method: the HTTP method (upper-cased here).
        path: the request path without query string, e.g. ``/api/v1/projects``.
        user_id: value of ``X-User-Id``.
        email: value of ``X-User-Email``.
        role: value of ``X-User-Role``.
        nonce: value of ``X-Proxy-Nonce``, if the request carries one.
        scope: value of ``X-Api-Key-Scope``, if the request carries one.

    Returns:
        The canonical string.

    Raises:
        ValueError: a scope without a nonce.
    """
    base = f"{timestamp}\n{method.upper()}\n{path}\n{user_id}\n{email}\n{role}"
    if scope is not None:
        if nonce is None:
            raise ValueError("a key scope is only signed together with a nonce")
        return f"{base}\n{nonce}\n{scope}"
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
    scope: str | None = None,
) -> str:
    """Return the lowercase hex HMAC-SHA256 of the canonical string under ``secret``."""
    message = canonical_string(
        timestamp, method, path, user_id, email, role, nonce=nonce, scope=scope
    )
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
    scope: KeyScope | None = None,
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
        scope: the API key the request acts within (the gateway, having verified the key).

    Returns:
        Header name → value: the five identity headers, plus ``X-Proxy-Nonce`` and, with a scope,
        ``X-Api-Key-Scope``.

    Raises:
        ValueError: a scope without a nonce.
    """
    timestamp = str(int(time.time() if now is None else now))
    used_nonce = (nonce or new_nonce()) if with_nonce else None
    scope_value = None if scope is None else scope.header_value()
    signature = sign(
        secret,
        timestamp=timestamp,
        method=method,
        path=path,
        user_id=user_id,
        email=email,
        role=role,
        nonce=used_nonce,
        scope=scope_value,
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
    if scope_value is not None:
        headers[HEADER_KEY_SCOPE] = scope_value
    return headers


def identity_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The identity headers among ``items``, by lower-case name, each sent at most once.

    Args:
        items: every header of the request as (name, value) pairs, repeats included (Starlette's
            ``request.headers.items()`` or the raw list).

    Returns:
        Lower-case name → value, for the names in :data:`IDENTITY_HEADERS` that are present.

    Raises:
        AuthError: one of them is sent more than once (in any position, with any value).
    """
    found: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        if key in _SPELLING:
            if key in found:
                raise AuthError(f"header {_SPELLING[key]} is sent more than once")
            found[key] = value
    return found


def verify_signed(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    secrets: Sequence[str],
    method: str,
    path: str,
    now: float | None = None,
    max_skew_s: int = DEFAULT_MAX_SKEW_S,
    require_nonce: bool = False,
) -> SignedRequest:
    """Check a request's identity headers; return who it acts as and its nonce.

    The signature is compared in constant time against every active secret (all of them, so the
    time taken does not tell which one matched). A request carrying ``X-Proxy-Nonce`` is verified
    with the nonce in the canonical string; whether that nonce was seen before is the caller's
    check, on the very nonce returned here (the one the signature covers).

    Args:
        headers: the request headers (names compared case-insensitively; every occurrence, so a
            repeated identity header is noticed: pass Starlette's headers or the raw pairs).
        secrets: the active secrets (two during a rotation).
        method: the request's HTTP method.
        path: the request path without query string.
        now: unix time to check against (default: the current time).
        max_skew_s: how far the timestamp may lie in the past or the future.
        require_nonce: refuse a request without ``X-Proxy-Nonce`` (replay protection is on).

    Returns:
        The verified identity (a :class:`KeyIdentity` when a key scope was signed) and nonce.

    Raises:
        AuthError: a header is missing, repeated or malformed, the timestamp is stale or in the
            future, or no active secret produced the signature.
    """
    active = [secret for secret in secrets if secret]
    if not active:
        raise AuthError("no proxy secret is configured")
    found = identity_headers(headers.items() if isinstance(headers, Mapping) else headers)
    values = _required(found)
    nonce = found.get(HEADER_NONCE.lower())
    if nonce is not None and _NONCE.fullmatch(nonce) is None:
        raise AuthError(f"header {HEADER_NONCE} is not 16 to 128 URL-safe characters")
    if nonce is None and require_nonce:
        raise AuthError(f"missing header {HEADER_NONCE}")
    scope_value = found.get(HEADER_KEY_SCOPE.lower())
    scope = None if scope_value is None else KeyScope.parse(scope_value)
    if scope is not None and nonce is None:
        raise AuthError(f"header {HEADER_KEY_SCOPE} needs {HEADER_NONCE}")
    timestamp = values[HEADER_TIMESTAMP]
    _check_time(timestamp, now=time.time() if now is None else now, max_skew_s=max_skew_s)
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
            scope=scope_value,
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
    checked: Role = "admin" if role == "admin" else "user"
    identity = (
        Identity(user_id=user_id, email=email, role=checked)
        if scope is None
        else KeyIdentity(user_id=user_id, email=email, role=checked, scope=scope)
    )
    return SignedRequest(identity=identity, nonce=nonce)


def _required(found: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in REQUIRED_HEADERS:
        value = found.get(name.lower())
        if value is None or value == "":
            raise AuthError(f"missing header {name}")
        if _CONTROL.search(value) is not None:
            raise AuthError(f"header {name} contains a control character")
        values[name] = value
    return values


def _check_time(timestamp: str, *, now: float, max_skew_s: int) -> None:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError(f"header {HEADER_TIMESTAMP} is not unix seconds")
    age = now - int(timestamp)
    if age > max_skew_s:
        raise AuthError("request timestamp is stale")
    if age < -max_skew_s:
        raise AuthError("request timestamp is in the future")


def verify(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    secrets: Sequence[str],
    method: str,
    path: str,
    now: float | None = None,
    max_skew_s: int = DEFAULT_MAX_SKEW_S,
    require_nonce: bool = False,
) -> Identity:
    """Check a request's identity headers and return who it acts as (see ``verify_signed``).

    Raises:
        AuthError: as ``verify_signed``.
    """
    return verify_signed(
        headers,
        secrets=secrets,
        method=method,
        path=path,
        now=now,
        max_skew_s=max_skew_s,
        require_nonce=require_nonce,
    ).identity
