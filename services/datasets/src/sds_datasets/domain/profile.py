"""Per-column statistics for the data owner's profile.

The profile is NOT differentially private: it describes the real rows and is shown only to the
owner (``"dp": false`` says so in the JSON). Columns with personal data get counts only: no
top values, no min/max, no quantiles, since each of those can be a real person's value.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_datasets.domain.inference import InferredColumn
from sds_datasets.domain.pii import PiiFinding

TOP_K: Final = 20
HISTOGRAM_BINS: Final = 20
QUANTILES: Final = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DP_NOTICE: Final = (
    "These statistics describe the real rows and are not differentially private; they are for "
    "the data owner only and must not be shared or released."
)


def column_profile(column: InferredColumn, *, pii: list[PiiFinding]) -> dict[str, Any]:
    """The profile entry of one column."""
    values = column.values
    n = len(values)
    present = values.dropna()
    missing = n - len(present)
    entry: dict[str, Any] = {
        "name": column.name,
        "kind": column.kind,
        "count": len(present),
        "missing": missing,
        "missing_fraction": _fraction(missing, n),
        "distinct": int(present.nunique()),
        "pii": [finding.as_json() for finding in pii],
        "kind_reason": column.reason,
        "missing_markers": [{"marker": m, "count": count} for m, count in column.markers],
        "missing_rule": column.missing_rule,
    }
    if column.format is not None:
        entry["format"] = column.format.model_dump(mode="json", exclude_defaults=True)
    if column.kind == "numeric":
        entry["integer"] = column.integer
    if column.format is not None and column.format.datetime_format is not None:
        entry["datetime_format"] = column.format.datetime_format
    if pii:
        entry["values_withheld"] = "the column holds personal data"
    elif column.kind == "numeric":
        entry.update(_numeric(present))
    elif column.kind in ("categorical", "boolean"):
        entry["top"] = _top(present)
    elif column.kind == "datetime":
        entry["min"] = _iso(present.min())
        entry["max"] = _iso(present.max())
    if column.kind in ("identifier", "text"):
        entry["length"] = _lengths(present)
    return entry


def _numeric(present: pd.Series) -> dict[str, Any]:
    numbers = present.astype("float64").to_numpy()
    if numbers.size == 0:
        return {}
    low, high = float(numbers.min()), float(numbers.max())
    bins = max(1, min(HISTOGRAM_BINS, len(np.unique(numbers))))
    counts, edges = np.histogram(numbers, bins=bins, range=(low, high))
    quantiles = np.quantile(numbers, QUANTILES)
    return {
        "min": low,
        "max": high,
        "mean": _finite(float(numbers.mean())),
        "std": _finite(float(numbers.std(ddof=1))) if numbers.size > 1 else None,
        "quantiles": {
            f"p{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, quantiles, strict=True)
        },
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def _top(present: pd.Series) -> list[dict[str, Any]]:
    counts = present.value_counts(sort=True).head(TOP_K)
    total = len(present)
    return [
        {"value": _json_value(value), "count": int(count), "share": _fraction(int(count), total)}
        for value, count in counts.items()
    ]


def _lengths(present: pd.Series) -> dict[str, float | int | None]:
    if present.empty:
        return {"min": None, "mean": None, "max": None}
    lengths = present.astype("string").str.len()
    return {
        "min": int(lengths.min()),
        "mean": round(float(lengths.mean()), 2),
        "max": int(lengths.max()),
    }


def _json_value(value: object) -> str | bool | int | float:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return str(value)


def _iso(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _fraction(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0
