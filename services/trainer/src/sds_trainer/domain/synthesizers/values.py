"""A column's values as the synthesizers read and write them: floats in, the table's dtype out."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]


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
