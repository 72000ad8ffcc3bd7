"""Parquet: checked from its footer (shape, nested types) before any row is read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
import pyarrow.parquet as pq

from sds_datasets.domain.errors import (
    BAD_FORMAT,
    EMPTY_FILE,
    NESTED_VALUES,
    NO_ROWS,
    TOO_MANY_ROWS,
    DatasetError,
)
from sds_datasets.domain.header import check_header
from sds_datasets.domain.limits import Limits

_MAGIC = b"PAR1"


def read_parquet(path: Path, *, limits: Limits) -> pd.DataFrame:
    """Read a Parquet file into a DataFrame with pandas' nullable types.

    Raises:
        DatasetError: ``empty_file``, ``bad_format``, ``nested_values``, ``no_rows``,
            ``too_many_rows`` or a header error.
    """
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
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(BAD_FORMAT, f"the Parquet file cannot be read: {exc}") from None
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
    rows = parquet.metadata.num_rows
    if rows == 0:
        raise DatasetError(NO_ROWS, "the Parquet file has columns but no rows")
    if rows > limits.max_rows:
        raise DatasetError(
            TOO_MANY_ROWS,
            f"the table has {rows:,} rows; at most {limits.max_rows:,} are accepted",
        )
    try:
        table = parquet.read()
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(BAD_FORMAT, f"the Parquet file cannot be read: {exc}") from None
    frame = table.to_pandas(types_mapper=_nullable)
    frame.columns = [str(name).strip() for name in frame.columns]
    return frame


def _nullable(arrow_type: pa.DataType) -> object:
    # Nullable pandas types keep integer columns with nulls integral instead of float.
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None
