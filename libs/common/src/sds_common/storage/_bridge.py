"""A blocking file-like reader that pulls its bytes from an async iterator on the event loop.

The ``minio`` client is synchronous and reads an upload from a file-like object in a worker
thread. :class:`AsyncToSyncReader` lets that thread pull from an async source one part at a time:
each ``read(n)`` schedules one coroutine on the loop that gathers about ``n`` bytes, so memory
holds about one part, never the object. The source is only iterated on the loop; the size limit is
checked there as chunks arrive, and the SHA-256 is computed in the worker thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator

from sds_common.storage.errors import ObjectTooLarge, StorageError


class UploadCancelled(StorageError):  # noqa: N818
    """The awaiting task was cancelled: the worker thread stops reading and aborts the upload."""


class AsyncToSyncReader:
    """Reads an async byte source from a worker thread, counting and hashing what passes.

    Args:
        key: The object key, for error messages.
        chunks: The async source.
        loop: The event loop the source belongs to.
        max_bytes: Raise :class:`ObjectTooLarge` once more bytes than this arrived.
    """

    def __init__(
        self,
        *,
        key: str,
        chunks: AsyncIterable[bytes],
        loop: asyncio.AbstractEventLoop,
        max_bytes: int | None,
    ) -> None:
        self._key = key
        self._source: AsyncIterator[bytes] = aiter(chunks)
        self._loop = loop
        self._max_bytes = max_bytes
        self._pending: deque[bytes | memoryview] = deque()
        self._exhausted = False
        self._received = 0
        self._prehashed = 0
        self._hash = hashlib.sha256()
        self._lock = threading.Lock()
        self._cancelled = False
        self._in_flight: concurrent.futures.Future[bytes] | None = None

    @property
    def size(self) -> int:
        """Bytes received from the source so far."""
        return self._received

    @property
    def exhausted(self) -> bool:
        """Whether the source has ended."""
        return self._exhausted and not self._pending

    def hexdigest(self) -> str:
        """SHA-256 of the bytes handed out so far."""
        return self._hash.hexdigest()

    async def read_ahead(self, size: int) -> bytes:
        """Gather up to ``size`` bytes on the loop, before any worker thread reads.

        Lets the caller send a small object in a single request. The bytes are hashed here; give
        them back with :meth:`push_back` to stream them after all.
        """
        data = await self._gather(size)
        self._hash.update(data)
        return data

    def push_back(self, data: bytes) -> None:
        """Queue ``data`` (returned by :meth:`read_ahead`) to be read again, without rehashing."""
        self._pending.appendleft(data)
        self._prehashed += len(data)

    def read(self, size: int = -1) -> bytes:
        """Blocking read of up to ``size`` bytes (fewer only at the end), from a worker thread."""
        if size < 0:
            raise ValueError("read() needs a size: the object may not fit in memory")
        with self._lock:
            if self._cancelled:
                raise UploadCancelled(self._key)
            future = asyncio.run_coroutine_threadsafe(self._gather(size), self._loop)
            self._in_flight = future
        try:
            data = future.result()
        except concurrent.futures.CancelledError:
            raise UploadCancelled(self._key) from None
        finally:
            with self._lock:
                self._in_flight = None
        skip = min(self._prehashed, len(data))
        self._prehashed -= skip
        self._hash.update(memoryview(data)[skip:])
        return data

    def cancel(self) -> None:
        """Make the worker thread's current and next reads fail, so that it aborts the upload."""
        with self._lock:
            self._cancelled = True
            if self._in_flight is not None:
                self._in_flight.cancel()

    async def _gather(self, size: int) -> bytes:
        """Return the next ``size`` bytes (fewer only at the end), with one copy: the join."""
        pieces: list[bytes | memoryview] = []
        need = size
        while need > 0:
            if not self._pending and not await self._fetch():
                break
            chunk = self._pending.popleft()
            if len(chunk) > need:
                view = memoryview(chunk)  # split without copying; the join copies once
                pieces.append(view[:need])
                self._pending.appendleft(view[need:])
                need = 0
            else:
                pieces.append(chunk)
                need -= len(chunk)
        return b"".join(pieces)

    async def _fetch(self) -> bool:
        """Queue the source's next non-empty chunk; return False at its end."""
        while not self._exhausted:
            try:
                chunk = await anext(self._source)
            except StopAsyncIteration:
                self._exhausted = True
                break
            self._received += len(chunk)
            if self._max_bytes is not None and self._received > self._max_bytes:
                raise ObjectTooLarge(self._key, max_bytes=self._max_bytes)
            if chunk:
                self._pending.append(chunk)
                return True
        return False
