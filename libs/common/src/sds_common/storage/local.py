"""Object store on a local folder: the embedded runtime's backend.

Layout under ``root``: the object ``a/b.csv`` is the file ``root/a/b.csv``; what ``stat`` returns
without rereading it (SHA-256, content type) sits in a JSON sidecar ``root/.sds-meta/a/b.csv.json``.
A write goes to a temporary file beside the target and lands with :func:`os.replace`, so readers
see the old content or the new one. The sidecar records the data file's inode, size and mtime: if
a crash or a concurrent writer leaves it out of step, ``stat`` notices and rehashes the file.

Because keys are paths, the key ``a`` and the keys under ``a/`` cannot coexist here (S3 allows
it); writing one over the other raises :class:`~sds_common.storage.errors.StorageError`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import json
import os
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sds_common.storage._files import iter_file, temp_path_beside, write_file_atomically
from sds_common.storage.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ObjectInfo,
    ObjectSummary,
)
from sds_common.storage.errors import ObjectNotFound, ObjectTooLarge, StorageError
from sds_common.storage.keys import RESERVED_SEGMENT_PREFIX, validate_key, validate_prefix

META_DIR = f"{RESERVED_SEGMENT_PREFIX}meta"
_HASH_CHUNK = 1024 * 1024


class LocalObjectStore:
    """An :class:`~sds_common.storage.base.ObjectStore` keeping objects as files under ``root``.

    Args:
        root: The folder holding the objects (created by :meth:`start`).
        write_buffer_size: Bytes gathered from the incoming chunks before one write to disk.
    """

    def __init__(self, root: Path, *, write_buffer_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self._root = Path(root)
        self._meta_root = self._root / META_DIR
        self._write_buffer_size = write_buffer_size

    @property
    def root(self) -> Path:
        """The folder holding the objects."""
        return self._root

    async def start(self) -> None:
        """Create the root folder if it is missing."""
        await asyncio.to_thread(self._meta_root.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        """Nothing to release: files are opened per call."""

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        """Store ``chunks`` under ``key``; see :meth:`ObjectStore.put_stream`."""
        validate_key(key)
        pending = await asyncio.to_thread(_PendingWrite.open, self._root, key)
        try:
            await self._write_chunks(pending, chunks, max_bytes=max_bytes)
            return await asyncio.to_thread(
                pending.commit, meta_path=self._meta_path(key), content_type=content_type
            )
        except BaseException:
            # Sync on purpose: it must run even while the task is being cancelled.
            pending.abort()
            raise

    async def _write_chunks(
        self, pending: _PendingWrite, chunks: AsyncIterable[bytes], *, max_bytes: int | None
    ) -> None:
        """Write ``chunks`` in buffers of about ``write_buffer_size`` bytes, enforcing the limit."""
        received = 0
        buffer: list[bytes] = []
        buffered = 0
        async for chunk in chunks:
            received += len(chunk)
            if max_bytes is not None and received > max_bytes:
                raise ObjectTooLarge(pending.key, max_bytes=max_bytes)
            buffer.append(chunk)
            buffered += len(chunk)
            if buffered >= self._write_buffer_size:
                await asyncio.to_thread(pending.write, b"".join(buffer))
                buffer.clear()
                buffered = 0
        if buffer:
            await asyncio.to_thread(pending.write, b"".join(buffer))

    async def put_bytes(
        self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store ``data`` under ``key``."""
        return await self.put_stream(key, _one_chunk(data), content_type=content_type)

    async def open_stream(
        self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Yield the object's content in chunks of at most ``chunk_size`` bytes."""
        path = self._data_path(validate_key(key))
        try:
            handle: BinaryIO = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def get_bytes(self, key: str) -> bytes:
        """Return the whole content of the object."""
        path = self._data_path(validate_key(key))
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    async def stat(self, key: str) -> ObjectInfo:
        """Return size, SHA-256 and content type, from the sidecar when it is in step."""
        validate_key(key)
        return await asyncio.to_thread(self._stat_sync, key)

    async def exists(self, key: str) -> bool:
        """Tell whether an object is stored under ``key``."""
        return await asyncio.to_thread(self._data_path(validate_key(key)).is_file)

    async def delete(self, key: str) -> None:
        """Remove the object if it exists."""
        validate_key(key)
        await asyncio.to_thread(self._delete_sync, key)

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix`` and return how many."""
        if not validate_prefix(prefix):
            raise StorageError("delete_prefix needs a non-empty prefix")
        return await asyncio.to_thread(self._delete_prefix_sync, prefix)

    async def list(self, prefix: str = "") -> builtins.list[ObjectSummary]:
        """Return the objects whose key starts with ``prefix``, sorted by key."""
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list_sync, prefix)

    async def download_to(self, key: str, path: Path) -> None:
        """Copy the object to the local file ``path``, atomically."""
        await write_file_atomically(path, self.open_stream(key))

    async def upload_from(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store the content of the local file ``path`` under ``key``."""
        chunks = iter_file(path, chunk_size=self._write_buffer_size)
        return await self.put_stream(key, chunks, content_type=content_type)

    # -- synchronous parts, run in worker threads ---------------------------------------------

    def _data_path(self, key: str) -> Path:
        return self._root.joinpath(*key.split("/"))

    def _meta_path(self, key: str) -> Path:
        return self._meta_root.joinpath(*key.split("/")).with_name(f"{key.rsplit('/', 1)[-1]}.json")

    def _stat_sync(self, key: str) -> ObjectInfo:
        path = self._data_path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if not path.is_file():
            raise ObjectNotFound(key)
        meta = _read_sidecar(self._meta_path(key))
        last_modified = datetime.fromtimestamp(st.st_mtime, tz=UTC)
        if meta is not None and meta.matches(st):
            return ObjectInfo(
                key=key,
                size=st.st_size,
                sha256=meta.sha256,
                content_type=meta.content_type,
                last_modified=last_modified,
            )
        # The sidecar is missing or describes another file (crash, concurrent writers): rehash.
        return ObjectInfo(
            key=key,
            size=st.st_size,
            sha256=_hash_file(path),
            content_type=DEFAULT_CONTENT_TYPE,
            last_modified=last_modified,
        )

    def _delete_sync(self, key: str) -> bool:
        path = self._data_path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            removed = False
        else:
            removed = True
        meta = self._meta_path(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            meta.unlink()
        _prune_empty_dirs(path.parent, stop=self._root)
        _prune_empty_dirs(meta.parent, stop=self._meta_root)
        return removed

    def _delete_prefix_sync(self, prefix: str) -> int:
        return sum(self._delete_sync(entry.key) for entry in self._list_sync(prefix))

    def _list_sync(self, prefix: str) -> builtins.list[ObjectSummary]:
        base = self._data_path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self._root
        entries = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = [name for name in dirs if not name.startswith(RESERVED_SEGMENT_PREFIX)]
            for name in files:
                if name.startswith(RESERVED_SEGMENT_PREFIX):
                    continue
                path = Path(folder, name)
                key = path.relative_to(self._root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    st = path.stat()
                except FileNotFoundError:  # deleted while we walked
                    continue
                entries.append(
                    ObjectSummary(
                        key=key,
                        size=st.st_size,
                        last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
                    )
                )
        return sorted(entries, key=lambda entry: entry.key)


@dataclass(frozen=True, slots=True)
class _Sidecar:
    sha256: str
    content_type: str
    size: int
    inode: int
    mtime_ns: int

    def matches(self, st: os.stat_result) -> bool:
        return (self.size, self.inode, self.mtime_ns) == (st.st_size, st.st_ino, st.st_mtime_ns)


def _read_sidecar(path: Path) -> _Sidecar | None:
    try:
        raw: dict[str, Any] = json.loads(path.read_bytes())
        return _Sidecar(**raw)
    except (OSError, ValueError, TypeError):
        return None


class _PendingWrite:
    """A temporary file beside the target, hashed as it is written; committed or aborted."""

    def __init__(self, *, root: Path, key: str, path: Path, temp: Path, handle: BinaryIO) -> None:
        self._root = root
        self._key = key
        self._path = path
        self._temp = temp
        self._handle = handle
        self._hash = hashlib.sha256()
        self._size = 0

    @classmethod
    def open(cls, root: Path, key: str) -> _PendingWrite:
        path = root.joinpath(*key.split("/"))
        # A concurrent delete may prune the folder between mkdir and open: try again.
        for _attempt in range(3):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                temp = temp_path_beside(path)
                handle = temp.open("xb")
            except FileNotFoundError:
                continue
            except (NotADirectoryError, FileExistsError) as exc:
                raise StorageError(f"key {key!r} conflicts with an existing object") from exc
            return cls(root=root, key=key, path=path, temp=temp, handle=handle)
        raise StorageError(f"could not create a file for {key!r}")

    @property
    def key(self) -> str:
        return self._key

    def write(self, data: bytes) -> None:
        self._handle.write(data)
        self._hash.update(data)
        self._size += len(data)

    def commit(self, *, meta_path: Path, content_type: str) -> ObjectInfo:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        st = os.fstat(self._handle.fileno())
        self._handle.close()
        sha256 = self._hash.hexdigest()
        sidecar = {
            "sha256": sha256,
            "content_type": content_type,
            "size": st.st_size,
            "inode": st.st_ino,
            "mtime_ns": st.st_mtime_ns,
        }
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta_temp = temp_path_beside(meta_path)
        meta_temp.write_bytes(json.dumps(sidecar).encode())
        os.replace(meta_temp, meta_path)
        try:
            os.replace(self._temp, self._path)
        except IsADirectoryError as exc:
            raise StorageError(f"key {self._key!r} conflicts with existing keys below it") from exc
        return ObjectInfo(
            key=self._key,
            size=self._size,
            sha256=sha256,
            content_type=content_type,
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    def abort(self) -> None:
        self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()
        _prune_empty_dirs(self._path.parent, stop=self._root)


def _prune_empty_dirs(folder: Path, *, stop: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``stop`` while they are empty."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty, or already gone
            return
        folder = folder.parent


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data
