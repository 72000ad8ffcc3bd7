"""CSV and TSV: find the delimiter, check the shape in one streaming pass, then load with pandas.

The streaming pass (the ``csv`` module, constant memory) finds ragged rows with their line numbers,
bad quoting and the row limit before anything is loaded; pandas' C parser then loads the checked
file compactly. Both are given the same dialect (the delimiter, ``"`` quotes, doubled to escape),
so they agree on what a row is, quoted newlines included.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_datasets.domain.errors import (
    BAD_QUOTING,
    EMPTY_FILE,
    NO_ROWS,
    RAGGED_ROWS,
    TOO_MANY_ROWS,
    DatasetError,
)
from sds_datasets.domain.header import check_header
from sds_datasets.domain.limits import Limits
from sds_datasets.domain.sizes import cell_error, check_fields

DELIMITERS: Final = ",;\t|"
_SAMPLE_CHARS: Final = 64 * 1024
_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True, slots=True)
class Delimited:
    """A checked delimited table: its values as strings (missing markers still in place)."""

    frame: pd.DataFrame
    delimiter: str


def delimiter_name(delimiter: str) -> str:
    """A readable name of a delimiter for messages and the profile."""
    return _NAMES.get(delimiter, repr(delimiter))


def sniff_delimiter(sample: str) -> str:
    """Pick the delimiter among ``, ; TAB |`` from the start of the file.

    ``csv.Sniffer`` is asked first; its answer is kept only if it splits the sampled rows into a
    constant number (> 1) of fields, since it can be fooled by delimiters inside quoted text.
    Otherwise the candidate giving the most fields with a constant count wins. A sample with no
    candidate at all is read as one column (and refused later as too few columns).
    """
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        sample = "".join(lines[:-1])  # the sample's last line is cut mid-row
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is not None and _consistent_width(sample, sniffed) > 1:
        return sniffed
    best, best_width = ",", 1
    for candidate in DELIMITERS:
        width = _consistent_width(sample, candidate)
        if width > best_width:
            best, best_width = candidate, width
    return best


def _consistent_width(sample: str, delimiter: str) -> int:
    try:
        rows = [row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
    except csv.Error:
        return 0
    widths = {len(row) for row in rows[:200]}
    return widths.pop() if len(widths) == 1 else 0


def read_delimited(path: Path, *, declared: str, limits: Limits) -> Delimited:
    """Read a UTF-8 delimited file whose first row is the header.

    Raises:
        DatasetError: ``too_few_columns``, ``too_many_columns``, ``bad_header``, ``no_rows``,
            ``ragged_rows``, ``bad_quoting`` or ``too_many_rows``.
    """
    with path.open(encoding="utf-8", newline="") as fh:
        sample = fh.read(_SAMPLE_CHARS)
    delimiter = sniff_delimiter(sample)
    if declared == "tsv" and "\t" in sample.partition("\n")[0]:
        delimiter = "\t"
    header = _check_shape(path, delimiter=delimiter, limits=limits)
    frame = pd.read_csv(
        path,
        sep=delimiter,
        quotechar='"',
        doublequote=True,
        header=0,
        names=header,
        index_col=False,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=True,
        encoding="utf-8",
        engine="c",
    )
    return Delimited(frame=frame, delimiter=delimiter)


def _check_shape(path: Path, *, delimiter: str, limits: Limits) -> list[str]:
    # The csv module refuses a field over its own limit (characters, process-wide, 128 Ki by
    # default) before our byte check sees it; it is raised, never lowered, so that our limit is
    # the one that decides, and its refusal is reported as ours.
    if csv.field_size_limit() < limits.max_cell_bytes:
        csv.field_size_limit(limits.max_cell_bytes)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        line = 1
        try:
            header = next((row for row in reader if row), [])
            if not header:
                raise DatasetError(EMPTY_FILE, "the file is empty: it has no header and no rows")
            names = check_header(header, limits=limits)
            check_fields(header, names=names, limits=limits, row=reader.line_num)
            rows = 0
            line = reader.line_num + 1
            for row in reader:
                start, line = line, reader.line_num + 1
                if not row:
                    continue
                if len(row) != len(names):
                    raise DatasetError(
                        RAGGED_ROWS,
                        f"line {start} has {len(row)} field(s) but the header has "
                        f"{len(names)} (delimiter: {delimiter_name(delimiter)}); every row "
                        "needs one value per column (quote values that contain the delimiter)",
                        row=start,
                    )
                check_fields(row, names=names, limits=limits, row=start)
                rows += 1
                if rows > limits.max_rows:
                    raise DatasetError(
                        TOO_MANY_ROWS,
                        f"the table has more than {limits.max_rows:,} rows (the limit); "
                        f"line {start} is row {rows:,}",
                        row=start,
                    )
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise cell_error(
                    size=None, limits=limits, row=reader.line_num or line, column=None
                ) from None
            raise DatasetError(
                BAD_QUOTING,
                f"line {reader.line_num or line} cannot be parsed: {exc} (a quoted value must "
                'end with a quote followed by the delimiter; write a quote inside it as "")',
                row=reader.line_num or line,
            ) from None
    if rows == 0:
        raise DatasetError(NO_ROWS, "the table has a header but no data rows")
    return names
