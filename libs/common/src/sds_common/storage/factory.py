"""Build the object store the settings ask for, through a registry of backends."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from sds_common.settings import Settings, StorageKind
from sds_common.storage.base import ObjectStore
from sds_common.storage.errors import StorageError
from sds_common.storage.local import LocalObjectStore
from sds_common.storage.s3 import S3ObjectStore, make_minio_client

StoreFactory = Callable[[Settings], ObjectStore]


def _local(settings: Settings) -> ObjectStore:
    return LocalObjectStore(settings.data_dir / "objects")


def _s3(settings: Settings) -> ObjectStore:
    client = make_minio_client(
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key.get_secret_value(),
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
    )
    return S3ObjectStore(client, bucket=settings.s3_bucket)


#: The backends, by the value of ``SDS_STORAGE``.
STORE_FACTORIES: Final[Mapping[StorageKind, StoreFactory]] = MappingProxyType(
    {StorageKind.LOCAL: _local, StorageKind.S3: _s3}
)


def build_object_store(
    settings: Settings, *, factories: Mapping[StorageKind, StoreFactory] = STORE_FACTORIES
) -> ObjectStore:
    """Return the object store chosen by ``settings.storage``, not started yet.

    No I/O happens here: call ``await store.start()`` (creates the folder or bucket) in the
    service's lifespan.

    Args:
        settings: The process settings.
        factories: The backends to choose from (tests may add their own).

    Returns:
        The store.

    Raises:
        StorageError: If no backend is registered for ``settings.storage``.
    """
    try:
        factory = factories[settings.storage]
    except KeyError:
        raise StorageError(f"no object store registered for {settings.storage!r}") from None
    return factory(settings)
