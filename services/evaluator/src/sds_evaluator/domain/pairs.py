"""Pair trends: how well the synthetic table keeps the relationships between columns.

Two numeric columns compare their Spearman correlations (robust to skew and monotone transforms).
Every other pair compares the joint frequency table of the two columns, with numeric columns cut
at real quantiles and missing values kept as their own cell, so a relationship of any shape, and
one that runs through missingness, is seen.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from sds_evaluator.domain.columns import ColumnData, FloatArray, IntArray
from sds_evaluator.domain.models import AssociationMatrices, PairTrend

_MIN_ROWS = 3


def spearman(x: FloatArray, y: FloatArray) -> float:
    """Spearman correlation over rows where both are present; 0 when undefined."""
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < _MIN_ROWS:
        return 0.0
    rx, ry = rankdata(x[ok]), rankdata(y[ok])
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return 0.0
    return float(np.clip(np.mean((rx - rx.mean()) * (ry - ry.mean())) / (sx * sy), -1.0, 1.0))


def joint_table(a: IntArray, b: IntArray, *, na: int, nb: int) -> FloatArray:
    """Joint frequency table (as shares) of two code arrays."""
    counts = np.bincount(a * nb + b, minlength=na * nb).astype(np.float64)
    total = counts.sum()
    return (counts / total if total else counts).reshape(na, nb)


def cramers_v(table: FloatArray) -> float:
    """Cramér's V of a joint share table (0 = independent, 1 = one column determines the other)."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0))
    phi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(min(1.0, phi2 / (min(table.shape) - 1))))


def correlation_ratio(values: FloatArray, groups: IntArray) -> float:
    """Eta: the share of a numeric column's spread explained by a categorical one (sqrt)."""
    ok = ~np.isnan(values)
    x, g = values[ok], groups[ok]
    if x.size < _MIN_ROWS:
        return 0.0
    total = float(((x - x.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    n = np.bincount(g).astype(np.float64)
    sums = np.bincount(g, weights=x)
    present = n > 0
    means = sums[present] / n[present]
    between = float((n[present] * (means - x.mean()) ** 2).sum())
    return float(np.sqrt(np.clip(between / total, 0.0, 1.0)))


def _association(a: ColumnData, b: ColumnData, *, synthetic: bool) -> float:
    codes_a = a.synth_codes if synthetic else a.real_codes
    codes_b = b.synth_codes if synthetic else b.real_codes
    num_a = a.synth_num if synthetic else a.real_num
    num_b = b.synth_num if synthetic else b.real_num
    if num_a is not None and num_b is not None:
        return abs(spearman(num_a, num_b))
    if num_a is not None:
        return correlation_ratio(num_a, codes_b)
    if num_b is not None:
        return correlation_ratio(num_b, codes_a)
    return cramers_v(joint_table(codes_a, codes_b, na=a.n_codes, nb=b.n_codes))


def pair_trend(a: ColumnData, b: ColumnData) -> PairTrend:
    """Similarity in [0, 1] of one column pair's relationship in real and synthetic data."""
    if a.numeric and b.numeric:
        assert a.real_num is not None
        assert b.real_num is not None
        assert a.synth_num is not None
        assert b.synth_num is not None
        rho_r = spearman(a.real_num, b.real_num)
        rho_s = spearman(a.synth_num, b.synth_num)
        metric, score = "correlation_similarity", 1.0 - abs(rho_r - rho_s) / 2.0
        real_assoc, synth_assoc = abs(rho_r), abs(rho_s)
    else:
        real = joint_table(a.real_codes, b.real_codes, na=a.n_codes, nb=b.n_codes)
        synth = joint_table(a.synth_codes, b.synth_codes, na=a.n_codes, nb=b.n_codes)
        score = 1.0 - 0.5 * float(np.abs(real - synth).sum()) if a.synth_codes.size else 0.0
        metric = "contingency_similarity"
        real_assoc = _association(a, b, synthetic=False)
        synth_assoc = _association(a, b, synthetic=True) if a.synth_codes.size else 0.0
    return PairTrend.model_validate(
        {
            "left": a.info.name,
            "right": b.info.name,
            "metric": metric,
            "score": float(np.clip(score, 0.0, 1.0)),
            "real_association": real_assoc,
            "synthetic_association": synth_assoc,
        }
    )


def choose_pairs(
    n_columns: int, *, must: Sequence[int], limit: int, seed: int
) -> tuple[list[tuple[int, int]], int]:
    """Column index pairs to score: all pairs among ``must``, then a seeded sample up to ``limit``.

    Returns:
        The chosen pairs (sorted) and the number of pairs the table has in total.
    """
    every = list(itertools.combinations(range(n_columns), 2))
    if len(every) <= limit:
        return every, len(every)
    must_set = set(must)
    chosen = {p for p in every if p[0] in must_set and p[1] in must_set}
    rest = [p for p in every if p not in chosen]
    room = max(0, limit - len(chosen))
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(rest), size=min(room, len(rest)), replace=False)
    chosen.update(rest[int(i)] for i in picks)
    return sorted(chosen), len(every)


def association_matrices(
    columns: Sequence[ColumnData], trends: dict[tuple[str, str], PairTrend]
) -> AssociationMatrices:
    """Real and synthetic association strength for the given columns (diagonal = 1)."""
    names = [c.info.name for c in columns]
    n = len(names)
    real: list[list[float | None]] = [[None] * n for _ in range(n)]
    synth: list[list[float | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        real[i][i] = synth[i][i] = 1.0
        for j in range(i + 1, n):
            trend = trends.get((names[i], names[j])) or trends.get((names[j], names[i]))
            if trend is None:
                continue
            real[i][j] = real[j][i] = trend.real_association
            synth[i][j] = synth[j][i] = trend.synthetic_association
    return AssociationMatrices(columns=names, real=real, synthetic=synth)
