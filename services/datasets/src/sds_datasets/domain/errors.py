"""The one way a table is refused: a :class:`DatasetError` with a stable code and a plain message.

Codes are part of the public contract (they travel in ``DatasetRejected.code`` and clients may
branch on them), so they are listed here once rather than spelled ad hoc where errors are raised.
"""

from __future__ import annotations

from typing import Final

EMPTY_FILE: Final = "empty_file"
NO_ROWS: Final = "no_rows"
TOO_FEW_COLUMNS: Final = "too_few_columns"
TOO_MANY_COLUMNS: Final = "too_many_columns"
TOO_MANY_ROWS: Final = "too_many_rows"
TOO_MANY_CATEGORIES: Final = "too_many_categories"
BAD_ENCODING: Final = "bad_encoding"
BAD_FORMAT: Final = "bad_format"
BAD_HEADER: Final = "bad_header"
BAD_QUOTING: Final = "bad_quoting"
BAD_JSON: Final = "bad_json"
NESTED_VALUES: Final = "nested_values"
RAGGED_ROWS: Final = "ragged_rows"
UNKNOWN_TARGET: Final = "unknown_target"
EMPTY_TARGET: Final = "empty_target"
CHECKSUM_MISMATCH: Final = "checksum_mismatch"
UNKNOWN_COLUMN: Final = "unknown_column"
BAD_OVERRIDE: Final = "bad_override"


class DatasetError(Exception):
    """The uploaded table cannot be accepted.

    Attributes:
        code: a stable machine-readable reason (one of this module's constants).
        message: what is wrong and where, in plain words, for the data owner.
        row: the 1-based line (text formats) or row number the problem was found at, if any.
        column: the column concerned, if any.
    """

    def __init__(
        self, code: str, message: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row
        self.column = column

    def __repr__(self) -> str:
        return (
            f"DatasetError({self.code!r}, {self.message!r}, row={self.row}, column={self.column!r})"
        )


class DatasetWarning:
    """Something the data owner should know about an accepted table (recorded in the profile)."""

    __slots__ = ("code", "column", "message")

    def __init__(self, code: str, message: str, *, column: str | None = None) -> None:
        self.code = code
        self.message = message
        self.column = column

    def as_json(self) -> dict[str, str | None]:
        """The warning as it appears in ``profile.json``."""
        return {"code": self.code, "message": self.message, "column": self.column}
