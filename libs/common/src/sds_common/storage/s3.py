"""Object store on any S3-compatible server (MinIO, AWS S3, s3proxy), through the ``minio`` client.

The client is synchronous; every call runs in a worker thread (:func:`asyncio.to_thread`).

How a streamed write works. S3 takes user metadata when an upload starts, but the SHA-256 of a
stream is known only at its end. So:

* an object that fits in one part (``part_size``, 5 MiB by default) is gathered in memory, hashed,
  and sent with one ``PUT`` carrying ``x-amz-meta-sha256``;
* a larger one is streamed as a multipart upload (one part in memory at a time) to a staging key
  ``.sds-tmp/<uuid>``, then server-side copied to its key with the digest as metadata
  (``x-amz-metadata-directive: REPLACE``), then the staging key is deleted. Readers never see a
  partial object, and a failure or :class:`~sds_common.storage.errors.ObjectTooLarge` aborts the
  multipart upload (``minio`` does it) and removes the staging key.

Only the basic S3 API is used (PUT, multipart, CopyObject, HEAD, GET, ListObjectsV2, DeleteObjects),
all of which s3proxy's filesystem backend supports. Staging keys left by a killed process can be
removed by a lifecycle rule on ``.sds-tmp/`` (and one for incomplete multipart uploads).

Memory: a streamed write holds about three parts at its peak (``minio`` copies each part while the
previous one is still referenced): 15 MiB with the default 5 MiB parts, as measured by
``test_streaming_64_mib_keeps_memory_bounded`` in ``tests/integration/test_storage_contract.py``.
The default part size caps an object at 10,000 parts, about 48 GiB; raise it for larger ones.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import io
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error

from sds_common.storage._bridge import AsyncToSyncReader
from sds_common.storage._files import iter_file, write_file_atomically
from sds_common.storage.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ObjectInfo,
    ObjectSummary,
)
from sds_common.storage.errors import ObjectNotFound, StorageError
from sds_common.storage.keys import (
    RESERVED_SEGMENT_PREFIX,
    is_reserved,
    validate_key,
    validate_prefix,
)

SHA256_METADATA: Final = "x-amz-meta-sha256"
STAGING_PREFIX: Final = f"{RESERVED_SEGMENT_PREFIX}tmp/"
MIN_PART_SIZE: Final = 5 * 1024 * 1024
MAX_PART_SIZE: Final = 5 * 1024 * 1024 * 1024
DEFAULT_PART_SIZE: Final = MIN_PART_SIZE
_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion"})
_BUCKET_EXISTS_CODES: Final = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})

_T = TypeVar("_T")


def make_minio_client(
    *,
    endpoint: str,
    access_key: str,
    secret_key: str,
    secure: bool = False,
    region: str | None = None,
    max_connections: int = 32,
) -> Minio:
    """Build a ``minio`` client whose connection pool matches the worker-thread pool.

    Nothing is sent over the network here.

    Args:
        endpoint: ``host:port`` of the S3 server.
        access_key: The access key.
        secret_key: The secret key.
        secure: Use HTTPS.
        region: The bucket region; giving it saves a location lookup per bucket.
        max_connections: Connections kept per host (the minio default of 10 is below the number
            of worker threads that may call it at once).

    Returns:
        The client.
    """
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=10, read=300),
        maxsize=max_connections,
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
        retries=urllib3.Retry(total=5, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    return Minio(
        endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=region,
        http_client=http,
    )


class S3ObjectStore:
    """An :class:`~sds_common.storage.base.ObjectStore` on one bucket of an S3 server.

    Args:
        client: The ``minio`` client (see :func:`make_minio_client`).
        bucket: The bucket holding every object; created by :meth:`start` if missing.
        part_size: Multipart part size in bytes (5 MiB to 5 GiB): the memory one streamed write
            holds, and the size up to which a write is a single ``PUT``.
    """

    def __init__(self, client: Minio, *, bucket: str, part_size: int = DEFAULT_PART_SIZE) -> None:
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be within [{MIN_PART_SIZE}, {MAX_PART_SIZE}]")
        self._client = client
        self._bucket = bucket
        self._part_size = part_size

    @property
    def bucket(self) -> str:
        """The bucket holding every object."""
        return self._bucket

    async def start(self) -> None:
        """Create the bucket if it is missing."""
        await self._call("", self._ensure_bucket_sync)

    async def close(self) -> None:
        """Close the client's pooled connections."""
        # minio exposes no close(); its own __del__ does the same.
        http: urllib3.PoolManager | None = getattr(self._client, "_http", None)
        if http is not None:
            http.clear()

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        """Store ``chunks`` under ``key``; see the module docstring for how."""
        validate_key(key)
        reader = AsyncToSyncReader(
            key=key, chunks=chunks, loop=asyncio.get_running_loop(), max_bytes=max_bytes
        )
        head = await reader.read_ahead(self._part_size + 1)
        if reader.exhausted:
            return await self._put_whole(key, head, sha256=reader.hexdigest(), ctype=content_type)
        reader.push_back(head)
        del head
        staging = f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        try:
            await self._upload_in_parts(reader, key=staging, content_type=content_type)
            return await self._call(
                key,
                self._promote_sync,
                staging,
                key=key,
                sha256=reader.hexdigest(),
                content_type=content_type,
                size=reader.size,
            )
        finally:
            with contextlib.suppress(StorageError):
                await self._call(staging, self._client.remove_object, self._bucket, staging)

    async def put_bytes(
        self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` with one ``PUT`` (multipart above 5 GiB)."""
        validate_key(key)
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        return await self._put_whole(key, data, sha256=digest, ctype=content_type)

    async def open_stream(
        self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Yield the object's content in chunks of at most ``chunk_size`` bytes."""
        validate_key(key)
        response = await self._call(key, self._client.get_object, self._bucket, key)
        try:
            while chunk := await self._call(key, response.read, chunk_size):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def get_bytes(self, key: str) -> bytes:
        """Return the whole content of the object."""
        validate_key(key)
        return await self._call(key, self._get_bytes_sync, key)

    async def stat(self, key: str) -> ObjectInfo:
        """Return size, SHA-256 (from ``x-amz-meta-sha256``) and content type of the object.

        An object written by another tool has no stored digest; it is then read and hashed.
        """
        validate_key(key)
        return await self._call(key, self._stat_sync, key)

    async def exists(self, key: str) -> bool:
        """Tell whether an object is stored under ``key``."""
        validate_key(key)
        try:
            await self._call(key, self._client.stat_object, self._bucket, key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        """Remove the object (S3 deletes are idempotent)."""
        validate_key(key)
        await self._call(key, self._client.remove_object, self._bucket, key)

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix`` and return how many."""
        if not validate_prefix(prefix):
            raise StorageError("delete_prefix needs a non-empty prefix")
        return await self._call(prefix, self._delete_prefix_sync, prefix)

    async def list(self, prefix: str = "") -> builtins.list[ObjectSummary]:
        """Return the objects whose key starts with ``prefix``, sorted by key."""
        validate_prefix(prefix)
        return await self._call(prefix, self._list_sync, prefix)

    async def download_to(self, key: str, path: Path) -> None:
        """Copy the object to the local file ``path``, atomically."""
        await write_file_atomically(path, self.open_stream(key))

    async def upload_from(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store the content of the local file ``path`` under ``key``."""
        chunks = iter_file(path, chunk_size=DEFAULT_CHUNK_SIZE)
        return await self.put_stream(key, chunks, content_type=content_type)

    # -- helpers ------------------------------------------------------------------------------

    async def _call(self, key: str, func: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """Run a blocking client call in a worker thread, translating its errors about ``key``."""
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except S3Error as exc:
            if exc.code in _NOT_FOUND_CODES:
                raise ObjectNotFound(key) from exc
            raise StorageError(f"S3 {exc.code} on {key!r}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"S3 request on {key!r} failed: {exc}") from exc

    async def _put_whole(self, key: str, data: bytes, *, sha256: str, ctype: str) -> ObjectInfo:
        result = await self._call(
            key,
            self._client.put_object,
            self._bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=ctype,
            metadata={SHA256_METADATA: sha256},
            part_size=self._part_size,
            num_parallel_uploads=1,
        )
        return ObjectInfo(
            key=key, size=len(data), sha256=sha256, content_type=ctype, etag=result.etag
        )

    async def _upload_in_parts(
        self, reader: AsyncToSyncReader, *, key: str, content_type: str
    ) -> None:
        # One part in flight: memory stays near part_size (parallel parts would multiply it).
        upload = asyncio.ensure_future(
            self._call(
                key,
                self._client.put_object,
                self._bucket,
                key,
                reader,
                -1,
                content_type=content_type,
                part_size=self._part_size,
                num_parallel_uploads=1,
            )
        )
        try:
            await asyncio.shield(upload)
        except asyncio.CancelledError:
            # The worker thread outlives the cancelled await: make it abort the multipart
            # upload, and wait for that, so that nothing stays behind.
            reader.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await upload
            raise

    def _ensure_bucket_sync(self) -> None:
        if self._client.bucket_exists(self._bucket):
            return
        try:
            self._client.make_bucket(self._bucket)
        except S3Error as exc:  # created meanwhile by another process
            if exc.code not in _BUCKET_EXISTS_CODES:
                raise

    def _promote_sync(
        self, staging: str, *, key: str, sha256: str, content_type: str, size: int
    ) -> ObjectInfo:
        result = self._client.copy_object(
            self._bucket,
            key,
            CopySource(self._bucket, staging),
            metadata={"Content-Type": content_type, SHA256_METADATA: sha256},
            metadata_directive=REPLACE,
        )
        return ObjectInfo(
            key=key,
            size=size,
            sha256=sha256,
            content_type=content_type,
            etag=result.etag,
            last_modified=result.last_modified,
        )

    def _get_bytes_sync(self, key: str) -> bytes:
        response = self._client.get_object(self._bucket, key)
        try:
            data: bytes = response.read()
        finally:
            response.close()
            response.release_conn()
        return data

    def _stat_sync(self, key: str) -> ObjectInfo:
        stat = self._client.stat_object(self._bucket, key)
        sha256 = stat.metadata.get(SHA256_METADATA) if stat.metadata else None
        if not sha256:
            sha256 = self._hash_object_sync(key)
        return ObjectInfo(
            key=key,
            size=int(stat.size or 0),
            sha256=str(sha256),
            content_type=stat.content_type or DEFAULT_CONTENT_TYPE,
            etag=stat.etag or None,
            last_modified=stat.last_modified,
        )

    def _hash_object_sync(self, key: str) -> str:
        digest = hashlib.sha256()
        response = self._client.get_object(self._bucket, key)
        try:
            for chunk in response.stream(DEFAULT_CHUNK_SIZE):
                digest.update(chunk)
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest()

    def _list_sync(self, prefix: str) -> builtins.list[ObjectSummary]:
        entries = [
            ObjectSummary(
                key=obj.object_name,
                size=int(obj.size or 0),
                etag=obj.etag or None,
                last_modified=obj.last_modified,
            )
            for obj in self._client.list_objects(self._bucket, prefix=prefix, recursive=True)
            if not obj.is_dir and not is_reserved(obj.object_name)
        ]
        return sorted(entries, key=lambda entry: entry.key)

    def _delete_prefix_sync(self, prefix: str) -> int:
        keys = [entry.key for entry in self._list_sync(prefix)]
        # remove_objects is lazy: iterating its result sends the batched DeleteObjects requests.
        errors = list(
            self._client.remove_objects(self._bucket, (DeleteObject(key) for key in keys))
        )
        if errors:
            raise StorageError(f"could not delete {len(errors)} objects under {prefix!r}")
        return len(keys)
