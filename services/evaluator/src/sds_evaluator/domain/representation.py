"""Representation checks: is each synthetic value written the way the real column writes them?

A column's ``ColumnFormat`` (``sds_common.tables.formats``) records what the typed table alone
loses: decimals, the step grid, the datetime granularity, boolean tokens. Every check here returns
the share of present synthetic values that pass, so a report can say how many cells are broken,
not only that something is.

Without a format (datasets profiled before formats existed) only the dtype family is compared,
plus whole numbers for an integer column, since that much the typed table itself says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables.formats import ColumnFormat

#: Relative and absolute tolerance of "on the grid": binary floats cannot hold 0.1 exactly.
_RTOL = 1e-9
_ATOL = 1e-6
#: Real identifiers profiled for their shape (a sample is enough to learn lengths and prefix).
_ID_PROFILE_ROWS = 20_000
_MAX_PREFIX = 16


_SIMPLE_FAMILIES: Final = (
    ("boolean", pd.api.types.is_bool_dtype),
    ("integer", pd.api.types.is_integer_dtype),
    ("float", pd.api.types.is_float_dtype),
)


def dtype_family(series: pd.Series) -> str:
    """The dtype as the written file sees it: integer, float, boolean, string, datetime[zone].

    ``Int64`` and ``int64`` write the same text, as do ``string``, ``str`` and an object column of
    strings; the datetime unit does not show in a file, its time zone does.
    """
    dtype = series.dtype
    family = next((name for name, test in _SIMPLE_FAMILIES if test(dtype)), None)
    if family is None and isinstance(dtype, pd.DatetimeTZDtype):
        family = f"datetime[{dtype.tz}]"
    elif family is None and pd.api.types.is_datetime64_dtype(dtype):
        family = "datetime"
    elif family is None and (
        pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)
    ):
        strings = not pd.api.types.is_object_dtype(dtype) or all(
            isinstance(v, str) for v in series.dropna()
        )
        family = "string" if strings else "object"
    return family or str(dtype)


def format_family(fmt: ColumnFormat) -> str:
    """The dtype family (see :func:`dtype_family`) of a format's recorded pandas dtype."""
    try:
        empty = pd.Series([], dtype=fmt.dtype)
    except (TypeError, ValueError):
        return fmt.dtype
    return dtype_family(empty)


def _on_grid(values: np.ndarray, step: float) -> np.ndarray:
    scaled = values / step
    return np.isclose(scaled, np.round(scaled), rtol=_RTOL, atol=_ATOL)


def _share(passed: np.ndarray) -> float:
    return float(passed.mean()) if passed.size else 1.0


def _numbers(series: pd.Series) -> np.ndarray:
    values = pd.to_numeric(series.dropna(), errors="coerce")
    return np.asarray(values, dtype=np.float64)


def numeric_representation(
    series: pd.Series, *, fmt: ColumnFormat | None, integer: bool
) -> tuple[float, list[str]]:
    """Share of present numeric values written as the real ones, and what failed.

    Args:
        series: the synthetic column.
        fmt: the real column's format, or None (then only integer-ness is checked).
        integer: the real column holds integers (its dtype or format says so).

    Returns:
        The share of present values that are numbers on every applicable grid, and a plain
        phrase per failing rule.
    """
    values = _numbers(series)
    finite = np.isfinite(values)
    rules: list[tuple[str, np.ndarray]] = [("are not numbers", finite)]
    safe = np.where(finite, values, 0.0)
    if integer:
        rules.append(("are not whole numbers", _on_grid(safe, 1.0)))
    if fmt is not None and fmt.decimals is not None:
        rules.append(
            (f"have more than {fmt.decimals} decimals", _on_grid(safe, 10.0**-fmt.decimals))
        )
    if fmt is not None and fmt.step is not None:
        rules.append((f"are off the step grid of {fmt.step:g}", _on_grid(safe, fmt.step)))
    return _combine(rules)


def _combine(rules: Sequence[tuple[str, np.ndarray]]) -> tuple[float, list[str]]:
    passed = np.logical_and.reduce([ok for _, ok in rules]) if rules else np.ones(0, dtype=bool)
    failures = [f"{1 - _share(ok):.1%} of values {what}" for what, ok in rules if not ok.all()]
    return _share(passed), failures


def datetime_representation(
    series: pd.Series, *, fmt: ColumnFormat | None
) -> tuple[float, list[str]]:
    """Share of present values that are datetimes on the real column's granularity."""
    present = series.dropna()
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        stamps = present
    else:
        stamps = pd.to_datetime(present, errors="coerce", format="mixed")
    parsed = np.asarray(stamps.notna(), dtype=bool)
    rules: list[tuple[str, np.ndarray]] = [("are not datetimes", parsed)]
    if fmt is not None and fmt.granularity_s is not None:
        # The wall-clock time is what the file shows: a date-only column in a zone sits on
        # local midnights, not on UTC ones.
        wall = stamps.dt.tz_localize(None) if getattr(stamps.dt, "tz", None) else stamps
        seconds = (wall - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
        seconds = np.asarray(seconds.fillna(0.0), dtype=np.float64)
        rules.append(
            (
                f"are off the {_duration(fmt.granularity_s)} granularity",
                _on_grid(seconds, fmt.granularity_s),
            )
        )
    return _combine(rules)


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86_400.0), ("hour", 3_600.0), ("minute", 60.0), ("second", 1.0)):
        if seconds % size == 0:
            count = seconds / size
            return f"{count:g}-{unit}" if count != 1 else f"whole-{unit}"
    return f"{seconds:g}-second"


def boolean_representation(series: pd.Series) -> tuple[float, list[str]]:
    """Share of present values that are still booleans (not "True" strings, not 0.7)."""
    present = series.dropna().to_numpy(dtype=object)
    ok = np.fromiter(
        (isinstance(v, bool | np.bool_) for v in present), dtype=bool, count=len(present)
    )
    return _combine([("are not booleans", ok)])


_CLASSES = (
    ("digits", re.compile(r"\d")),
    ("lower", re.compile(r"[a-z]")),
    ("upper", re.compile(r"[A-Z]")),
)
_OTHER = re.compile(r"[^0-9a-zA-Z]")


def _classes(text: str) -> frozenset[str]:
    found = {name for name, pattern in _CLASSES if pattern.search(text)}
    if _OTHER.search(text):
        found.add("other")
    return frozenset(found)


def _id_text(series: pd.Series) -> list[str]:
    values = series.dropna().to_numpy(dtype=object)
    return [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values]


@dataclass(frozen=True)
class IdShape:
    """What the real identifiers look like: lengths, character classes and a shared prefix."""

    min_length: int
    max_length: int
    classes: frozenset[str]
    prefix: str

    @classmethod
    def of(cls, real: pd.Series) -> IdShape | None:
        """The shape of a real identifier column; None when it has no present value."""
        texts = _id_text(real.iloc[:_ID_PROFILE_ROWS])
        if not texts:
            return None
        lengths = [len(t) for t in texts]
        classes: frozenset[str] = frozenset().union(*(_classes(t) for t in texts))
        prefix = _common_prefix(texts)[:_MAX_PREFIX]
        return cls(min(lengths), max(lengths), classes, prefix)

    def matches(self, text: str) -> bool:
        """Whether one identifier has this shape."""
        return (
            self.min_length <= len(text) <= self.max_length
            and _classes(text) <= self.classes
            and text.startswith(self.prefix)
        )


def _common_prefix(texts: Sequence[str]) -> str:
    """The letters and separators every id starts with ("C-" of "C-00012"), never digits.

    Digits are where ids count, so a shared leading digit ("C-00" of C-00000..C-00999) is an
    accident of how many ids the real table holds, not part of their shape.
    """
    low, high = min(texts), max(texts)
    size = 0
    while size < min(len(low), len(high)) and low[size] == high[size] and not low[size].isdigit():
        size += 1
    return low[:size]


def identifier_checks(real: pd.Series, synthetic: pd.Series) -> tuple[float, float]:
    """(share of distinct synthetic ids among present ones, share shaped like the real ids)."""
    texts = _id_text(synthetic)
    if not texts:
        return 1.0, 1.0
    unique = len(set(texts)) / len(texts)
    shape = IdShape.of(real)
    if shape is None:
        return unique, 1.0
    return unique, sum(shape.matches(t) for t in texts) / len(texts)
