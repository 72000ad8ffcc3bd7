"""JSON Lines: one JSON object per line; the columns are the keys, in order of first appearance.

A key missing from a record is a missing value (records are often written sparsely). Values are
turned into the same strings a CSV would hold, so one type inference serves every text format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_datasets.domain.errors import (
    BAD_JSON,
    EMPTY_FILE,
    NESTED_VALUES,
    TOO_MANY_COLUMNS,
    TOO_MANY_ROWS,
    DatasetError,
)
from sds_datasets.domain.header import check_header
from sds_datasets.domain.limits import Limits


def read_jsonl(path: Path, *, limits: Limits) -> pd.DataFrame:
    """Read a UTF-8 JSON Lines file into string columns (None where missing).

    Raises:
        DatasetError: ``empty_file``, ``bad_json``, ``nested_values``, ``too_many_rows``, or a
            header error (``too_few_columns``, ``too_many_columns``).
    """
    columns: dict[str, list[str | None]] = {}
    rows = 0
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            record = _parse(line, line_no=line_no)
            rows += 1
            if rows > limits.max_rows:
                raise DatasetError(
                    TOO_MANY_ROWS,
                    f"the file has more than {limits.max_rows:,} records (the limit); "
                    f"line {line_no} is record {rows:,}",
                    row=line_no,
                )
            for key in record:
                if key not in columns:
                    if len(columns) >= limits.max_columns:
                        raise DatasetError(
                            TOO_MANY_COLUMNS,
                            f"line {line_no} brings the number of distinct keys above "
                            f"{limits.max_columns} (the column limit)",
                            row=line_no,
                        )
                    columns[key] = [None] * (rows - 1)
            for key, values in columns.items():
                values.append(_as_text(record.get(key), line_no=line_no, column=key))
    if rows == 0:
        raise DatasetError(EMPTY_FILE, "the file is empty: it has no JSON records")
    names = check_header(list(columns), limits=limits)
    return pd.DataFrame(dict(zip(names, columns.values(), strict=True)), dtype=object)


def _parse(line: str, *, line_no: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            BAD_JSON,
            f"line {line_no} is not valid JSON ({exc.msg} at character {exc.colno}); "
            "each line must hold one JSON object",
            row=line_no,
        ) from None
    if not isinstance(record, dict):
        raise DatasetError(
            BAD_JSON,
            f"line {line_no} holds a JSON {type(record).__name__}, not an object; "
            'each line must be one record like {"column": value, ...}',
            row=line_no,
        )
    return record


def _as_text(value: object, *, line_no: int, column: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise DatasetError(
        NESTED_VALUES,
        f"line {line_no}, column {column!r} holds a nested JSON {type(value).__name__}; "
        "only flat records (strings, numbers, booleans, null) are accepted",
        row=line_no,
        column=column,
    )
