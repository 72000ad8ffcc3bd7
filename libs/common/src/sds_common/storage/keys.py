"""Validation of object keys and prefixes.

Keys become file paths in :class:`~sds_common.storage.local.LocalObjectStore`, so a key that could
climb out of the root (``..``, a leading ``/``) or that names nothing (empty segments) is refused
the same way by every backend: code that works on one works on the other.
"""

from __future__ import annotations

from typing import Final

from sds_common.storage.errors import InvalidKey

#: Segments starting with this belong to the stores themselves (temporary uploads, sidecars).
RESERVED_SEGMENT_PREFIX: Final = ".sds-"
#: The S3 limit on a key's UTF-8 length.
MAX_KEY_BYTES: Final = 1024


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a valid object key, else raise :class:`InvalidKey`.

    A valid key is a non-empty ``/``-separated path of at most 1024 UTF-8 bytes, with no leading or
    trailing ``/``, no empty, ``.`` or ``..`` segment, no NUL, backslash or other control character,
    and no segment starting with ``.sds-`` (reserved for the stores' own files).

    Args:
        key: The key to check.

    Returns:
        The same key.

    Raises:
        InvalidKey: If the key is not valid.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("object key must be a non-empty string")
    if len(key.encode("utf-8", errors="surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(f"object key is longer than {MAX_KEY_BYTES} bytes")
    if any(ord(char) < 0x20 or char in "\x7f\\" for char in key):
        raise InvalidKey(f"object key contains a control character or backslash: {key!r}")
    if key.startswith("/"):
        raise InvalidKey(f"object key must not start with '/': {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"object key has an empty, '.' or '..' segment: {key!r}")
        if segment.startswith(RESERVED_SEGMENT_PREFIX):
            raise InvalidKey(f"object key uses the reserved {RESERVED_SEGMENT_PREFIX!r}: {key!r}")
    return key


def is_reserved(key: str) -> bool:
    """Tell whether a stored key belongs to a store itself (never listed or returned)."""
    return any(segment.startswith(RESERVED_SEGMENT_PREFIX) for segment in key.split("/"))


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` unchanged if it can select keys, else raise :class:`InvalidKey`.

    A prefix follows the key rules, except that it may be empty (every key) and may end with ``/``.
    Matching is plain string matching, as in S3: ``"a/b"`` selects ``"a/b"``, ``"a/b/c"`` and
    ``"a/bc"``.

    Args:
        prefix: The prefix to check.

    Returns:
        The same prefix.

    Raises:
        InvalidKey: If the prefix is not valid.
    """
    if not isinstance(prefix, str):
        raise InvalidKey("prefix must be a string")
    if prefix == "":
        return prefix
    validate_key(prefix.removesuffix("/"))
    return prefix
