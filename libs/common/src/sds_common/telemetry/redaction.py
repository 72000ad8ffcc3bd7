"""Keep credentials out of logs: key-based redaction of structured fields and text scrubbing.

A field is sensitive when one of its words (split on ``-``, ``_``, ``.`` and spaces) names a
credential (``token``, ``password``, ``cookie`` ...) or when its compact form ends in a credential
phrase (``api_key``, ``X-Api-Key``, ``s3_secret_key``). Matching words rather than substrings keeps
harmless fields such as ``prompt_tokens`` or ``object_key`` readable.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

_SENSITIVE_WORDS = frozenset(
    {
        "authorization",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "passwd",
        "password",
        "secret",
        "signature",
        "token",
    }
)
_SENSITIVE_SUFFIXES = ("apikey", "secretkey", "privatekey", "accesskey", "setcookie")
_WORD_SPLIT = re.compile(r"[-_.\s]+")
# scheme://user:password@host -> scheme://user:[redacted]@host (DSNs in driver error messages)
_URL_CREDENTIALS = re.compile(r"(?P<prefix>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
# The gateway's API tokens (sds_<public prefix>_<secret>): the prefix stays readable.
_API_TOKEN = re.compile(r"\b(?P<prefix>sds_[0-9a-f]{12}_)[A-Za-z0-9_-]{16,}")
_MAX_DEPTH = 8


def is_sensitive_key(key: object) -> bool:
    """Return whether a field named ``key`` holds a credential whose value must not be logged.

    Args:
        key: The field name (a header name, a dict key, a log ``extra`` name).

    Returns:
        True for names like ``Authorization``, ``x-proxy-signature``, ``access_token``, ``api_key``.
    """
    if not isinstance(key, str):
        return False
    return _is_sensitive_name(key)


@functools.lru_cache(maxsize=4096)
def _is_sensitive_name(key: str) -> bool:
    # Every log line passes its extras' names through here; they come from a small set.
    lowered = key.lower()
    words = [word for word in _WORD_SPLIT.split(lowered) if word]
    if any(word in _SENSITIVE_WORDS for word in words):
        return True
    return "".join(words).endswith(_SENSITIVE_SUFFIXES)


def redact(value: Any, *, _depth: int = 0) -> Any:
    """Return a copy of ``value`` where every sensitive key of every nested mapping is masked.

    Mappings, lists and tuples are copied; other values are returned as they are. The input is
    never modified.

    Args:
        value: Any value, typically a log ``extra`` field.

    Returns:
        The redacted copy.
    """
    if _depth > _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            key: REDACTED if is_sensitive_key(key) else redact(item, _depth=_depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, _depth=_depth + 1) for item in value]
    return value


def scrub_text(text: str) -> str:
    """Mask the passwords embedded in URLs and the API tokens inside free text.

    Args:
        text: Text that may contain ``scheme://user:password@host`` URLs or ``sds_…`` tokens.

    Returns:
        The text with each URL password and each token's secret replaced by ``[redacted]``.
    """
    if "sds_" in text:
        text = _API_TOKEN.sub(rf"\g<prefix>{REDACTED}", text)
    if "://" not in text:
        return text
    return _URL_CREDENTIALS.sub(rf"\g<prefix>{REDACTED}@", text)


class RedactionFilter(logging.Filter):
    """A handler filter that masks sensitive ``extra`` fields and mapping arguments of a record.

    The record gets redacted copies; objects the caller passed are left untouched.
    """

    def __init__(self, *, standard_attributes: frozenset[str]) -> None:
        """Create the filter.

        Args:
            standard_attributes: Attribute names every ``LogRecord`` has (never treated as extras).
        """
        super().__init__()
        self._standard = standard_attributes

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place and let it through."""
        for key in [key for key in record.__dict__ if key not in self._standard]:
            value = record.__dict__[key]
            if is_sensitive_key(key):
                record.__dict__[key] = REDACTED
            elif isinstance(value, Mapping | list | tuple):
                record.__dict__[key] = redact(value)
        if isinstance(record.args, Mapping):
            record.args = redact(record.args)
        return True
