"""Column kinds: what each column holds, decided from its values, and the typed values themselves.

Heuristics, in the order they are tried (the first that fits wins):

1. **missing**: surrounding blanks are stripped and the markers ``"" NA N/A null NULL None NaN ?
   -`` (and a few case variants) count as missing. A column with no value left is dropped by the
   caller, with a warning.
2. **boolean**: every value is one side of a single pair: true/false, yes/no, t/f, y/n, 0/1
   (case-insensitive), or a numeric column holding only 0 and 1.
3. **numeric**: at least 99% of the values parse as finite numbers (the rest become missing, with
   a warning). Values with a leading zero (``007``, ``02134``) are codes, not numbers, so such a
   column stays a string column. A column of whole numbers is flagged integer. Numeric codes with
   few distinct values (education-num 1..16) stay numeric integers: their order means something.
   An integer column whose values are all distinct and whose name says id (``id``, ``user_id``,
   ``key``, ``uuid``) is an **identifier**.
4. **datetime**: one format (ISO 8601 or a common day/month/year one) parses at least 95% of
   the values; ties go to the format listed first.
5. **identifier** when 95% of the values look like UUIDs.
6. **categorical** when the distinct count is at most max(20, 5% of the non-missing values).
7. **identifier** when values are nearly unique (≥ 95% distinct), short (median ≤ 64 characters)
   and not prose (fewer than 4 words on average): names, emails, order numbers.
8. **text** when values are long (30+ characters on average) or prose (4+ words on average).
9. **categorical** when the distinct count is within the configured category limit.
10. otherwise the column is refused: ``too_many_categories`` names it and its cardinality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
import pyarrow.compute as pc

from sds_datasets.domain.errors import TOO_MANY_CATEGORIES, DatasetError, DatasetWarning
from sds_datasets.domain.limits import Limits

Kind = Literal["numeric", "categorical", "boolean", "datetime", "identifier", "text"]

MISSING_MARKERS: Final = frozenset(
    {"", "NA", "N/A", "n/a", "na", "null", "NULL", "Null", "None", "none", "NaN", "nan", "?", "-"}
)
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
UNIQUE_SHARE: Final = 0.95
SMALL_CARDINALITY: Final = 20
SMALL_CARDINALITY_SHARE: Final = 0.05
_SAMPLE: Final = 1_000
_UUID: Final = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
_ID_NAME: Final = re.compile(r"(^|[^a-z])(id|uuid|guid|key)$|^id([^a-z]|$)|[a-z]Id$", re.I)
_DATE_LIKE: Final = r"\d.*[-/.: ]|[A-Za-z]{3}.*\d"


@dataclass(frozen=True)
class InferredColumn:
    """One column's kind and its values converted to the matching pandas dtype."""

    name: str
    kind: Kind
    values: pd.Series
    integer: bool = False
    datetime_format: str | None = None
    warnings: tuple[DatasetWarning, ...] = field(default=())


def sample_values(present: pd.Series, size: int = _SAMPLE) -> pd.Series:
    """A deterministic sample of at most ``size`` values (without building a full permutation)."""
    if len(present) <= size:
        return present
    positions = np.random.default_rng(0).choice(len(present), size=size, replace=False)
    return present.iloc[np.sort(positions)]


def normalise_text(series: pd.Series) -> pd.Series:
    """Strip blanks and turn the missing-value markers into real missing values."""
    text = series.astype(pd.StringDtype()).str.strip()
    return text.mask(text.isin(MISSING_MARKERS))


def infer_column(series: pd.Series, *, name: str, limits: Limits) -> InferredColumn | None:
    """Decide the kind of one column; None when it holds no value at all.

    Raises:
        DatasetError: ``too_many_categories`` (heuristic 10 of the module docstring).
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype(pd.BooleanDtype())
        return None if values.isna().all() else InferredColumn(name, "boolean", values)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return None if series.isna().all() else InferredColumn(name, "datetime", series)
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        numbers = numbers.where(np.isfinite(numbers))
        return None if numbers.isna().all() else _numeric(numbers, name=name, warnings=())
    text = normalise_text(series)
    present = text.dropna()
    if present.empty:
        return None
    return (
        _boolean(text, present, name=name)
        or _numeric_text(text, present, name=name)
        or _datetime(text, present, name=name)
        or _strings(text, present, name=name, limits=limits)
    )


def _boolean(text: pd.Series, present: pd.Series, *, name: str) -> InferredColumn | None:
    lowered = present.str.lower()
    seen = set(lowered.unique()[:3].tolist())
    for true, false in BOOLEAN_PAIRS:
        if seen <= {true, false}:
            values = text.str.lower().map({true: True, false: False}).astype(pd.BooleanDtype())
            return InferredColumn(name, "boolean", values)
    return None


def _numeric_text(text: pd.Series, present: pd.Series, *, name: str) -> InferredColumn | None:
    if present.str.match(r"^[+-]?0\d").any():
        return None
    # Coercing words is slow (one failed parse each): a sample rules most string columns out.
    if pd.to_numeric(sample_values(present), errors="coerce").notna().mean() < 0.9:
        return None
    numbers = _to_float(text)
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
    return _numeric(numbers, name=name, warnings=warnings)


def _to_float(text: pd.Series) -> pd.Series:
    # Arrow's cast is an order of magnitude faster than pandas' parser but all-or-nothing; the
    # pandas parser is the fallback that turns the odd non-number into a missing value.
    try:
        cast = pc.cast(pa.array(text), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").astype("float64")
    return pd.Series(cast.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


def _numeric(
    numbers: pd.Series, *, name: str, warnings: tuple[DatasetWarning, ...]
) -> InferredColumn:
    present = numbers.dropna()
    if set(present.unique().tolist()) <= {0.0, 1.0} and present.nunique() == 2:
        return InferredColumn(
            name, "boolean", numbers.map({1.0: True, 0.0: False}).astype("boolean")
        )
    integer = bool((present == np.floor(present)).all() and present.abs().max() < 2**53)
    values = numbers.astype(pd.Int64Dtype()) if integer else numbers
    if integer and _ID_NAME.search(name) and present.is_unique and len(present) == len(numbers):
        return InferredColumn(name, "identifier", values, integer=True, warnings=warnings)
    return InferredColumn(name, "numeric", values, integer=integer, warnings=warnings)


def _datetime(text: pd.Series, present: pd.Series, *, name: str) -> InferredColumn | None:
    sample = sample_values(present)
    if sample.str.contains(_DATE_LIKE).mean() < DATETIME_PARSE_RATE:
        return None
    best, best_rate = None, 0.0
    for fmt in DATETIME_FORMATS:
        rate = float(_to_datetime(sample, fmt).notna().mean())
        if rate > best_rate:
            best, best_rate = fmt, rate
    if best is None or best_rate < DATETIME_PARSE_RATE:
        return None
    values = _to_datetime(text, best)
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
    return InferredColumn(name, "datetime", values, datetime_format=best, warnings=warnings)


def _to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    try:
        return pd.to_datetime(values, format=fmt, errors="coerce")
    except ValueError:  # mixed UTC offsets: bring them to one zone
        return pd.to_datetime(values, format=fmt, errors="coerce", utc=True)


def _strings(text: pd.Series, present: pd.Series, *, name: str, limits: Limits) -> InferredColumn:
    distinct = int(present.nunique())
    sample = sample_values(present)
    if sample.str.match(_UUID).mean() >= UNIQUE_SHARE:
        return InferredColumn(name, "identifier", text)
    if distinct <= max(SMALL_CARDINALITY, SMALL_CARDINALITY_SHARE * len(present)):
        return InferredColumn(name, "categorical", text)
    lengths = sample.str.len()
    words = float((sample.str.count(r"\s+") + 1).mean())
    if distinct >= UNIQUE_SHARE * len(present) and lengths.median() <= 64 and words < 4:
        return InferredColumn(name, "identifier", text)
    if lengths.mean() >= 30 or words >= 4:
        return InferredColumn(name, "text", text)
    if distinct <= limits.max_categories:
        return InferredColumn(name, "categorical", text)
    raise DatasetError(
        TOO_MANY_CATEGORIES,
        f"column {name!r} has {distinct:,} distinct values: too many for a categorical column "
        f"(the limit is {limits.max_categories:,}), too repetitive for an identifier (only "
        f"{distinct / len(present):.0%} distinct) and too short for free text; drop it, or "
        "group rare values together",
        column=name,
    )
