"""Column kinds: what each column holds, decided from its values, and the typed values themselves.

Heuristics, in the order they are tried (the first that fits wins):

1. **missing**: surrounding blanks are stripped; which texts then mean "missing" depends on the
   column (:mod:`sds_datasets.domain.markers`): in a column that turns out to hold numbers, dates
   or booleans every conventional marker (``NA``, ``null``, ``None``, ``?``, ``-``...); in a text
   column only the empty field and machine null tokens, so ``none`` there is a category. A column
   with no value left is dropped by the caller, with a warning.
2. **boolean**: every value is one side of a single pair: true/false, yes/no, t/f, y/n, 0/1
   (case-insensitive), or a numeric column holding only 0 and 1.
3. **numeric**: at least 99% of the values parse as finite numbers (the rest become missing, with
   a warning). Values with a leading zero (``007``, ``02134``) are codes, not numbers, so such a
   column stays a string column, as does one of whole numbers too long for a float to hold
   exactly (card or account numbers). A column of whole numbers written without a decimal point
   (or an integer Parquet column) is integer; ``3.0`` is a float. Numeric codes with few distinct
   values (education-num 1..16) stay numeric integers: their order means something. Integer
   columns may be **identifiers** (row keys) by the rules of :mod:`sds_datasets.domain.keys`.
4. **datetime**: one format (ISO 8601 or a common day/month/year one) parses at least 95% of
   the values; ties go to the format listed first.
5. text columns are **identifiers**, **categorical** or **text** by the rules of
   :mod:`sds_datasets.domain.keys`, or refused (``too_many_categories``).

The owner's override (``ColumnOverride``) replaces the missing-value rule here and forces the
kind afterwards (:mod:`sds_datasets.domain.overrides`). Every column records why it got its kind
(``reason``) and, once the kind is final, its format (:func:`with_format`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Final, Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
import pyarrow.compute as pc

from sds_common.tables import ColumnFormat
from sds_datasets.domain.errors import DatasetWarning
from sds_datasets.domain.formats import detect_format
from sds_datasets.domain.keys import all_distinct_floats, integer_key_reason, text_kind
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

Kind = Literal["numeric", "categorical", "boolean", "datetime", "identifier", "text"]

BOOLEAN_PAIRS: Final = (
    ("true", "false"),
    ("yes", "no"),
    ("t", "f"),
    ("y", "n"),
    ("1", "0"),
)
DATETIME_FORMATS: Final = (
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
NUMERIC_PARSE_RATE: Final = 0.99
DATETIME_PARSE_RATE: Final = 0.95
_SAMPLE: Final = 1_000
_EXACT_INTEGERS: Final = 2**53
_DATE_LIKE: Final = r"\d.*[-/.: ]|[A-Za-z]{3}.*\d"


@dataclass(frozen=True)
class InferredColumn:
    """One column's kind, its values converted to the matching pandas dtype, and its format.

    Attributes:
        reason: why the column got its kind, in words (the profile's ``kind_reason``).
        markers: the texts read as missing and how often, most frequent first.
        missing_rule: which rule chose them (``typed``, ``text`` or ``declared``).
        parse_format: the datetime pattern the values were parsed with.
        written: the texts of a text source, blanks stripped (until the format is detected).
        format: how the values were written; set once the kind is final (:func:`with_format`).
    """

    name: str
    kind: Kind
    values: pd.Series
    integer: bool = False
    parse_format: str | None = None
    warnings: tuple[DatasetWarning, ...] = field(default=())
    reason: str = ""
    markers: tuple[tuple[str, int], ...] = ()
    missing_rule: str = RULE_TYPED
    written: pd.Series | None = None
    format: ColumnFormat | None = None


def sample_values(present: pd.Series, size: int = _SAMPLE) -> pd.Series:
    """A deterministic sample of at most ``size`` values (without building a full permutation)."""
    if len(present) <= size:
        return present
    positions = np.random.default_rng(0).choice(len(present), size=size, replace=False)
    return present.iloc[np.sort(positions)]


def infer_column(
    series: pd.Series,
    *,
    name: str,
    limits: Limits,
    missing_markers: Collection[str] | None = None,
) -> InferredColumn | None:
    """Decide the kind of one column; None when it holds no value at all.

    Args:
        series: the column as read (strings for text formats, typed for Parquet).
        name: the column's name.
        limits: the category limit.
        missing_markers: the owner's markers for this column, replacing the default rule.

    Raises:
        DatasetError: ``too_many_categories``.
    """
    if _typed_source(series):
        return _typed(series, name=name)
    declared = None if missing_markers is None else declared_markers(missing_markers)
    text = series.astype(pd.StringDtype()).str.strip()
    column = _from_text(text, name=name, limits=limits, declared=declared)
    return None if column is None else replace(column, written=text)


def with_format(column: InferredColumn, *, source_type: str) -> InferredColumn:
    """``column`` with its format detected, and without the written texts it no longer needs."""
    found = detect_format(
        column.values,
        kind=column.kind,
        written=column.written,
        source_type=source_type,
        markers=tuple(marker for marker, _ in column.markers),
        parse_format=column.parse_format,
    )
    return replace(column, format=found, written=None)


def _typed_source(series: pd.Series) -> bool:
    dtype = series.dtype
    return bool(
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_numeric_dtype(dtype)
    )


def _typed(series: pd.Series, *, name: str) -> InferredColumn | None:
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype(pd.BooleanDtype())
        if values.isna().all():
            return None
        return InferredColumn(name, "boolean", values, reason="a boolean column of the file")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if series.isna().all():
            return None
        return InferredColumn(name, "datetime", series, reason="a date/time column of the file")
    numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    numbers = numbers.where(np.isfinite(numbers))
    if numbers.isna().all():
        return None
    integer = pd.api.types.is_integer_dtype(series.dtype)
    return _numeric(numbers, name=name, integer=integer, warnings=())


def _from_text(
    text: pd.Series, *, name: str, limits: Limits, declared: frozenset[str] | None
) -> InferredColumn | None:
    markers = TYPED_MARKERS if declared is None else declared
    rule = RULE_TYPED if declared is None else RULE_DECLARED
    masked = without_markers(text, markers)
    present = masked.dropna()
    if not present.empty:
        typed = (
            boolean_column(masked, present, name=name)
            or _numeric_text(masked, present, name=name)
            or datetime_column(masked, present, name=name)
        )
        if typed is not None:
            return replace(typed, markers=marker_counts(text, markers), missing_rule=rule)
    markers = TEXT_NULL_TOKENS if declared is None else declared
    rule = RULE_TEXT if declared is None else RULE_DECLARED
    masked = without_markers(text, markers)
    present = masked.dropna()
    if present.empty:
        return None
    kind, reason = text_kind(present, sample_values(present), name=name, limits=limits)
    return InferredColumn(
        name,
        kind,
        masked,
        reason=reason,
        markers=marker_counts(text, markers),
        missing_rule=rule,
    )


def boolean_column(text: pd.Series, present: pd.Series, *, name: str) -> InferredColumn | None:
    """``text`` as booleans when every present value is one side of one pair (heuristic 2)."""
    lowered = present.str.lower()
    seen = set(lowered.unique()[:3].tolist())
    for true, false in BOOLEAN_PAIRS:
        if seen <= {true, false}:
            values = text.str.lower().map({true: True, false: False}).astype(pd.BooleanDtype())
            reason = f"every value is {true!r} or {false!r} (any case): a boolean"
            return InferredColumn(name, "boolean", values, reason=reason)
    return None


def _numeric_text(text: pd.Series, present: pd.Series, *, name: str) -> InferredColumn | None:
    if present.str.match(r"^[+-]?0\d").any():
        return None
    # Coercing words is slow (one failed parse each): a sample rules most string columns out.
    if pd.to_numeric(sample_values(present), errors="coerce").notna().mean() < 0.9:
        return None
    numbers = to_float(text)
    numbers = numbers.where(np.isfinite(numbers))
    parsed = int(numbers.notna().sum())
    if parsed < NUMERIC_PARSE_RATE * len(present):
        return None
    warnings: tuple[DatasetWarning, ...] = ()
    if parsed < len(present):
        lost = text.notna() & numbers.isna()
        first = int(np.flatnonzero(lost.to_numpy())[0]) + 1
        warnings = (
            DatasetWarning(
                "values_not_numeric",
                f"{len(present) - parsed} value(s) of column {name!r} are not numbers and were "
                f"treated as missing (the first in data row {first})",
                column=name,
            ),
        )
    # Whole numbers written with a point or an exponent (3.0, 1e3) are floats, as written.
    written_as_float = bool(present.str.contains(r"[.eE]", regex=True).any())
    if not written_as_float and numbers.abs().max() >= _EXACT_INTEGERS:
        return None  # digits beyond a float's precision (card or account numbers): text
    return _numeric(numbers, name=name, integer=not written_as_float, warnings=warnings)


def to_float(text: pd.Series) -> pd.Series:
    """``text`` as floats; what is not a number becomes missing."""
    # Arrow's cast is an order of magnitude faster than pandas' parser but all-or-nothing; the
    # pandas parser is the fallback that turns the odd non-number into a missing value.
    try:
        cast = pc.cast(pa.array(text), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").astype("float64")
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


def _numeric(
    numbers: pd.Series, *, name: str, integer: bool, warnings: tuple[DatasetWarning, ...]
) -> InferredColumn:
    present = numbers.dropna()
    if set(present.unique().tolist()) <= {0.0, 1.0} and present.nunique() == 2:
        values = numbers.map({1.0: True, 0.0: False}).astype("boolean")
        reason = "every value is 0 or 1: a boolean"
        return InferredColumn(name, "boolean", values, reason=reason, warnings=warnings)
    integer = bool(integer and (present == np.floor(present)).all() and present.abs().max() < 2**53)
    values = numbers.astype(pd.Int64Dtype()) if integer else numbers
    if integer:
        key = integer_key_reason(present, name=name)
        if key is not None:
            return InferredColumn(
                name, "identifier", values, integer=True, reason=key, warnings=warnings
            )
        reason = "whole numbers: an integer column"
    elif all_distinct_floats(present):
        reason = "numbers with fractions, all distinct: a measurement, not a key"
    else:
        reason = "numbers with fractions: a float column"
    return InferredColumn(
        name, "numeric", values, integer=integer, reason=reason, warnings=warnings
    )


def datetime_column(text: pd.Series, present: pd.Series, *, name: str) -> InferredColumn | None:
    """``text`` as datetimes when one known format parses it (heuristic 4)."""
    sample = sample_values(present)
    if sample.str.contains(_DATE_LIKE).mean() < DATETIME_PARSE_RATE:
        return None
    best, best_rate = None, 0.0
    for fmt in DATETIME_FORMATS:
        rate = float(_parse_dates(sample, fmt).notna().mean())
        if rate > best_rate:
            best, best_rate = fmt, rate
    if best is None or best_rate < DATETIME_PARSE_RATE:
        return None
    values = _parse_dates(text, best)
    if values.notna().sum() < DATETIME_PARSE_RATE * len(present):
        return None
    warnings: tuple[DatasetWarning, ...] = ()
    lost = int(len(present) - values.notna().sum())
    if lost:
        warnings = (
            DatasetWarning(
                "values_not_dates",
                f"{lost} value(s) of column {name!r} do not match its date format {best} and "
                "were treated as missing",
                column=name,
            ),
        )
    reason = f"{best_rate:.0%} of the values are dates written as {best}"
    return InferredColumn(
        name, "datetime", values, parse_format=best, warnings=warnings, reason=reason
    )


def _parse_dates(values: pd.Series, fmt: str) -> pd.Series:
    try:
        return pd.to_datetime(values, format=fmt, errors="coerce")
    except ValueError:  # mixed UTC offsets: bring them to one zone
        return pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
