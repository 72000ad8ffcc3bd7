"""Local-store behaviour that the S3 contract cannot show: sidecars and path conflicts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sds_common.storage import LocalObjectStore, StorageError


async def test_stale_sidecar_is_detected_and_the_file_rehashed(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    await store.start()
    await store.put_bytes("a/b", b"old", content_type="text/plain")
    # As if a crash happened between the sidecar and the data rename of a later write.
    (tmp_path / "a" / "b").write_bytes(b"newer content")

    stat = await store.stat("a/b")

    assert stat.size == len(b"newer content")
    assert stat.sha256 == hashlib.sha256(b"newer content").hexdigest()


async def test_sidecars_and_temp_files_are_not_listed(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    await store.start()
    await store.put_bytes("x/y", b"1")
    (tmp_path / "x" / ".sds-tmp-leftover").write_bytes(b"crashed write")

    assert [o.key for o in await store.list()] == ["x/y"]


async def test_a_key_cannot_also_be_a_folder(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    await store.start()
    await store.put_bytes("a", b"1")
    await store.put_bytes("b/c", b"2")

    with pytest.raises(StorageError):
        await store.put_bytes("a/c", b"3")
    with pytest.raises(StorageError):
        await store.put_bytes("b", b"4")
    assert await store.get_bytes("a") == b"1"
    assert [o.key for o in await store.list()] == ["a", "b/c"]


async def test_deleting_prunes_empty_folders(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    await store.start()
    await store.put_bytes("deep/er/key", b"1")

    await store.delete("deep/er/key")
    await store.put_bytes("deep", b"now a file")  # possible only once the folders are gone

    assert await store.get_bytes("deep") == b"now a file"
