"""Webhook signing secrets encrypted at rest with a key from the settings.

The gateway must read a secret back to sign each request, so it cannot store a hash. A database
dump alone must not reveal the secrets, so each is sealed with ``SDS_WEBHOOK_SECRET_KEY``:
AES-256-GCM (``cryptography``) under a key derived from the setting with HKDF-SHA256, a random
96-bit nonce per secret, and the format version as associated data. A wrong key or a tampered
value is detected by GCM's tag, never decrypted to garbage.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"sb2"
NONCE_BYTES = 12
TAG_BYTES = 16
EMBEDDED_KEY_PATH = Path("secrets") / "webhook-secret.key"


class SecretBoxError(Exception):
    """A sealed value that this key did not seal (wrong key, or altered)."""


class SecretBox:
    """Seals and opens short secrets with one key.

    Args:
        key: the key material (``SDS_WEBHOOK_SECRET_KEY``); at least 16 characters.
    """

    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("the webhook secret key needs at least 16 characters")
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"sds webhook secrets: aes-256-gcm",
        ).derive(key.encode())
        self._aead = AESGCM(derived)

    def seal(self, plaintext: str) -> str:
        """Encrypt ``plaintext``; the result is ASCII, safe to store in a text column."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plaintext.encode(), VERSION)
        return f"{VERSION.decode()}.{base64.urlsafe_b64encode(sealed).decode()}"

    def open(self, sealed: str) -> str:
        """Decrypt a value ``seal`` produced.

        Raises:
            SecretBoxError: not sealed with this key, or altered.
        """
        version, _, encoded = sealed.partition(".")
        try:
            raw = base64.urlsafe_b64decode(encoded.encode())
        except (binascii.Error, ValueError):
            raise SecretBoxError("not a sealed secret") from None
        if version.encode() != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SecretBoxError("not a sealed secret")
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], VERSION)
        except InvalidTag:
            raise SecretBoxError("the secret was sealed with another key, or altered") from None
        return plain.decode()


def load_or_create_embedded_key(data_dir: Path) -> str:
    """The embedded runtime's webhook key, created (mode 0600) under ``data_dir`` at first use."""
    path = Path(data_dir) / EMBEDDED_KEY_PATH
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text().strip()
        if existing:
            return existing
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = path.read_text().strip()
        if existing:
            return existing  # another process created it first
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
