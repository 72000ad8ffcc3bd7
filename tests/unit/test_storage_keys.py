"""Key and prefix validation: what keeps a key from escaping the store."""

from __future__ import annotations

import pytest

from sds_common.storage import InvalidKey, StorageError, validate_key, validate_prefix
from sds_common.storage.keys import MAX_KEY_BYTES, is_reserved


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "datasets/123/original.csv",
        "a/b/c/d.parquet",
        ".hidden",
        "a/.b/..c/c..d",
        "unicode/é文字.csv",
        "spaces are fine/x y",
        "x" * MAX_KEY_BYTES,
    ],
)
def test_valid_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside",
        "a/../../outside",
        "a/..",
        "..",
        ".",
        "a/./b",
        "a//b",
        "a/",
        "a/b/",
        "nul\x00byte",
        "new\nline",
        "tab\there",
        "back\\slash",
        "del\x7f",
        ".sds-meta/a.json",
        "a/.sds-tmp-123",
        "x" * (MAX_KEY_BYTES + 1),
        "é" * (MAX_KEY_BYTES // 2 + 1),
    ],
)
def test_invalid_keys_are_rejected(key: str) -> None:
    with pytest.raises(InvalidKey):
        validate_key(key)


def test_invalid_key_is_a_storage_error_and_a_value_error() -> None:
    with pytest.raises(StorageError):
        validate_key("../x")
    with pytest.raises(ValueError):
        validate_key("../x")


def test_non_string_key_is_rejected() -> None:
    with pytest.raises(InvalidKey):
        validate_key(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/b/", "datasets/12"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "/a", "../", "a//", "a/../", "a\x00", ".sds-tmp/"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)


@pytest.mark.parametrize(
    ("key", "reserved"),
    [(".sds-tmp/abc", True), ("a/.sds-meta", True), ("a/b", False), (".sdsx/a", False)],
)
def test_reserved_keys(key: str, *, reserved: bool) -> None:
    assert is_reserved(key) is reserved
