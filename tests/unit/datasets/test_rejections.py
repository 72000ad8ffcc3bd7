"""Every way an upload is refused: a stable code and a message that says where and why."""

from __future__ import annotations

import io
import os
import random

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pytest

from sds_datasets.domain.limits import Limits
from tests.unit.datasets.conftest import Prepare, Reject, column


def test_empty_file(reject: Reject) -> None:
    error = reject(b"")
    assert error.code == "empty_file"
    assert "empty" in error.message


def test_whitespace_only_file_is_empty(reject: Reject) -> None:
    assert reject(b"  \n\n \r\n").code == "empty_file"


def test_header_only(reject: Reject) -> None:
    error = reject("a,b,c\n")
    assert error.code == "no_rows"
    assert "header but no data rows" in error.message


def test_one_column(reject: Reject) -> None:
    error = reject("only\n1\n2\n3\n")
    assert error.code == "too_few_columns"
    assert "1 column(s)" in error.message
    assert "at least 2" in error.message


def test_binary_garbage_declared_csv(reject: Reject) -> None:
    garbage = random.Random(7).randbytes(4096)
    error = reject(garbage)
    assert error.code == "bad_format"
    assert "uploaded as csv" in error.message
    assert "binary data" in error.message


def test_parquet_bytes_declared_csv_are_named(reject: Reject) -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(buffer)
    error = reject(buffer.getvalue(), fmt="csv")
    assert error.code == "bad_format"
    assert "Parquet" in error.message


def test_text_declared_parquet(reject: Reject) -> None:
    error = reject("a,b\n1,2\n", fmt="parquet")
    assert error.code == "bad_format"
    assert "not a Parquet file" in error.message


def test_ragged_rows_name_the_line_and_counts(reject: Reject) -> None:
    error = reject("a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n")
    assert error.code == "ragged_rows"
    assert error.row == 4
    assert "line 4 has 2 field(s) but the header has 3" in error.message


def test_ragged_row_with_too_many_fields(reject: Reject) -> None:
    error = reject("a,b\n1,2\n3,4,5\n")
    assert error.code == "ragged_rows"
    assert error.row == 3
    assert "3 field(s)" in error.message


def test_ragged_line_number_counts_quoted_newlines(reject: Reject) -> None:
    # Row 1 spans lines 2-3, so the short row starts on line 4.
    error = reject('a,b\n"x\ny",1\nshort\n')
    assert error.code == "ragged_rows"
    assert error.row == 4


def test_unterminated_quote(reject: Reject) -> None:
    error = reject('a,b\n1,"never closed\n2,3\n')
    assert error.code == "bad_quoting"
    assert error.row is not None


def test_bad_header_blank_name(reject: Reject) -> None:
    error = reject("a,,c\n1,2,3\n")
    assert error.code == "bad_header"
    assert "column(s) 2 have no name" in error.message


def test_bad_header_duplicates(reject: Reject) -> None:
    error = reject("a,b,a, b\n1,2,3,4\n")
    assert error.code == "bad_header"
    assert "more than once: a, b" in error.message


def test_column_of_all_nulls_is_dropped_with_a_warning(prepare: Prepare) -> None:
    prepared = prepare("a,b,empty\n1,x,\n2,y,NA\n3,z,null\n")
    assert [c.name for c in prepared.columns] == ["a", "b"]
    [warning] = prepared.profile["warnings"]
    assert warning["code"] == "empty_column_dropped"
    assert warning["column"] == "empty"


def test_dropping_empty_columns_below_two_rejects(reject: Reject) -> None:
    error = reject("a,empty\n1,\n2,\n")
    assert error.code == "too_few_columns"
    assert "'empty'" in error.message


def test_empty_target_is_rejected(reject: Reject) -> None:
    error = reject("a,b,y\n1,2,\n3,4,\n", target="y")
    assert error.code == "empty_target"
    assert error.column == "y"


def test_unknown_target(reject: Reject) -> None:
    error = reject("a,b\n1,2\n", target="income")
    assert error.code == "unknown_target"
    assert error.column == "income"
    assert "'income' is not in the table" in error.message
    assert "'a', 'b'" in error.message


def test_over_the_row_limit(reject: Reject) -> None:
    rows = "".join(f"{i},{i % 3}\n" for i in range(11))
    error = reject("a,b\n" + rows, limits=Limits(max_rows=10))
    assert error.code == "too_many_rows"
    assert "more than 10 rows" in error.message
    assert error.row == 12


def test_at_the_row_limit_is_accepted(prepare: Prepare) -> None:
    rows = "".join(f"{i},{i % 3}\n" for i in range(10))
    assert prepare("a,b\n" + rows, limits=Limits(max_rows=10)).n_rows == 10


def test_over_the_column_limit(reject: Reject) -> None:
    header = ",".join(f"c{i}" for i in range(6))
    error = reject(f"{header}\n{','.join('1' * 6)}\n", limits=Limits(max_columns=5))
    assert error.code == "too_many_columns"
    assert "6 columns; at most 5" in error.message


def test_parquet_over_the_row_limit(reject: Reject) -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"a": range(20), "b": range(20)}).to_parquet(buffer)
    error = reject(buffer.getvalue(), fmt="parquet", limits=Limits(max_rows=5))
    assert error.code == "too_many_rows"
    assert "20 rows; at most 5" in error.message


def _table_with(values: list[str], *, rows: int) -> str:
    lines = ["key,n"] + [f"{values[i]},{i % 7}" for i in range(rows)]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_100k_repetitive_short_values_are_too_many_categories(reject: Reject) -> None:
    values = [f"v{i % 100_000}" for i in range(200_000)]
    error = reject(_table_with(values, rows=200_000))
    assert error.code == "too_many_categories"
    assert error.column == "key"
    assert "100,000 distinct values" in error.message
    assert "limit is 10,000" in error.message


@pytest.mark.slow
def test_100k_unique_values_are_an_identifier(prepare: Prepare) -> None:
    values = [f"cust-{i:06d}" for i in range(100_000)]
    prepared = prepare(_table_with(values, rows=100_000))
    key = column(prepared, "key")
    assert key["kind"] == "identifier"
    assert key["distinct"] == 100_000
    assert "top" not in key


@pytest.mark.slow
def test_100k_long_values_are_text(prepare: Prepare) -> None:
    rng = random.Random(3)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    values = [" ".join(rng.choices(words, k=8)) for _ in range(100_000)]
    lines = ["note,n"] + [f"{v},{i % 5}" for i, v in enumerate(values)]
    prepared = prepare("\n".join(lines) + "\n")
    note = column(prepared, "note")
    assert note["kind"] == "text"
    assert note["distinct"] > 10_000


def test_category_limit_is_configurable(reject: Reject) -> None:
    values = [f"v{i % 500}" for i in range(1_000)]
    error = reject(_table_with(values, rows=1_000), limits=Limits(max_categories=100))
    assert error.code == "too_many_categories"
    assert "500 distinct values" in error.message


def test_urandom_declared_jsonl(reject: Reject) -> None:
    data = os.urandom(2048).replace(b"\x00", b"\x01") + b"\x00"
    assert reject(data, fmt="jsonl").code == "bad_format"


def test_jsonl_bad_line(reject: Reject) -> None:
    error = reject('{"a": 1, "b": 2}\n{"a": 3, "b":\n', fmt="jsonl")
    assert error.code == "bad_json"
    assert error.row == 2
    assert "line 2 is not valid JSON" in error.message


def test_jsonl_nested_value(reject: Reject) -> None:
    error = reject('{"a": 1, "b": {"c": 2}}\n', fmt="jsonl")
    assert error.code == "nested_values"
    assert error.column == "b"


def test_jsonl_non_object_line(reject: Reject) -> None:
    error = reject('{"a": 1, "b": 2}\n[1, 2]\n', fmt="jsonl")
    assert error.code == "bad_json"
    assert "holds a JSON list" in error.message
