"""Per-value and per-row byte limits, shared by every text format.

Sizes are UTF-8 bytes. A Python ``str`` knows its length in characters only, and each character
is 1 to 4 bytes, so the exact (encoding) count runs only when the character count says the limit
may be crossed: the common case costs one ``len``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sds_datasets.domain.errors import CELL_TOO_LARGE, ROW_TOO_LARGE, DatasetError
from sds_datasets.domain.limits import Limits, limit_text

_MAX_UTF8 = 4


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def check_cell(
    text: str, *, limits: Limits, row: int, column: str | None, what: str = "value"
) -> None:
    """Refuse one value (or key, or header name) over ``max_cell_bytes``.

    Raises:
        DatasetError: ``cell_too_large``.
    """
    if len(text) * _MAX_UTF8 <= limits.max_cell_bytes:
        return
    size = utf8_size(text)
    if size > limits.max_cell_bytes:
        raise cell_error(size=size, limits=limits, row=row, column=column, what=what)


def cell_error(
    *,
    size: int | None,
    limits: Limits,
    row: int,
    column: str | None,
    what: str = "value",
    place: str = "line",
) -> DatasetError:
    """The refusal of a value over ``max_cell_bytes`` (``size`` None: not measured whole).

    ``place`` says what ``row`` counts: a file's ``line`` or a table's ``row``.
    """
    where = f"{place} {row}" + (f", column {column!r}," if column is not None else "")
    held = f"{size:,} bytes" if size is not None else "more bytes"
    return DatasetError(
        CELL_TOO_LARGE,
        f"{where} holds a {what} of {held}; a {what} may hold at most "
        f"{limit_text(limits, 'max_cell_bytes')}",
        row=row,
        column=column,
    )


def check_row_size(text: str, *, limits: Limits, row: int, what: str = "row") -> None:
    """Refuse a whole row (a line, a record) over ``max_row_bytes``.

    Raises:
        DatasetError: ``row_too_large``.
    """
    if len(text) * _MAX_UTF8 <= limits.max_row_bytes:
        return
    size = utf8_size(text)
    if size > limits.max_row_bytes:
        raise row_error(size=size, limits=limits, row=row, what=what)


def row_error(*, size: int, limits: Limits, row: int, what: str = "row") -> DatasetError:
    """The refusal of a row over ``max_row_bytes`` (``size``: what was read of it)."""
    return DatasetError(
        ROW_TOO_LARGE,
        f"{what} {row} holds {size:,} bytes or more; a row may hold at most "
        f"{limit_text(limits, 'max_row_bytes')}",
        row=row,
    )


def check_fields(fields: Sequence[str], *, names: Sequence[str], limits: Limits, row: int) -> None:
    """Refuse a delimited row whose values, or whose total, are over the limits.

    Raises:
        DatasetError: ``cell_too_large`` (naming the column) or ``row_too_large``.
    """
    chars = sum(map(len, fields))
    if chars * _MAX_UTF8 <= min(limits.max_cell_bytes, limits.max_row_bytes):
        return
    total = 0
    for i, text in enumerate(fields):
        size = utf8_size(text)
        if size > limits.max_cell_bytes:
            column = names[i] if i < len(names) else None
            raise cell_error(size=size, limits=limits, row=row, column=column)
        total += size
    if total > limits.max_row_bytes:
        raise row_error(size=total, limits=limits, row=row, what="line")
