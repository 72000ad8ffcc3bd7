"""What every object store offers: the :class:`ObjectStore` protocol and the value types it returns.

Services depend on this protocol only; which backend they get is decided by
:func:`sds_common.storage.factory.build_object_store` from the settings.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
DEFAULT_CHUNK_SIZE: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a store knows about one stored object.

    Attributes:
        key: The object's key.
        size: Its length in bytes.
        sha256: Lowercase hex SHA-256 of its content.
        content_type: The media type given when it was written.
        etag: The backend's entity tag, when it has one.
        last_modified: When it was last written (UTC), when known.
    """

    key: str
    size: int
    sha256: str
    content_type: str
    etag: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class ObjectSummary:
    """One entry of a listing: what a store can tell without reading metadata per object.

    Attributes:
        key: The object's key.
        size: Its length in bytes.
        etag: The backend's entity tag, when it has one.
        last_modified: When it was last written (UTC), when known.
    """

    key: str
    size: int
    etag: str | None = None
    last_modified: datetime | None = None


@runtime_checkable
class ObjectStore(Protocol):
    """An async key → bytes store with streaming writes and reads.

    Keys follow :func:`sds_common.storage.keys.validate_key`; every method raises
    :class:`~sds_common.storage.errors.InvalidKey` for a bad one. Writes are atomic: a reader sees
    the old object or the new one, never a part, and a failed write leaves nothing behind.
    """

    async def start(self) -> None:
        """Prepare the backend (create the root folder or the bucket). Idempotent."""
        ...

    async def close(self) -> None:
        """Release connections. The store is not used afterwards."""
        ...

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        """Store the bytes of ``chunks`` under ``key``, replacing any object there.

        Memory stays bounded whatever the object's size; size and SHA-256 are computed on the way.

        Args:
            key: Where to store the object.
            chunks: The content, in chunks of any size.
            content_type: The media type to record.
            max_bytes: Refuse objects longer than this many bytes.

        Returns:
            What was stored.

        Raises:
            ObjectTooLarge: More than ``max_bytes`` arrived; nothing was stored or left behind.
        """
        ...

    async def put_bytes(
        self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store ``data`` under ``key``, replacing any object there."""
        ...

    def open_stream(
        self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Yield the object's content in chunks of at most ``chunk_size`` bytes.

        Raises:
            ObjectNotFound: On the first iteration, if there is no such object.
        """
        ...

    async def get_bytes(self, key: str) -> bytes:
        """Return the whole content of a (small) object.

        Raises:
            ObjectNotFound: If there is no such object.
        """
        ...

    async def stat(self, key: str) -> ObjectInfo:
        """Return what is known about the object.

        Raises:
            ObjectNotFound: If there is no such object.
        """
        ...

    async def exists(self, key: str) -> bool:
        """Tell whether an object is stored under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix`` (non-empty) and return how many."""
        ...

    async def list(self, prefix: str = "") -> builtins.list[ObjectSummary]:
        """Return the objects whose key starts with ``prefix``, sorted by key."""
        ...

    async def download_to(self, key: str, path: Path) -> None:
        """Write the object to the local file ``path`` (atomically: complete or absent).

        Raises:
            ObjectNotFound: If there is no such object.
        """
        ...

    async def upload_from(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store the content of the local file ``path`` under ``key``."""
        ...
