"""Column shapes: how closely each synthetic column's distribution matches the real one.

Missing values count as part of the distribution: a categorical column treats them as one more
category; a numeric column compares the share of missing values and the distribution of the
present ones, and multiplies the two similarities, so either kind of mismatch lowers the score.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_evaluator.domain.columns import (
    MISSING,
    OTHER,
    ColumnData,
    FloatArray,
    LabelArray,
)
from sds_evaluator.domain.models import ColumnDistribution, ColumnShape


def ks_statistic(real: FloatArray, synth: FloatArray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two ECDFs."""
    if real.size == 0 or synth.size == 0:
        return 0.0 if real.size == synth.size else 1.0
    a, b = np.sort(real), np.sort(synth)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def total_variation(real: LabelArray, synth: LabelArray) -> float:
    """Total variation distance between two category frequency tables (0 = identical)."""
    if real.size == 0 or synth.size == 0:
        return 0.0 if real.size == synth.size else 1.0
    p = pd.Series(real).value_counts(normalize=True)
    q = pd.Series(synth).value_counts(normalize=True)
    p, q = p.align(q, fill_value=0.0)
    return float(0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def _numeric_shape(col: ColumnData) -> float:
    assert col.real_num is not None
    assert col.synth_num is not None
    real, synth = col.real_num, col.synth_num
    miss_r = float(np.isnan(real).mean()) if real.size else 0.0
    miss_s = float(np.isnan(synth).mean()) if synth.size else 0.0
    ks = ks_statistic(real[~np.isnan(real)], synth[~np.isnan(synth)])
    return (1.0 - abs(miss_r - miss_s)) * (1.0 - ks)


def _categorical_shape(col: ColumnData) -> float:
    assert col.real_lab is not None
    assert col.synth_lab is not None
    return 1.0 - total_variation(col.real_lab, col.synth_lab)


ShapeMetric = Callable[[ColumnData], float]

# Kind -> (metric name, function). A new column kind registers its comparison here.
SHAPE_METRICS: dict[str, tuple[str, ShapeMetric]] = {
    "numeric": ("ks_complement", _numeric_shape),
    "datetime": ("ks_complement", _numeric_shape),
    "categorical": ("tv_complement", _categorical_shape),
    "boolean": ("tv_complement", _categorical_shape),
}


def _missing_share(col: ColumnData, *, synthetic: bool) -> float:
    if col.numeric:
        values = col.synth_num if synthetic else col.real_num
        assert values is not None
        return float(np.isnan(values).mean()) if values.size else 0.0
    labels = col.synth_lab if synthetic else col.real_lab
    assert labels is not None
    return float((labels == MISSING).mean()) if labels.size else 0.0


def column_shape(col: ColumnData) -> ColumnShape:
    """Score one column with the metric registered for its kind."""
    metric, fn = SHAPE_METRICS[col.info.kind]
    score = float(np.clip(fn(col), 0.0, 1.0))
    return ColumnShape.model_validate(
        {
            "name": col.info.name,
            "kind": col.info.kind,
            "metric": metric,
            "score": score,
            "missing_real": _missing_share(col, synthetic=False),
            "missing_synthetic": _missing_share(col, synthetic=True),
        }
    )


def _shares(counts: FloatArray) -> list[float]:
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]


def _format_edge(value: float, kind: str) -> str:
    if kind == "datetime":
        stamp = pd.Timestamp("1970-01-01") + pd.Timedelta(days=float(value))
        return str(stamp.date())
    return f"{value:.4g}"


def _numeric_distribution(col: ColumnData, bins: int) -> tuple[list[str], FloatArray, FloatArray]:
    assert col.real_num is not None
    assert col.synth_num is not None
    real, synth = col.real_num, col.synth_num
    finite = real[~np.isnan(real)]
    if finite.size == 0:
        finite = synth[~np.isnan(synth)]
    if finite.size == 0:
        finite = np.zeros(1)
    # Clipping to the real 0.5-99.5 % range keeps one outlier from squashing every bar into one.
    low, high = np.quantile(finite, [0.005, 0.995])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    labels = [_format_edge(e, col.info.kind) for e in edges[:-1]]
    rc = np.histogram(np.clip(real[~np.isnan(real)], low, high), bins=edges)[0].astype(float)
    sc = np.histogram(np.clip(synth[~np.isnan(synth)], low, high), bins=edges)[0].astype(float)
    if np.isnan(real).any() or np.isnan(synth).any():
        labels.append(MISSING)
        rc = np.append(rc, np.isnan(real).sum())
        sc = np.append(sc, np.isnan(synth).sum())
    return labels, rc, sc


def _categorical_distribution(
    col: ColumnData, shown: int
) -> tuple[list[str], FloatArray, FloatArray]:
    assert col.real_lab is not None
    assert col.synth_lab is not None
    real = pd.Series(col.real_lab).value_counts()
    synth = pd.Series(col.synth_lab).value_counts()
    top = [str(c) for c in real.index if c != MISSING][:shown]
    labels = list(top)
    rc = [float(real.get(c, 0)) for c in top]
    sc = [float(synth.get(c, 0)) for c in top]
    rest_r = float(real.sum() - sum(rc) - real.get(MISSING, 0))
    rest_s = float(synth.sum() - sum(sc) - synth.get(MISSING, 0))
    if rest_r or rest_s:
        labels.append(OTHER)
        rc.append(rest_r)
        sc.append(rest_s)
    if real.get(MISSING, 0) or synth.get(MISSING, 0):
        labels.append(MISSING)
        rc.append(float(real.get(MISSING, 0)))
        sc.append(float(synth.get(MISSING, 0)))
    return labels, np.asarray(rc), np.asarray(sc)


def column_distribution(
    col: ColumnData, *, score: float, bins: int, shown: int
) -> ColumnDistribution:
    """Binned real and synthetic shares of one column, for its plot."""
    if col.numeric:
        labels, rc, sc = _numeric_distribution(col, bins)
    else:
        labels, rc, sc = _categorical_distribution(col, shown)
    return ColumnDistribution.model_validate(
        {
            "name": col.info.name,
            "kind": col.info.kind,
            "labels": labels,
            "real": _shares(rc),
            "synthetic": _shares(sc),
            "score": score,
        }
    )
