"""Errors raised by every object store, whatever the backend."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every object-storage failure."""


class InvalidKey(StorageError, ValueError):  # noqa: N818 — named like the other domain errors
    """A key or prefix that could escape the store or that the store reserves for itself."""


class ObjectNotFound(StorageError, KeyError):  # noqa: N818
    """The object does not exist."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"object not found: {self.key!r}"


class ObjectTooLarge(StorageError):  # noqa: N818
    """More bytes arrived than the caller allowed; nothing was stored."""

    def __init__(self, key: str, *, max_bytes: int) -> None:
        super().__init__(key, max_bytes)
        self.key = key
        self.max_bytes = max_bytes

    def __str__(self) -> str:
        return f"object {self.key!r} is larger than the limit of {self.max_bytes} bytes"
