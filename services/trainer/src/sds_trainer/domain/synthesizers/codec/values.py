"""A column's values as the synthesizers read and write them: floats in, the table's dtype out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables import ColumnFormat


def can_hold_missing(dtype: Any) -> bool:
    """Whether a column of ``dtype`` can hold a missing value without changing dtype."""
    return not (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) or (
        isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.na_value is not None
    )


def numeric_values(series: pd.Series[Any], kind: str) -> npt.NDArray[np.float64]:
    """The column as floats (datetimes as epoch seconds); missing values are NaN.

    Datetimes go through a timedelta, so the seconds are right whatever unit (ns, us, ms, s)
    the column is stored in: pandas 3 parses dates to microseconds, not nanoseconds.
    """
    if kind == "datetime":
        stamps = pd.Series(pd.to_datetime(series, errors="coerce"))
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        seconds = (stamps - pd.Timestamp(0)).dt.total_seconds()
        return np.asarray(seconds.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    return np.asarray(pd.to_numeric(series, errors="coerce"), dtype=np.float64)


def datetime_series(seconds: npt.NDArray[np.float64], dtype: Any) -> pd.Series[Any]:
    """Epoch seconds (NaN: missing) back to a column of datetime ``dtype``, time zone included."""
    stamps = pd.Series(pd.to_datetime(seconds, unit="s"))
    target = pd.api.types.pandas_dtype(dtype)
    if isinstance(target, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(target.tz)
    return stamps.astype(target)


#: Numbers written with more decimals than this are measurements printed in full (a float's
#: repr), not values on a grid of their last digit.
MAX_GRID_DECIMALS = 6


def grid_unit(*, kind: str, integer: bool, fmt: ColumnFormat | None) -> tuple[float, bool]:
    """The unit values are handled in, and whether they are whole numbers of it (a grid).

    Datetimes: their granularity in seconds (dates: 86,400), else seconds without a grid.
    Numbers: the format's step, else 1 for integers, else ``10^-decimals`` for numbers written
    with at most :data:`MAX_GRID_DECIMALS` decimals, else 1 without a grid (floats printed in
    full).
    """
    if kind == "datetime":
        if fmt is not None and fmt.granularity_s:
            return float(fmt.granularity_s), True
        return 1.0, False
    if fmt is not None and fmt.step:
        return float(fmt.step), True
    if integer:
        return 1.0, True
    if fmt is not None and fmt.decimals is not None and fmt.decimals <= MAX_GRID_DECIMALS:
        return 10.0**-fmt.decimals, True
    return 1.0, False


def typed_series(
    units: npt.NDArray[np.float64],
    *,
    kind: str,
    unit: float,
    dtype: str,
    decimals: int | None,
) -> pd.Series[Any]:
    """Values in units (NaN: missing) as a column of ``dtype``, written as the file wrote them.

    Whole units are scaled back exactly enough that ``0.1 * 3`` prints as ``0.3``: numbers are
    rounded to the format's decimals, or to the unit's own.
    """
    values = units * unit
    if kind == "datetime":
        return datetime_series(values, dtype)
    digits = decimals
    if digits is None and unit != 1.0:
        digits = max(0, -math.floor(math.log10(unit)) + 1)
    if digits is not None:
        values = np.round(values, digits)
    target = pd.api.types.pandas_dtype(dtype)
    missing = np.isnan(values)
    if missing.any() and not can_hold_missing(target):
        target = np.dtype("float64")
    if pd.api.types.is_integer_dtype(target):
        values = np.round(values)
    return pd.Series(values).astype(target)
