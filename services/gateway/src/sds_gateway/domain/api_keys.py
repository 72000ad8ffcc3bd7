"""API keys for machine clients: ``sds_<prefix>_<secret>``, stored as prefix + SHA-256 only.

The prefix (12 hex characters) finds the key's row; the secret (43 URL-safe characters, 256 bits
of randomness) proves possession. Only ``sha256(token)`` is stored: with that much entropy a plain
hash cannot be reversed by guessing, so no pepper or slow hash is needed, and a database leak
yields no usable key. The token is shown once, when the key is created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

TOKEN_PREFIX: Final = "sds"  # noqa: S105 — the public marker of a token, not a secret
#: ``last_used_at`` is written at most this often per key (a read-mostly hot path stays cheap).
TOUCH_EVERY: Final = timedelta(minutes=1)
_TOKEN: Final = re.compile(r"sds_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly minted key: the token to show once, and what is stored of it."""

    token: str
    prefix: str
    secret_hash: str


def mint() -> NewKey:
    """A new random key."""
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(token=token, prefix=prefix, secret_hash=hash_token(token))


def hash_token(token: str) -> str:
    """The stored form of a token (lowercase hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse(token: str) -> str | None:
    """The prefix of a well-formed token, or None."""
    match = _TOKEN.fullmatch(token)
    return match.group(1) if match else None


def matches(token: str, secret_hash: str) -> bool:
    """Whether ``token`` is the key stored as ``secret_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_token(token), secret_hash)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer sds_...`` header, or None for anything else."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(f"{TOKEN_PREFIX}_"):
        return None
    return token


def due_for_touch(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether ``last_used_at`` is old enough to be written again."""
    return last_used_at is None or now - last_used_at >= TOUCH_EVERY
