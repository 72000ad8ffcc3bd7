"""One contract for every object store: the local folder and a real S3 server (s3proxy, MinIO).

Each test gets a fresh store: a temporary folder, or a fresh bucket named by ``unique_name``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sds_common.storage import (
    InvalidKey,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    ObjectTooLarge,
    S3ObjectStore,
    StorageError,
    make_minio_client,
)
from sds_common.storage.s3 import DEFAULT_PART_SIZE

MiB = 1024 * 1024
PART_SIZE = DEFAULT_PART_SIZE  # S3: objects above it take the multipart path


@dataclass
class Backend:
    name: str
    store: ObjectStore
    #: Every byte the backend holds, reserved areas and incomplete multipart uploads included.
    leftovers: Callable[[], Awaitable[list[str]]]


async def _local_backend(root: Path) -> AsyncIterator[Backend]:
    store = LocalObjectStore(root)

    def _leftovers_sync() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    async def leftovers() -> list[str]:
        return await asyncio.to_thread(_leftovers_sync)

    await store.start()
    yield Backend("local", store, leftovers)
    await store.close()


async def _s3_backend(server: Any, bucket: str) -> AsyncIterator[Backend]:
    client = make_minio_client(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        secure=server.secure,
    )
    store = S3ObjectStore(client, bucket=bucket)

    def _leftovers_sync() -> list[str]:
        names = [o.object_name for o in client.list_objects(bucket, recursive=True)]
        uploads = client._list_multipart_uploads(bucket).uploads  # no public API in minio 7
        names += [f"incomplete-upload:{u.object_name}" for u in uploads]
        return sorted(names)

    async def leftovers() -> list[str]:
        return await asyncio.to_thread(_leftovers_sync)

    def _drop_bucket() -> None:
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, obj.object_name)
        client.remove_bucket(bucket)

    await store.start()
    yield Backend("s3", store, leftovers)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(_drop_bucket)
    await store.close()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[Backend]:
    if request.param == "local":
        backends = _local_backend(tmp_path / "objects")
    else:
        backends = _s3_backend(request.getfixturevalue("s3_server"), unique_name)
    backend = await anext(backends)
    yield backend
    with contextlib.suppress(StopAsyncIteration):
        await anext(backends)


@pytest.fixture
def store(backend: Backend) -> ObjectStore:
    return backend.store


def _payload(size: int, *, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


async def _chunks(data: bytes, *, chunk_size: int = 300_007) -> AsyncIterator[bytes]:
    """Odd-sized chunks, so that part boundaries never line up with them."""
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]
        await asyncio.sleep(0)


async def _read_all(store: ObjectStore, key: str, **kwargs: Any) -> bytes:
    return b"".join([chunk async for chunk in store.open_stream(key, **kwargs)])


# -- writing and reading ---------------------------------------------------------------------


async def test_streamed_multi_mib_object_round_trips(backend: Backend) -> None:
    store = backend.store
    data = _payload(12 * MiB + 123)
    assert len(data) > 2 * PART_SIZE  # several parts on S3
    info = await store.put_stream(
        "datasets/d1/original.csv", _chunks(data), content_type="text/csv"
    )

    assert info.key == "datasets/d1/original.csv"
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.content_type == "text/csv"
    stat = await store.stat("datasets/d1/original.csv")
    assert (stat.size, stat.sha256, stat.content_type) == (info.size, info.sha256, "text/csv")
    assert await _read_all(store, "datasets/d1/original.csv") == data
    assert await store.exists("datasets/d1/original.csv")
    assert [name for name in await backend.leftovers() if ".sds-tmp" in name] == []


async def test_small_object_round_trips(store: ObjectStore) -> None:
    info = await store.put_bytes("a/b.json", b'{"x": 1}', content_type="application/json")

    assert info.size == 8
    assert info.sha256 == hashlib.sha256(b'{"x": 1}').hexdigest()
    assert await store.get_bytes("a/b.json") == b'{"x": 1}'
    stat = await store.stat("a/b.json")
    assert (stat.size, stat.sha256, stat.content_type) == (8, info.sha256, "application/json")


async def test_empty_object_round_trips(store: ObjectStore) -> None:
    info = await store.put_stream("empty", _chunks(b""))

    assert (info.size, info.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert await store.get_bytes("empty") == b""
    assert (await store.stat("empty")).content_type == "application/octet-stream"


async def test_reads_come_in_chunks_of_at_most_chunk_size(store: ObjectStore) -> None:
    data = _payload(1000)
    await store.put_bytes("chunked", data)

    chunks = [chunk async for chunk in store.open_stream("chunked", chunk_size=64)]

    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= 64 for chunk in chunks)
    assert len(chunks) >= 1000 // 64


async def test_missing_object_is_not_found(store: ObjectStore, tmp_path: Path) -> None:
    assert not await store.exists("missing/key")
    with pytest.raises(ObjectNotFound):
        await store.get_bytes("missing/key")
    with pytest.raises(ObjectNotFound):
        await store.stat("missing/key")
    with pytest.raises(ObjectNotFound):
        await _read_all(store, "missing/key")
    with pytest.raises(ObjectNotFound):
        await store.download_to("missing/key", tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()
    assert not any(p.is_file() for p in tmp_path.iterdir())  # noqa: ASYNC240


async def test_overwrite_replaces_content_and_checksum(store: ObjectStore) -> None:
    small, large = b"first version", _payload(6 * MiB, seed=1)
    await store.put_bytes("k", small, content_type="text/plain")

    info = await store.put_stream("k", _chunks(large))
    assert await store.get_bytes("k") == large
    assert (await store.stat("k")).sha256 == info.sha256 == hashlib.sha256(large).hexdigest()

    await store.put_bytes("k", small, content_type="text/plain")
    stat = await store.stat("k")
    assert await store.get_bytes("k") == small
    assert (stat.size, stat.sha256, stat.content_type) == (
        len(small),
        hashlib.sha256(small).hexdigest(),
        "text/plain",
    )


async def test_file_helpers_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    data = _payload(7 * MiB, seed=2)
    source = tmp_path / "model.ckpt"
    source.write_bytes(data)

    info = await store.upload_from("models/m1/model.ckpt", source)
    target = tmp_path / "downloaded" / "model.ckpt"
    await store.download_to("models/m1/model.ckpt", target)

    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.ckpt"]  # no temp file


# -- deleting and listing --------------------------------------------------------------------


async def test_delete_is_idempotent(store: ObjectStore) -> None:
    await store.put_bytes("d/x", b"x")

    await store.delete("d/x")
    await store.delete("d/x")
    await store.delete("never/existed")

    assert not await store.exists("d/x")
    assert await store.list() == []


KEYS = ["a/1", "a/2", "a/b/3", "ab/4", "b/5"]


async def _put_keys(store: ObjectStore) -> None:
    await asyncio.gather(*(store.put_bytes(k, k.encode() * 3) for k in KEYS))


async def test_list_by_prefix(store: ObjectStore) -> None:
    await _put_keys(store)

    assert [o.key for o in await store.list()] == KEYS
    assert [o.key for o in await store.list("a/")] == ["a/1", "a/2", "a/b/3"]
    assert [o.key for o in await store.list("a")] == ["a/1", "a/2", "a/b/3", "ab/4"]
    assert [o.key for o in await store.list("a/b")] == ["a/b/3"]
    assert await store.list("c/") == []
    listed = {o.key: o.size for o in await store.list()}
    assert listed == {k: len(k) * 3 for k in KEYS}


async def test_delete_prefix(store: ObjectStore) -> None:
    await _put_keys(store)

    assert await store.delete_prefix("a/") == 3
    assert [o.key for o in await store.list()] == ["ab/4", "b/5"]
    assert await store.delete_prefix("a/") == 0
    with pytest.raises(StorageError):
        await store.delete_prefix("")


# -- limits and failures leave nothing behind -------------------------------------------------


@pytest.mark.parametrize(("size", "limit"), [(11, 10), (12 * MiB, 8 * MiB), (12 * MiB, 3 * MiB)])
async def test_too_large_object_leaves_nothing(backend: Backend, size: int, limit: int) -> None:
    store = backend.store

    with pytest.raises(ObjectTooLarge):
        await store.put_stream("up/big", _chunks(_payload(size)), max_bytes=limit)

    assert not await store.exists("up/big")
    assert await backend.leftovers() == []


async def test_exactly_max_bytes_is_accepted(store: ObjectStore) -> None:
    info = await store.put_stream("up/exact", _chunks(_payload(6 * MiB)), max_bytes=6 * MiB)
    assert info.size == 6 * MiB


async def test_too_large_overwrite_keeps_the_old_object(backend: Backend) -> None:
    store = backend.store
    await store.put_bytes("keep", b"old")

    with pytest.raises(ObjectTooLarge):
        await store.put_stream("keep", _chunks(_payload(7 * MiB)), max_bytes=6 * MiB)

    assert await store.get_bytes("keep") == b"old"
    assert (await store.stat("keep")).sha256 == hashlib.sha256(b"old").hexdigest()


async def test_source_failure_mid_stream_leaves_nothing(backend: Backend) -> None:
    async def failing() -> AsyncIterator[bytes]:
        async for chunk in _chunks(_payload(7 * MiB)):
            yield chunk
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="client went away"):
        await backend.store.put_stream("up/broken", failing())

    assert await backend.leftovers() == []


async def test_cancelled_upload_leaves_nothing(backend: Backend) -> None:
    sent = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        async for chunk in _chunks(_payload(7 * MiB)):
            yield chunk
        sent.set()
        await asyncio.Event().wait()  # the client stops sending

    task = asyncio.create_task(backend.store.put_stream("up/stalled", stalled()))
    await asyncio.wait_for(sent.wait(), timeout=60)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await backend.leftovers() == []


BAD_KEYS = ["", "/abs", "../up", "a/../../b", "a//b", "a/", "nul\x00", ".sds-tmp/x"]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_are_rejected_everywhere(
    backend: Backend, key: str, tmp_path: Path
) -> None:
    store = backend.store
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.put_bytes(key, b"x"),
        lambda: store.put_stream(key, _chunks(b"x")),
        lambda: store.get_bytes(key),
        lambda: _read_all(store, key),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.download_to(key, tmp_path / "x"),
    ]
    for call in calls:
        with pytest.raises(InvalidKey):
            await call()
    assert await backend.leftovers() == []


# -- resources -------------------------------------------------------------------------------


async def test_streaming_64_mib_keeps_memory_bounded(store: ObjectStore) -> None:
    block = _payload(MiB, seed=3)  # allocated once, before measuring
    expected = hashlib.sha256(block * 64).hexdigest()

    async def blocks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield block

    tracemalloc.start()
    try:
        info = await store.put_stream("mem/big", blocks())
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        async for chunk in store.open_stream("mem/big"):
            digest.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info.sha256 == digest.hexdigest() == expected
    assert info.size == 64 * MiB
    # The local store holds ~1 MiB, S3 about three 5 MiB parts (minio copies each part).
    assert write_peak < 20 * MiB, f"write peak {write_peak / MiB:.1f} MiB"
    assert read_peak < 8 * MiB, f"read peak {read_peak / MiB:.1f} MiB"


async def test_concurrent_puts_to_different_keys(store: ObjectStore) -> None:
    payloads = {
        f"conc/{i}": _payload(MiB * (i % 3) + 6 * MiB * (i % 2) + i, seed=i) for i in range(8)
    }

    infos = await asyncio.gather(*(store.put_stream(k, _chunks(v)) for k, v in payloads.items()))

    for info in infos:
        assert info.sha256 == hashlib.sha256(payloads[info.key]).hexdigest()
    stats = await asyncio.gather(*(store.stat(k) for k in payloads))
    assert {s.key: s.size for s in stats} == {k: len(v) for k, v in payloads.items()}
    assert [o.key for o in await store.list("conc/")] == sorted(payloads)
