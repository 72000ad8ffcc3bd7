"""The validity report's value types (see :mod:`sds_evaluator.domain.validity`).

Plain frozen dataclasses of floats, strings and tuples: JSON-ready through ``to_dict`` and usable
as fields of the evaluator's pydantic report, with no import of the evaluator's other modules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ValidityFlag:
    """One failed check of one column, in plain words.

    Attributes:
        column: the column's name.
        check: one of ``validity.CHECKS`` (stable, for machines and the llm service).
        reason: what is wrong, for a data owner (shares only, never a data value).
    """

    column: str
    check: str
    reason: str


@dataclass(frozen=True)
class ColumnValidity:
    """Every validity number of one column (None: the check does not apply to its kind).

    Attributes:
        name: the column.
        kind: its kind (numeric, categorical, boolean, datetime, identifier, text).
        score: share of cells passing the worst scored check; None when not checked (an
            identifier or text column the generator does not produce).
        missing_real: share of real rows missing this column.
        missing_synthetic: share of synthetic rows missing it.
        missing_difference: ``missing_synthetic - missing_real``.
        in_range: share of present synthetic values inside the real [min, max].
        coverage: share of the real categories present in the synthetic column.
        coverage_rows: share of the real rows whose category is present in the synthetic column.
        unknown_categories: share of present synthetic cells that are not real categories.
        representation: share of present values written as the real ones (format rules).
        dtype_real: the real column's dtype family (from its format when known).
        dtype_synthetic: the synthetic column's dtype family; None when the column is absent.
        unique: identifiers: share of distinct values among the present ones.
        id_shape: identifiers: share shaped like the real ids.
        flags: the failed checks.
    """

    name: str
    kind: str
    score: float | None
    missing_real: float
    missing_synthetic: float | None
    missing_difference: float | None
    in_range: float | None = None
    coverage: float | None = None
    coverage_rows: float | None = None
    unknown_categories: float | None = None
    representation: float | None = None
    dtype_real: str = ""
    dtype_synthetic: str | None = None
    unique: float | None = None
    id_shape: float | None = None
    flags: tuple[ValidityFlag, ...] = field(default_factory=tuple)

    @property
    def flagged(self) -> bool:
        """Whether any check of this column failed."""
        return bool(self.flags)


@dataclass(frozen=True)
class ValidityReport:
    """The validity of a synthetic table, column by column, with a headline.

    Attributes:
        score: the worst column's score, in [0, 1]; None when no column could be checked.
        columns: one entry per column of ``kinds`` that the real table holds.
        flags: every failed check, in column order.
    """

    score: float | None
    columns: tuple[ColumnValidity, ...]
    flags: tuple[ValidityFlag, ...]

    @property
    def flagged_columns(self) -> tuple[str, ...]:
        """Names of the columns with at least one failed check, in column order."""
        return tuple(c.name for c in self.columns if c.flagged)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (floats, strings, lists)."""
        data = dataclasses.asdict(self)
        data["flagged_columns"] = list(self.flagged_columns)
        return data
