"""JSON Lines: one JSON object per line; the columns are the keys, in order of first appearance.

A key missing from a record is a missing value (records are often written sparsely). Values are
turned into the same strings a CSV would hold, so one type inference serves every text format.

Hostile input is refused before it costs anything: a line longer than the row limit is not read
whole, and a record nested deeper than the depth limit is refused before the parser (which
recurses once per level) sees it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_datasets.domain.errors import (
    BAD_JSON,
    EMPTY_FILE,
    JSON_TOO_DEEP,
    NESTED_VALUES,
    TOO_MANY_COLUMNS,
    TOO_MANY_ROWS,
    DatasetError,
)
from sds_datasets.domain.header import check_header
from sds_datasets.domain.limits import Limits, limit_text
from sds_datasets.domain.sizes import check_cell, check_row_size


def read_jsonl(path: Path, *, limits: Limits) -> pd.DataFrame:
    """Read a UTF-8 JSON Lines file into string columns (None where missing).

    Raises:
        DatasetError: ``empty_file``, ``bad_json``, ``json_too_deep``, ``nested_values``,
            ``row_too_large``, ``cell_too_large``, ``too_many_rows``, or a header error
            (``too_few_columns``, ``too_many_columns``).
    """
    columns: dict[str, list[str | None]] = {}
    rows = 0
    with path.open(encoding="utf-8") as fh:
        for line_no, line in _lines(fh, limits=limits):
            if not line.strip():
                continue
            record = _parse(line, line_no=line_no, limits=limits)
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
                    check_cell(key, limits=limits, row=line_no, column=key, what="key")
                    columns[key] = [None] * (rows - 1)
            for key, values in columns.items():
                text = _as_text(record.get(key), line_no=line_no, column=key)
                if text is not None:
                    check_cell(text, limits=limits, row=line_no, column=key)
                values.append(text)
    if rows == 0:
        raise DatasetError(EMPTY_FILE, "the file is empty: it has no JSON records")
    names = check_header(list(columns), limits=limits)
    return pd.DataFrame(dict(zip(names, columns.values(), strict=True)), dtype=object)


def _lines(fh: TextIO, *, limits: Limits) -> Iterator[tuple[int, str]]:
    """The file's numbered lines; a line over ``max_row_bytes`` is refused unread past it."""
    line_no = 0
    while line := fh.readline(limits.max_row_bytes + 1):
        line_no += 1
        check_row_size(line.rstrip("\r\n"), limits=limits, row=line_no, what="line")
        yield line_no, line


def json_depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _check_depth(line: str, *, line_no: int, limits: Limits) -> None:
    # Counting brackets is C-speed; the exact scan runs only on lines that may be too deep.
    if line.count("[") + line.count("{") <= limits.max_json_depth:
        return
    if json_depth(line) > limits.max_json_depth:
        raise DatasetError(
            JSON_TOO_DEEP,
            f"line {line_no} is nested more than {limits.max_json_depth} levels deep; records "
            f"may nest at most {limit_text(limits, 'max_json_depth', unit='levels')} (and only "
            "flat records are accepted)",
            row=line_no,
        )


def _parse(line: str, *, line_no: int, limits: Limits) -> dict[str, Any]:
    _check_depth(line, line_no=line_no, limits=limits)
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            BAD_JSON,
            f"line {line_no} is not valid JSON ({exc.msg} at character {exc.colno}); "
            "each line must hold one JSON object",
            row=line_no,
        ) from None
    except (ValueError, RecursionError) as exc:
        # A number of more digits than Python converts (``sys.get_int_max_str_digits``), or
        # nesting the depth check let through: refused as unreadable, never retried.
        raise DatasetError(
            BAD_JSON,
            f"line {line_no} cannot be read as JSON ({_reason(exc)}); each line must hold one "
            "flat JSON object",
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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it nests too deeply"
    return str(exc).split(";")[0][:200]


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
