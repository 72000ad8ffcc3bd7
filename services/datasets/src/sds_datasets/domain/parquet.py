"""Parquet: checked from its footer, then read in bounded batches against a byte budget.

Parquet is compressed and dictionary-encoded, so a tiny file can decode to gigabytes: 1,816
bytes of zstd hold 400 rows of one 256 KiB string (100 MiB once decoded). Nothing is decoded on
trust. The footer's declared uncompressed size is checked first; then batches are read with
every string column kept dictionary-encoded (each distinct value once, plus an index per row),
and each row's decoded size is computed from the dictionary's value lengths, so the per-value,
per-row and whole-table limits are checked *before* any value is materialised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sds_datasets.domain.errors import (
    BAD_FORMAT,
    EMPTY_FILE,
    NESTED_VALUES,
    NO_ROWS,
    TABLE_TOO_LARGE,
    TOO_MANY_ROWS,
    DatasetError,
)
from sds_datasets.domain.header import check_header
from sds_datasets.domain.limits import Limits, limit_text
from sds_datasets.domain.sizes import cell_error, row_error

_MAGIC: Final = b"PAR1"
#: Rows per batch: the indices and fixed-width values of one batch stay in the megabytes.
_BATCH_ROWS: Final = 65_536
#: The footer is read before any limit can apply: keep its strings and lists modest.
_THRIFT_STRING_LIMIT: Final = 16 * 1024**2
_THRIFT_CONTAINER_LIMIT: Final = 1_000_000
Sizes = npt.NDArray[np.int64]


def read_parquet(path: Path, *, limits: Limits) -> pd.DataFrame:
    """Read a Parquet file into a DataFrame with pandas' nullable types.

    Raises:
        DatasetError: ``empty_file``, ``bad_format``, ``nested_values``, ``no_rows``,
            ``too_many_rows``, ``table_too_large``, ``row_too_large``, ``cell_too_large`` or a
            header error.
    """
    _check_magic(path)
    parquet = _open(path)
    schema = parquet.schema_arrow
    check_header(list(schema.names), limits=limits)
    for field in schema:
        if pa.types.is_nested(field.type):
            raise DatasetError(
                NESTED_VALUES,
                f"column {field.name!r} has the nested type {field.type}; only flat columns "
                "(numbers, strings, booleans, dates) are accepted",
                column=field.name,
            )
    metadata = parquet.metadata
    rows = metadata.num_rows
    if rows == 0:
        raise DatasetError(NO_ROWS, "the Parquet file has columns but no rows")
    if rows > limits.max_rows:
        raise DatasetError(
            TOO_MANY_ROWS,
            f"the table has {rows:,} rows; at most {limits.max_rows:,} are accepted",
        )
    declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if declared > limits.max_table_bytes:
        raise DatasetError(
            TABLE_TOO_LARGE,
            f"the Parquet file declares {declared:,} bytes of uncompressed data; at most "
            f"{limit_text(limits, 'max_table_bytes')} are accepted",
        )
    strings = [f.name for f in schema if _is_text(f.type)]
    table = _read_within_limits(_open(path, read_dictionary=strings), schema, limits=limits)
    frame = table.to_pandas(types_mapper=_nullable)
    frame.columns = [str(name).strip() for name in frame.columns]
    return frame


def _check_magic(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise DatasetError(EMPTY_FILE, "the file is empty")
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    if head != _MAGIC or tail != _MAGIC:
        raise DatasetError(
            BAD_FORMAT,
            "the file was uploaded as parquet but is not a Parquet file (it does not start and "
            "end with the PAR1 marker)",
        )


def _open(path: Path, *, read_dictionary: list[str] | None = None) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(
            path,
            read_dictionary=read_dictionary,
            thrift_string_size_limit=_THRIFT_STRING_LIMIT,
            thrift_container_size_limit=_THRIFT_CONTAINER_LIMIT,
        )
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(BAD_FORMAT, f"the Parquet file cannot be read: {exc}") from None


def _read_within_limits(parquet: pq.ParquetFile, schema: pa.Schema, *, limits: Limits) -> pa.Table:
    """Every batch, checked before decoding; string columns decoded once they pass."""
    decoded: list[pa.RecordBatch] = []
    total = 0
    first_row = 1
    try:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            sizes = np.zeros(batch.num_rows, dtype=np.int64)
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                values = _value_sizes(column)
                if values.size and int(values.max()) > limits.max_cell_bytes:
                    at = int(values.argmax())
                    raise cell_error(
                        size=int(values[at]),
                        limits=limits,
                        row=first_row + at,
                        column=name,
                        place="row",
                    )
                sizes += values
            if sizes.size and int(sizes.max()) > limits.max_row_bytes:
                at = int(sizes.argmax())
                raise row_error(size=int(sizes[at]), limits=limits, row=first_row + at)
            total += int(sizes.sum())
            if total > limits.max_table_bytes:
                raise DatasetError(
                    TABLE_TOO_LARGE,
                    f"rows 1 to {first_row + batch.num_rows - 1:,} decode to {total:,} bytes; a "
                    f"table may decode to at most {limit_text(limits, 'max_table_bytes')}",
                )
            decoded.append(_decode(batch, schema))
            first_row += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(BAD_FORMAT, f"the Parquet file cannot be read: {exc}") from None
    return pa.Table.from_batches(decoded)


def _value_sizes(column: pa.Array) -> Sizes:
    """Bytes each row's value decodes to (UTF-8 for text, the width of fixed-size types)."""
    if pa.types.is_dictionary(column.type):
        lengths = pa.array(_value_sizes(column.dictionary), pa.int64())
        taken = pc.fill_null(pc.take(lengths, column.indices), 0)
        return np.asarray(taken.to_numpy(zero_copy_only=False), dtype=np.int64)
    if _is_text(column.type):
        lengths = pc.fill_null(pc.binary_length(column), 0)
        return np.asarray(lengths.to_numpy(zero_copy_only=False), dtype=np.int64)
    try:
        width = max(column.type.bit_width // 8, 1)
    except ValueError:  # a type without a fixed width that is not text: count nothing extra
        width = 0
    return np.full(len(column), width, dtype=np.int64)


def _decode(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch with the columns read as dictionaries back in the file's own types."""
    columns = [
        column.dictionary_decode()
        if pa.types.is_dictionary(column.type) and not pa.types.is_dictionary(field.type)
        else column
        for column, field in zip(batch.columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _is_text(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    )


def _nullable(arrow_type: pa.DataType) -> object:
    # Nullable pandas types keep integer columns with nulls integral instead of float.
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None
