"""Hostile files: small uploads that would exhaust the parser's stack or the service's memory.

Findings 5 and 6 of issue 16: a 12 KB JSON Lines file nested 2,000 levels deep hit RecursionError
(the event was dead-lettered, the dataset stayed ``uploaded``); 1,816 bytes of Parquet (400 rows
of one 256 KiB string) were loaded whole. Each is now a ``DatasetRejected`` whose code and message
name the limit and the setting that sets it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sds_datasets.domain.limits import Limits
from tests.unit.datasets.conftest import Prepare, Reject


def _parquet(table: pa.Table, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **kwargs)
    return buffer.getvalue()


def _inflating_parquet() -> bytes:
    """The issue's file: 400 rows of one 256 KiB string, dictionary-encoded and compressed."""
    return _parquet(
        pa.table({"note": ["x" * 256 * 1024] * 400, "n": list(range(400))}), compression="zstd"
    )


# ---------------------------------------------------------------- JSON Lines: depth (finding 5)


def test_a_deeply_nested_json_record_is_refused_before_the_parser_recurses(
    reject: Reject,
) -> None:
    depth = 2000
    line = '{"a": ' + "[" * depth + "]" * depth + ', "b": 1}\n'
    content = '{"a": 1, "b": 2}\n' + line
    assert len(content) < 12_000  # a 12 KB file
    error = reject(content, fmt="jsonl")
    assert error.code == "json_too_deep"
    assert error.row == 2
    assert "nested more than 32 levels deep" in error.message
    assert "SDS_DATASETS_MAX_JSON_DEPTH" in error.message


def test_depth_counts_brackets_outside_strings_only(prepare: Prepare) -> None:
    inside = "[" * 500 + "{" * 500
    prepared = prepare(
        json.dumps({"a": inside, "b": 1}) + "\n" + json.dumps({"a": "x", "b": 2}) + "\n",
        fmt="jsonl",
        limits=Limits(max_json_depth=3),
    )
    assert prepared.n_rows == 2


def test_nesting_within_the_depth_limit_is_still_named_nested(reject: Reject) -> None:
    error = reject('{"a": 1, "b": {"c": 2}}\n', fmt="jsonl")
    assert error.code == "nested_values"


# ---------------------------------------------------------------- per-cell and per-row bytes


def test_a_csv_cell_over_the_limit_names_the_line_column_and_setting(reject: Reject) -> None:
    content = "a,b\n1,2\n3," + "é" * 40 + "\n"
    error = reject(content, limits=Limits(max_cell_bytes=64))
    assert error.code == "cell_too_large"
    assert (error.row, error.column) == (3, "b")
    assert "80 bytes" in error.message  # UTF-8 bytes, not characters
    assert "at most 64 bytes (the limit SDS_DATASETS_MAX_CELL_BYTES)" in error.message


def test_a_csv_cell_longer_than_the_csv_modules_own_limit_is_a_cell_error(
    reject: Reject,
) -> None:
    content = "a,b\n1," + "x" * 200_000 + "\n"
    error = reject(content)
    assert error.code == "cell_too_large"
    assert "SDS_DATASETS_MAX_CELL_BYTES" in error.message


def test_a_csv_row_over_the_limit_is_refused(reject: Reject) -> None:
    content = "a,b,c\n" + ",".join(["y" * 50] * 3) + "\n"
    error = reject(content, limits=Limits(max_row_bytes=100))
    assert error.code == "row_too_large"
    assert error.row == 2
    assert "SDS_DATASETS_MAX_ROW_BYTES" in error.message


def test_a_json_line_over_the_row_limit_is_refused_without_reading_it_whole(
    reject: Reject,
) -> None:
    content = '{"a": 1, "b": 2}\n{"a": "' + "z" * 10_000 + '", "b": 3}\n'
    error = reject(content, fmt="jsonl", limits=Limits(max_row_bytes=1000))
    assert error.code == "row_too_large"
    assert error.row == 2
    assert "SDS_DATASETS_MAX_ROW_BYTES" in error.message


def test_a_json_value_over_the_cell_limit_is_refused(reject: Reject) -> None:
    content = '{"a": 1, "b": 2}\n{"a": 2, "b": "' + "z" * 500 + '"}\n'
    error = reject(content, fmt="jsonl", limits=Limits(max_cell_bytes=100))
    assert error.code == "cell_too_large"
    assert (error.row, error.column) == (2, "b")


def test_tables_within_the_limits_are_accepted(prepare: Prepare) -> None:
    rows = "".join(f"{i},{'w' * 60}\n" for i in range(50))
    prepared = prepare("a,b\n" + rows, limits=Limits(max_cell_bytes=60, max_row_bytes=64))
    assert prepared.n_rows == 50


# ---------------------------------------------------------------- Parquet (finding 6)


def test_parquet_that_inflates_is_refused_from_its_decoded_sizes(reject: Reject) -> None:
    content = _inflating_parquet()
    assert len(content) < 2000  # 1,816 bytes with zstd
    error = reject(content, fmt="parquet")
    assert error.code == "cell_too_large"
    assert error.column == "note"
    assert "262,144 bytes" in error.message
    assert "SDS_DATASETS_MAX_CELL_BYTES" in error.message


def test_parquet_decoded_values_count_against_the_table_budget(reject: Reject) -> None:
    # Each value within the cell and row limits; together 100 MiB, over a 50 MiB budget.
    limits = Limits(max_cell_bytes=1024**2, max_row_bytes=1024**2, max_table_bytes=50 * 1024**2)
    error = reject(_inflating_parquet(), fmt="parquet", limits=limits)
    assert error.code == "table_too_large"
    assert "SDS_DATASETS_MAX_TABLE_BYTES" in error.message
    assert "52,428,800" in error.message


def test_parquet_declared_uncompressed_size_is_checked_before_reading(reject: Reject) -> None:
    table = pa.table({"a": [f"value {i}" * 20 for i in range(5000)], "b": list(range(5000))})
    content = _parquet(table, compression="zstd", use_dictionary=False)
    error = reject(content, fmt="parquet", limits=Limits(max_table_bytes=100_000))
    assert error.code == "table_too_large"
    assert "uncompressed" in error.message
    assert "100,000 bytes (the limit SDS_DATASETS_MAX_TABLE_BYTES)" in error.message


def test_parquet_row_bytes_are_the_sum_of_its_decoded_values(reject: Reject) -> None:
    table = pa.table({"a": ["p" * 300] * 10, "b": ["q" * 300] * 10})
    error = reject(_parquet(table), fmt="parquet", limits=Limits(max_row_bytes=500))
    assert error.code == "row_too_large"
    assert error.row == 1
    assert "600 bytes" in error.message


def test_parquet_within_the_limits_is_read_in_batches_with_its_types(prepare: Prepare) -> None:
    n = 150_000
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "city": pa.array(["Paris", "Lyon", None] * (n // 3)),
            "ok": pa.array([True, False, None] * (n // 3)),
        }
    )
    prepared = prepare(_parquet(table, row_group_size=40_000), fmt="parquet")
    assert prepared.n_rows == n
    city = next(c for c in prepared.profile["columns"] if c["name"] == "city")
    assert city["kind"] == "categorical"


def test_the_inflating_parquet_costs_no_memory_to_refuse(tmp_path: Path) -> None:
    """RSS grew by 300 MB when the issue's file was loaded; refusing it must cost a few MB."""
    from sds_datasets.domain.errors import DatasetError  # noqa: PLC0415
    from sds_datasets.domain.parquet import read_parquet  # noqa: PLC0415

    path = tmp_path / "inflating.parquet"
    path.write_bytes(_inflating_parquet())
    # A pool of its own tracks this read's Arrow allocations only (the reader uses the default).
    previous = pa.default_memory_pool()
    tracked = pa.proxy_memory_pool(previous)
    pa.set_memory_pool(tracked)
    try:
        with pytest.raises(DatasetError) as refused:
            read_parquet(path, limits=Limits())
    finally:
        pa.set_memory_pool(previous)
    assert refused.value.code == "cell_too_large"
    assert tracked.max_memory() < 8 * 1024**2, tracked.max_memory()


def test_a_number_python_will_not_convert_is_bad_json_not_a_crash(reject: Reject) -> None:
    error = reject('{"a": 1, "b": 2}\n{"a": ' + "7" * 5000 + ', "b": 3}\n', fmt="jsonl")
    assert error.code == "bad_json"
    assert error.row == 2


def test_the_limits_come_from_the_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from sds_common.settings import Settings  # noqa: PLC0415
    from sds_datasets.config import datasets_settings  # noqa: PLC0415

    monkeypatch.setenv("SDS_DATASETS_MAX_JSON_DEPTH", "5")
    monkeypatch.setenv("SDS_DATASETS_MAX_CELL_BYTES", "100")
    monkeypatch.setenv("SDS_DATASETS_MAX_ROW_BYTES", "1000")
    monkeypatch.setenv("SDS_DATASETS_MAX_TABLE_BYTES", "10000")
    # The embedded runtime builds one Settings for every service; each reads its own on top.
    limits = datasets_settings(Settings()).limits()
    assert (limits.max_json_depth, limits.max_cell_bytes) == (5, 100)
    assert (limits.max_row_bytes, limits.max_table_bytes) == (1000, 10_000)
