"""Turning three loosely typed tables into comparable arrays, column by column.

Real and synthetic tables rarely agree on dtypes (a generator may emit ``1.0`` where the real table
holds ``1``, or ``"True"`` where it holds ``True``), so every value is normalised to one of two
representations: float64 with NaN (numeric, datetime) or a string label (categorical, boolean)
where a missing value is its own label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_evaluator.domain.models import ColumnInfo

MISSING = "(missing)"
OTHER = "(other)"
USABLE_KINDS = frozenset({"numeric", "categorical", "boolean", "datetime"})
NUMERIC_KINDS = frozenset({"numeric", "datetime"})
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
LabelArray = npt.NDArray[np.object_]


class ColumnLike(Protocol):
    """Anything with a column name and kind (``ColumnInfo``, the datasets' ``ColumnSummary``)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...


def usable_columns(
    columns: Sequence[ColumnLike], frames: Sequence[pd.DataFrame]
) -> tuple[list[ColumnInfo], list[str]]:
    """Split declared columns into those metrics use and those they skip.

    Args:
        columns: declared schema.
        frames: tables that must all hold a used column.

    Returns:
        The used columns (in declared order) and the names of the skipped ones.
    """
    used: list[ColumnInfo] = []
    excluded: list[str] = []
    for col in columns:
        present = all(col.name in frame.columns for frame in frames)
        if col.kind in USABLE_KINDS and present:
            used.append(ColumnInfo.model_validate({"name": col.name, "kind": col.kind}))
        else:
            excluded.append(col.name)
    return used, excluded


def is_numeric_kind(kind: str) -> bool:
    return kind in NUMERIC_KINDS


def to_numbers(series: pd.Series, kind: str) -> FloatArray:
    """Float64 values with NaN for missing; datetimes become days since 1970-01-01 (UTC)."""
    if kind == "datetime" and not pd.api.types.is_numeric_dtype(series.dtype):
        stamps = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
        days = (stamps - _EPOCH) / pd.Timedelta(days=1)
        return np.array(days, dtype=np.float64)
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.array(series.astype("float64"), dtype=np.float64)
    values = np.array(pd.to_numeric(series, errors="coerce"), dtype=np.float64)
    # inf would break every histogram and distance; it carries no more information than "huge".
    values[~np.isfinite(values) & ~np.isnan(values)] = np.nan
    return values


def _label(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _raw_labels(series: pd.Series) -> LabelArray:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        flags = np.asarray(series.fillna(False), dtype=bool)
        return np.where(flags, "true", "false").astype(object)
    if pd.api.types.is_numeric_dtype(dtype):
        values = np.array(series, dtype=np.float64)
        values[np.isnan(values)] = 0.0
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**62)
        text = values.astype(str).astype(object)
        text[whole] = values[whole].astype(np.int64).astype(str)
        return np.asarray(text, dtype=object)
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return np.asarray(series.astype(str), dtype=object)
    # Object columns may mix types (1, "1", 1.0, True); label each value on its own.
    return np.array([_label(v) for v in series.to_numpy(dtype=object)], dtype=object)


def to_labels(series: pd.Series, kind: str) -> LabelArray:
    """String labels, with ``MISSING`` for missing values; booleans spelled "true"/"false"."""
    missing = np.asarray(series.isna(), dtype=bool)
    labels = _raw_labels(series)
    if kind == "boolean":
        lowered = np.char.lower(np.char.strip(labels.astype(str)))
        labels = np.where(
            np.isin(lowered, list(_TRUE)),
            "true",
            np.where(np.isin(lowered, list(_FALSE)), "false", labels),
        ).astype(object)
    labels[missing] = MISSING
    return labels


@dataclass(frozen=True)
class ColumnData:
    """One column of the real and synthetic tables in its comparable form.

    Exactly one of the (real, synthetic) pairs is set: ``*_num`` for numeric and datetime columns,
    ``*_lab`` for categorical and boolean ones. ``*_codes`` are shared small-integer codes (numeric
    values binned at real quantiles; rare categories folded into "(other)"; missing its own code)
    for contingency tables.
    """

    info: ColumnInfo
    real_num: FloatArray | None
    synth_num: FloatArray | None
    real_lab: LabelArray | None
    synth_lab: LabelArray | None
    real_codes: IntArray
    synth_codes: IntArray
    n_codes: int

    @property
    def numeric(self) -> bool:
        return self.real_num is not None


def quantile_edges(values: FloatArray, bins: int) -> FloatArray:
    """Inner edges of (at most) ``bins`` equal-frequency bins of the finite ``values``."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return np.empty(0, dtype=np.float64)
    qs = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(qs)


def bin_codes(values: FloatArray, edges: FloatArray) -> IntArray:
    """Bin index per value; NaN gets the last code (``len(edges) + 1``)."""
    codes = np.searchsorted(edges, values, side="right").astype(np.int64)
    codes[np.isnan(values)] = edges.size + 1
    return codes


def category_codes(
    real: LabelArray, synth: LabelArray, *, max_categories: int
) -> tuple[IntArray, IntArray, int]:
    """Codes of the ``max_categories`` most frequent real categories, one for the rest."""
    counts = pd.Series(real).value_counts(sort=True)
    keep = [c for c in counts.index if c != MISSING][:max_categories]
    vocab = {label: i for i, label in enumerate(keep)}
    other, missing = len(keep), len(keep) + 1

    def encode(labels: LabelArray) -> IntArray:
        codes = np.array([vocab.get(s, other) for s in labels], dtype=np.int64)
        codes[labels == MISSING] = missing
        return codes

    return encode(real), encode(synth), missing + 1


def prepare_column(
    info: ColumnInfo, real: pd.Series, synth: pd.Series, *, pair_bins: int, max_categories: int
) -> ColumnData:
    """Normalise one column of both tables and compute its shared codes."""
    if is_numeric_kind(info.kind):
        real_num, synth_num = to_numbers(real, info.kind), to_numbers(synth, info.kind)
        edges = quantile_edges(real_num, pair_bins)
        return ColumnData(
            info=info,
            real_num=real_num,
            synth_num=synth_num,
            real_lab=None,
            synth_lab=None,
            real_codes=bin_codes(real_num, edges),
            synth_codes=bin_codes(synth_num, edges),
            n_codes=edges.size + 2,
        )
    real_lab, synth_lab = to_labels(real, info.kind), to_labels(synth, info.kind)
    rc, sc, n = category_codes(real_lab, synth_lab, max_categories=max_categories)
    return ColumnData(
        info=info,
        real_num=None,
        synth_num=None,
        real_lab=real_lab,
        synth_lab=synth_lab,
        real_codes=rc,
        synth_codes=sc,
        n_codes=n,
    )


def sample_rows(frame: pd.DataFrame, *, limit: int, seed: int) -> pd.DataFrame:
    """At most ``limit`` rows, drawn without replacement with ``seed``; index reset."""
    if len(frame) <= limit:
        return frame.reset_index(drop=True)
    return frame.sample(n=limit, random_state=seed).reset_index(drop=True)
