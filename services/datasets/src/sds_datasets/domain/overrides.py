"""The owner's column overrides (``DatasetUploaded.column_overrides``), over what was inferred.

The gateway checks an override's shape at the door (known kinds, a list of markers); the column
names can only be checked here, once the table is parsed. Declared missing-value markers replace
the default rule while the column is read (:func:`sds_datasets.domain.inference.infer_column`);
a declared kind is applied afterwards by :func:`force_kind`, which re-reads the written values
for that kind and refuses the table when they cannot be read so (a column of words declared
numeric), naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Final, NoReturn

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables import ColumnOverride
from sds_datasets.domain.errors import (
    BAD_OVERRIDE,
    TOO_MANY_CATEGORIES,
    UNKNOWN_COLUMN,
    DatasetError,
    DatasetWarning,
)
from sds_datasets.domain.inference import (
    InferredColumn,
    Kind,
    boolean_column,
    datetime_column,
    to_float,
)
from sds_datasets.domain.limits import Limits
from sds_datasets.domain.markers import (
    RULE_DECLARED,
    RULE_TEXT,
    RULE_TYPED,
    TEXT_NULL_TOKENS,
    TYPED_MARKERS,
    declared_markers,
    marker_counts,
    without_markers,
)

TEXT_KINDS: Final = frozenset({"categorical", "identifier", "text"})


def check_override_columns(names: Sequence[str], overrides: Mapping[str, ColumnOverride]) -> None:
    """Refuse overrides of columns the table does not have.

    Raises:
        DatasetError: ``unknown_column``, naming every unknown column and the table's columns.
    """
    unknown = sorted(set(overrides) - set(names))
    if not unknown:
        return
    listed = ", ".join(map(repr, unknown))
    columns = ", ".join(map(repr, list(names)[:20]))
    raise DatasetError(
        UNKNOWN_COLUMN,
        f"the upload declares column override(s) for {listed}, which the table does not have; "
        f"its columns are {columns}",
        column=unknown[0],
    )


def force_kind(
    column: InferredColumn, kind: Kind, *, limits: Limits, override: ColumnOverride
) -> InferredColumn:
    """``column`` read as the kind the owner declared.

    Raises:
        DatasetError: ``bad_override`` when the values cannot be read as ``kind``;
            ``too_many_categories`` for a declared category over the limit.
    """
    declared = (
        None if override.missing_markers is None else declared_markers(override.missing_markers)
    )
    if kind in TEXT_KINDS:
        forced = _as_text(column, kind, declared=declared)
        distinct = int(forced.values.nunique())
        if kind == "categorical" and distinct > limits.max_categories:
            raise DatasetError(
                TOO_MANY_CATEGORIES,
                f"column {column.name!r} is declared categorical but has {distinct:,} distinct "
                f"values (the limit is {limits.max_categories:,})",
                column=column.name,
            )
    elif kind == "numeric":
        forced = _as_numbers(column, declared=declared)
    else:
        forced = _reparsed(column, kind, declared=declared)
    reason = f"declared by the owner at upload (was {column.kind}: {column.reason})"
    return replace(forced, kind=kind, reason=reason)


def _as_text(
    column: InferredColumn, kind: Kind, *, declared: frozenset[str] | None
) -> InferredColumn:
    if column.kind in TEXT_KINDS:
        return column
    if kind == "identifier" and column.integer:
        return column  # integer keys stay integers (regenerated as a sequence)
    if column.written is None:
        values = column.values.astype(pd.StringDtype())
        return replace(column, values=values, integer=False, parse_format=None)
    markers = TEXT_NULL_TOKENS if declared is None else declared
    return replace(
        column,
        values=without_markers(column.written, markers),
        integer=False,
        parse_format=None,
        markers=marker_counts(column.written, markers),
        missing_rule=RULE_TEXT if declared is None else RULE_DECLARED,
    )


def _as_numbers(column: InferredColumn, *, declared: frozenset[str] | None) -> InferredColumn:
    values = column.values
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return column
    if column.written is None:
        _refuse(column, "numeric")
    markers = TYPED_MARKERS if declared is None else declared
    masked = without_markers(column.written, markers)
    numbers = to_float(masked)
    parsed = int(numbers.notna().sum())
    if parsed == 0:
        _refuse(column, "numeric")
    warnings = column.warnings
    lost = int(masked.notna().sum()) - parsed
    if lost:
        warnings += (
            DatasetWarning(
                "values_not_numeric",
                f"{lost} value(s) of column {column.name!r}, declared numeric, are not numbers "
                "and were treated as missing",
                column=column.name,
            ),
        )
    present = masked[numbers.notna()]
    integer = not bool(present.str.contains(r"[.eE]", regex=True).any())
    integer = integer and bool((numbers.dropna() % 1 == 0).all())
    return replace(
        column,
        values=numbers.astype(pd.Int64Dtype()) if integer else numbers,
        integer=integer,
        parse_format=None,
        markers=marker_counts(column.written, markers),
        missing_rule=RULE_TYPED if declared is None else RULE_DECLARED,
        warnings=warnings,
    )


def _reparsed(
    column: InferredColumn, kind: Kind, *, declared: frozenset[str] | None
) -> InferredColumn:
    if column.written is None:
        _refuse(column, kind)
    markers = TYPED_MARKERS if declared is None else declared
    masked = without_markers(column.written, markers)
    present = masked.dropna()
    parse = boolean_column if kind == "boolean" else datetime_column
    parsed = parse(masked, present, name=column.name) if not present.empty else None
    if parsed is None:
        _refuse(column, kind)
    return replace(
        parsed,
        written=column.written,
        markers=marker_counts(column.written, markers),
        missing_rule=RULE_TYPED if declared is None else RULE_DECLARED,
    )


def _refuse(column: InferredColumn, kind: str) -> NoReturn:
    raise DatasetError(
        BAD_OVERRIDE,
        f"column {column.name!r} is declared {kind}, but its values cannot be read as "
        f"{kind} values (it reads as {column.kind}: {column.reason})",
        column=column.name,
    )
