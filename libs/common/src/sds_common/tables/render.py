"""Writing a typed table back the way its source file was written (:class:`ColumnFormat`).

The inverse of the datasets service's format detection: a column parsed from text and rendered
here with its detected format gives back the text the file held, cell by cell (booleans as their
tokens, numbers with their decimals, datetimes in their pattern and zone, missing cells as the
file wrote them, text verbatim). Synthetic values go through the same path, so a synthetic table
reads like the real one.

Everything works on one Arrow record batch at a time and with Arrow's vectorised kernels, so a
download streams at Arrow's speed whatever its size. The steps compose: :func:`render_table`
turns a batch into text columns, a caller may transform those (neutralise spreadsheet formulas,
say), and :func:`write_csv` serialises them; :func:`render_csv` is the first and the last.

Parquet downloads keep typed columns, restoring the source file's Arrow types where the typed
table changed them (:func:`restore_source_types`: a 0/1 ``int64`` column typed as boolean comes
back ``int64``, a ``date32`` column typed as a timestamp comes back ``date32``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from sds_common.tables.clock import strftime
from sds_common.tables.formats import ColumnFormat

Data: TypeAlias = pa.RecordBatch | pa.Table
#: Numbers are formatted through int64 only where every scaled value converts exactly.
_EXACT_SCALED: Final = 2.0**50
_MAX_STEP_DIGITS: Final = 9
_NEEDS_QUOTES: Final = '[,"\r\n]'
_TIMESTAMP: Final = re.compile(r"^timestamp\[(s|ms|us|ns)(?:, tz=(.+))?\]$")
_DECIMAL: Final = re.compile(r"^decimal(?:128|256)\((\d+), (-?\d+)\)$")
_NAMED_TYPES: Final[dict[str, pa.DataType | None]] = {
    "text": None,
    "bool": pa.bool_(),
    "date32[day]": pa.date32(),
    "date64[ms]": pa.date64(),
}


def render_csv(data: Data, formats: Mapping[str, ColumnFormat], *, header: bool = True) -> bytes:
    """``data`` as CSV text (UTF-8), each column written in its format.

    Args:
        data: one record batch (or table) of typed values.
        formats: each column's format by name; columns without one keep a plain rendering.
        header: start with the header row (the first batch of a file only).
    """
    return write_csv(render_table(data, formats), header=header)


def render_table(data: Data, formats: Mapping[str, ColumnFormat]) -> pa.Table:
    """``data`` with every column turned into its text (missing cells: their token, or null)."""
    names = list(data.schema.names)
    columns = [render_column(data.column(i), formats.get(name)) for i, name in enumerate(names)]
    return pa.Table.from_arrays(columns, names=names)


def write_csv(table: pa.Table, *, header: bool = True) -> bytes:
    """Text columns as CSV: quoted only where a value holds ``,``, ``"`` or a line break.

    Rows end with ``\n``; a null cell is an empty field.
    """
    quoted = [_quote(pc.cast(column.combine_chunks(), pa.string())) for column in table.columns]
    head = b""
    if header:
        names = _quote(pa.array(table.schema.names, pa.string())).to_pylist()
        head = (",".join(names) + "\n").encode()
    if not quoted or not table.num_rows:
        return head
    rows = pc.binary_join_element_wise(*quoted, ",", null_handling="replace", null_replacement="")
    return head + _concatenated(pc.binary_join_element_wise(rows, "\n", ""))


def _concatenated(text: pa.Array) -> bytes:
    """All values of a string array, back to back (its data buffer, without a copy per value)."""
    text = pc.cast(text, pa.large_string())
    _, offsets, data = text.buffers()
    bounds = pa.Array.from_buffers(pa.int64(), len(text) + 1, [None, offsets], offset=text.offset)
    start, end = bounds[0].as_py(), bounds[-1].as_py()
    return data.to_pybytes()[start:end] if data is not None else b""


def _quote(column: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(column, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return column
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, escaped, column)


def render_column(values: pa.Array | pa.ChunkedArray, fmt: ColumnFormat | None) -> pa.Array:
    """One column's values as text in ``fmt``; missing cells become ``fmt.missing_token``.

    A missing token of ``""`` leaves the cell null, which CSV writes as an empty field.
    """
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    kind = array.type
    if fmt is not None and (fmt.boolean is not None or pa.types.is_boolean(kind)):
        text = _booleans(array, fmt)
    elif pa.types.is_boolean(kind):
        text = _booleans(array, None)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        text = _numbers(array, fmt)
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        text = _datetimes(array, fmt)
    else:
        text = pc.cast(array, pa.string())
    token = "" if fmt is None else fmt.missing_token
    return pc.fill_null(text, token) if token else text


def _booleans(values: pa.Array, fmt: ColumnFormat | None) -> pa.Array:
    tokens = None if fmt is None else fmt.boolean
    true, false = (tokens.true, tokens.false) if tokens is not None else ("true", "false")
    if pa.types.is_boolean(values.type):
        flags = values
    elif pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        flags = pc.not_equal(values, 0)
    else:  # already text: nothing to map
        return pc.cast(values, pa.string())
    return pc.if_else(flags, true, false)


def _numbers(values: pa.Array, fmt: ColumnFormat | None) -> pa.Array:
    decimals = None if fmt is None else _decimals(fmt)
    if pa.types.is_integer(values.type) and not decimals:
        return pc.cast(values, pa.string())
    floats = pc.cast(values, pa.float64())
    finite = pc.if_else(pc.is_finite(floats), floats, pa.scalar(None, pa.float64()))
    if decimals is None:
        return pc.cast(finite, pa.string())
    fixed = fmt is not None and fmt.fixed_decimals
    return _decimal_text(finite, decimals=decimals, fixed=fixed)


def _decimals(fmt: ColumnFormat) -> int | None:
    if fmt.decimals is not None:
        return fmt.decimals
    if fmt.dtype.lower().startswith(("int", "uint")):
        return 0
    if fmt.step is not None:
        return _step_digits(fmt.step)
    return None


def _step_digits(step: float) -> int | None:
    for digits in range(_MAX_STEP_DIGITS + 1):
        if abs(round(step, digits) - step) <= 1e-12 * max(1.0, abs(step)):
            return digits
    return None


def _decimal_text(values: pa.Array, *, decimals: int, fixed: bool) -> pa.Array:
    """Decimal text rounded (half to even) to ``decimals`` digits, padded when ``fixed``."""
    scale = 10**decimals
    scaled = pc.round(pc.multiply(values, float(scale)))
    largest = pc.max(pc.abs(scaled)).as_py()
    if largest is not None and largest >= _EXACT_SCALED:
        return _python_decimal_text(values, decimals=decimals, fixed=fixed)
    whole = pc.cast(scaled, pa.int64())
    magnitude = pc.abs(whole)
    text = pc.cast(pc.divide(magnitude, scale), pa.string())
    if decimals:
        fraction = pc.subtract(magnitude, pc.multiply(pc.divide(magnitude, scale), scale))
        digits = pc.utf8_lpad(pc.cast(fraction, pa.string()), width=decimals, padding="0")
        text = pc.binary_join_element_wise(text, digits, ".")
        if not fixed:
            text = pc.replace_substring_regex(text, r"\.?0+$", "")
    negative = pc.less(whole, 0)
    return pc.if_else(negative, pc.binary_join_element_wise("-", text, ""), text)


def _python_decimal_text(values: pa.Array, *, decimals: int, fixed: bool) -> pa.Array:
    out: list[str | None] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        text = f"{value:.{decimals}f}"
        if decimals and not fixed:
            text = text.rstrip("0").rstrip(".")
        out.append(text[1:] if text.startswith("-") and not text.strip("-0.") else text)
    return pa.array(out, pa.string())


def default_datetime_pattern(granularity_s: float | None, *, aware: bool) -> str:
    """The pattern of datetimes whose file gave none (a Parquet timestamp column): ISO 8601."""
    if granularity_s is not None and granularity_s >= 86_400:
        pattern = "%Y-%m-%d"
    elif granularity_s is not None and granularity_s >= 1:
        pattern = "%Y-%m-%d %H:%M:%S"
    else:
        pattern = "%Y-%m-%d %H:%M:%S.%f"
    return pattern + "%z" if aware else pattern


def _datetimes(values: pa.Array, fmt: ColumnFormat | None) -> pa.Array:
    if pa.types.is_date(values.type):
        values = pc.cast(values, pa.timestamp("s"))
    zone = _zone(fmt.dtype) if fmt is not None else None
    current = values.type.tz
    if fmt is not None and fmt.datetime_format is not None:
        pattern = fmt.datetime_format
    else:
        granularity = 1.0 if fmt is None else fmt.granularity_s
        pattern = default_datetime_pattern(granularity, aware=(zone or current) is not None)
    if pattern.endswith("Z") and not pattern.endswith("%Z"):
        zone = "UTC"  # a literal Z: the values are written in UTC
    if zone is not None and current is None:
        values = pc.assume_timezone(
            values, timezone=zone, ambiguous="earliest", nonexistent="earliest"
        )
    elif zone is not None and zone != current:
        values = pc.cast(values, pa.timestamp(values.type.unit, tz=zone))
    return strftime(values, pattern, colon=fmt is None or fmt.offset_colon)


def _zone(dtype: str) -> str | None:
    """The zone of a pandas dtype (``datetime64[us, UTC+02:00]`` → ``+02:00``), Arrow-spelled."""
    match = re.match(r"^datetime64\[\w+, (.+)\]$", dtype)
    if match is None:
        return None
    zone = match.group(1)
    return zone[3:] if re.match(r"^UTC[+-]\d{2}:\d{2}$", zone) else zone


def source_types_differ(schema: pa.Schema, formats: Mapping[str, ColumnFormat]) -> bool:
    """Whether a typed table with ``schema`` needs :func:`restore_source_types`."""
    for field in schema:
        fmt = formats.get(field.name)
        target = None if fmt is None else _source_type(fmt.source_type, field.type)
        if target is not None and target != field.type:
            return True
    return False


def restore_source_types(data: Data, formats: Mapping[str, ColumnFormat]) -> pa.Table:
    """``data`` with each column cast back to its source file's type, where that is known.

    Columns of text sources (``source_type == "text"``) keep their typed values; a cast that the
    values do not allow (a number out of the source type's range) keeps the typed column.
    """
    names = list(data.schema.names)
    columns = []
    for i, name in enumerate(names):
        column = data.column(i)
        fmt = formats.get(name)
        target = None if fmt is None else _source_type(fmt.source_type, column.type)
        if target is not None and target != column.type:
            column = _cast(column, target)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=names)


def _source_type(name: str, current: pa.DataType) -> pa.DataType | None:
    """The Arrow type a source column had (None: a text source, or a type left as typed)."""
    if (stamp := _TIMESTAMP.match(name)) is not None:
        tz = current.tz if pa.types.is_timestamp(current) else stamp.group(2)
        return pa.timestamp(stamp.group(1), tz=tz)
    if (decimal := _DECIMAL.match(name)) is not None:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    if name in _NAMED_TYPES:
        return _NAMED_TYPES[name]
    try:
        return pa.type_for_alias(name)
    except ValueError:
        return None  # dictionary, nested or exotic types: the typed column is kept


def _cast(column: pa.Array | pa.ChunkedArray, target: pa.DataType) -> pa.Array | pa.ChunkedArray:
    source = column.type
    try:
        if pa.types.is_floating(source) and pa.types.is_integer(target):
            return pc.cast(pc.round(column), target)
        if pa.types.is_timestamp(source) and pa.types.is_timestamp(target):
            return pc.cast(column, target, safe=False)
        return pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return column
