"""Webhook signatures the Standard Webhooks way (https://www.standardwebhooks.com).

A secret is ``whsec_`` followed by the base64 of random bytes; those bytes are the HMAC key.
Each request carries ``webhook-id`` (the message id, the same on every retry so receivers can
drop duplicates), ``webhook-timestamp`` (unix seconds of this attempt) and ``webhook-signature``:
``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")). Receivers recompute it over the raw
body and refuse a timestamp far from their clock (replays).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 — the format's prefix, not a secret
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret.

    Raises:
        ValueError: not a secret in the Standard Webhooks format.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is base64 after its prefix") from None
    if len(key) < 24:
        raise ValueError("a webhook secret holds at least 24 bytes")
    return key


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one request: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> Mapping[str, str]:
    """The three Standard Webhooks headers of one request."""
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }
