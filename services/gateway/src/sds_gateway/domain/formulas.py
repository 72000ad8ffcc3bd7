"""CSV cells a spreadsheet would execute, made inert (formula or CSV injection, OWASP's rule).

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)`` opens a link, ``=cmd|...`` once ran programs), and some first drop
leading blanks, tabs and carriage returns, so ``"\\t=1+1"`` is live too. A synthetic table copies
whatever strings the original held, so a download meant for a spreadsheet prefixes every such
cell, header cells included, with ``'``: the spreadsheet then shows the text as it is.

A cell that is a plain decimal number (``-5``, ``+3.25``, ``-1e5``) is data, not a formula, and
is left alone, as are numeric columns (written as numbers). The step is idempotent (a prefixed
cell starts with ``'``) and applies per batch of rows, so it composes with other per-batch steps
of an export.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pyarrow as pa

PREFIX: Final = "'"
#: Executable: a tab or carriage return first, or = + - @ after optional leading whitespace.
_EXECUTABLE: Final = r"^(?:[\t\r]|[\t\n\v\f\r ]*[=+\-@])"
#: A plain number: what a spreadsheet reads as a value, never as a formula.
_NUMBER: Final = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_EXECUTABLE_RE: Final = re.compile(_EXECUTABLE)
_NUMBER_RE: Final = re.compile(_NUMBER)


def neutralise_text(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would execute it, else unchanged."""
    if _EXECUTABLE_RE.match(value) is None or _NUMBER_RE.match(value) is not None:
        return value
    return PREFIX + value


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """``table`` with every executable string cell and column name prefixed by ``'``.

    Args:
        table: one batch of an export (any schema; string, large string and dictionary-encoded
            string columns are rewritten, every other column is kept as it is).

    Returns:
        A table of the same schema (column names aside) and rows.
    """
    import pyarrow as pa  # noqa: PLC0415 — heavy; only downloads need it

    columns = [_neutralised(column, pa) for column in table.columns]
    names = [neutralise_text(name) for name in table.column_names]
    return pa.Table.from_arrays(columns, names=names, metadata=table.schema.metadata)


def _neutralised(column: pa.ChunkedArray, pa: Any) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind) and _is_text(kind.value_type, pa):
        chunks = [
            pa.DictionaryArray.from_arrays(chunk.indices, _strings(chunk.dictionary, pa))
            for chunk in column.chunks
        ]
        return pa.chunked_array(chunks, type=kind)
    if _is_text(kind, pa):
        return pa.chunked_array([_strings(chunk, pa) for chunk in column.chunks], type=kind)
    return column


def _is_text(kind: pa.DataType, pa: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _strings(values: pa.Array, pa: Any) -> pa.Array:
    import pyarrow.compute as pc  # noqa: PLC0415

    executable = pc.and_(
        pc.match_substring_regex(values, _EXECUTABLE),
        pc.invert(pc.match_substring_regex(values, _NUMBER)),
    )
    if not pc.any(executable).as_py():
        return values
    prefixed = pc.binary_join_element_wise(
        pa.scalar(PREFIX, values.type), values, pa.scalar("", values.type)
    )
    return pc.if_else(executable, prefixed, values)
