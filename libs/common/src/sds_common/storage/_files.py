"""Local-file helpers shared by the stores: chunked async reads and atomic async writes.

File I/O runs in worker threads (:func:`asyncio.to_thread`), one chunk per hop, so the event loop
never blocks on the disk and memory never holds more than one chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from sds_common.storage.keys import RESERVED_SEGMENT_PREFIX

TEMP_PREFIX = f"{RESERVED_SEGMENT_PREFIX}tmp-"


def temp_path_beside(path: Path) -> Path:
    """Return a fresh temporary path in ``path``'s folder (same file system: atomic replace)."""
    return path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}")


async def iter_file(path: Path, *, chunk_size: int) -> AsyncIterator[bytes]:
    """Yield the content of ``path`` in chunks of at most ``chunk_size`` bytes.

    Args:
        path: The file to read.
        chunk_size: The largest chunk to yield.

    Yields:
        The file's bytes, in order.
    """
    handle: BinaryIO = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


async def write_file_atomically(path: Path, chunks: AsyncIterable[bytes]) -> int:
    """Write ``chunks`` to ``path`` through a temporary file and an atomic rename.

    Args:
        path: The file to create or replace; its folder is created if missing.
        chunks: The content.

    Returns:
        The number of bytes written.
    """
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    temp = temp_path_beside(path)
    handle: BinaryIO = await asyncio.to_thread(temp.open, "xb")
    size = 0
    try:
        async for chunk in chunks:
            await asyncio.to_thread(handle.write, chunk)
            size += len(chunk)
        await asyncio.to_thread(_flush_and_close, handle)
        await asyncio.to_thread(os.replace, temp, path)
    except BaseException:
        # Sync on purpose: it must run even while the task is being cancelled.
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return size


def _flush_and_close(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
