"""Object storage: one async protocol, a local-folder backend and an S3 backend.

Build the configured store with :func:`build_object_store` in bootstrap code, ``await
store.start()`` in the lifespan, and pass it to what needs it.
"""

from sds_common.storage.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ObjectInfo,
    ObjectStore,
    ObjectSummary,
)
from sds_common.storage.errors import InvalidKey, ObjectNotFound, ObjectTooLarge, StorageError
from sds_common.storage.factory import STORE_FACTORIES, StoreFactory, build_object_store
from sds_common.storage.keys import validate_key, validate_prefix
from sds_common.storage.local import LocalObjectStore
from sds_common.storage.s3 import S3ObjectStore, make_minio_client

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONTENT_TYPE",
    "STORE_FACTORIES",
    "InvalidKey",
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectSummary",
    "ObjectTooLarge",
    "S3ObjectStore",
    "StorageError",
    "StoreFactory",
    "build_object_store",
    "make_minio_client",
    "validate_key",
    "validate_prefix",
]
