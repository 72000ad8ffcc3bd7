"""The storage registry picks the backend from the settings, without any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sds_common.settings import Settings, StorageKind
from sds_common.storage import (
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    StorageError,
    build_object_store,
    make_minio_client,
)


def test_local_store_lives_under_the_data_dir(tmp_path: Path) -> None:
    store = build_object_store(Settings(storage=StorageKind.LOCAL, data_dir=tmp_path))

    assert isinstance(store, LocalObjectStore)
    assert isinstance(store, ObjectStore)
    assert store.root == tmp_path / "objects"
    assert not store.root.exists()  # nothing is created before start()


def test_s3_store_uses_the_configured_bucket() -> None:
    settings = Settings(
        storage=StorageKind.S3,
        s3_endpoint="127.0.0.1:1",  # nothing listens: building must not connect
        s3_access_key=SecretStr("key"),
        s3_secret_key=SecretStr("secret"),
        s3_bucket="my-bucket",
    )

    store = build_object_store(settings)

    assert isinstance(store, S3ObjectStore)
    assert isinstance(store, ObjectStore)
    assert store.bucket == "my-bucket"


def test_unregistered_backend_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no object store registered"):
        build_object_store(Settings(data_dir=tmp_path), factories={})


def test_s3_part_size_below_the_s3_minimum_is_refused() -> None:
    client = make_minio_client(endpoint="127.0.0.1:1", access_key="k", secret_key="s")
    with pytest.raises(ValueError, match="part_size"):
        S3ObjectStore(client, bucket="b", part_size=1024)
