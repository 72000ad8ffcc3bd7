"""Calibration of dp-ctgan's 1-way marginals to the released DP marginals.

Why it is free: the preprocessing already RELEASED, under the fit's accountant, a noisy histogram
of every modelled column (category counts; a numeric column's CDF, see :mod:`.dp_preprocessing`).
Those releases are kept in the model state (``frequencies``, ``cdf_x``/``cdf_p`` of each column)
and nothing else about the data is: no raw count, no raw value. Everything here is a function of
the generator (itself post-processing of DP-SGD's releases), of those DP releases and of fresh
randomness, so by the post-processing theorem the synthetic table keeps the fit's (ε, δ); the
accountant has nothing to add.

How:

1. Logit offsets. A discrete output (a category, a numeric column's mode) is sampled as
   ``argmax(logits + Gumbel noise)``. One offset per category, added to its logit in every row,
   moves the sampled shares; :func:`fit_offsets` finds the offsets whose shares match the DP
   marginal on a large calibration sample of the generator, once, after training. Each row keeps
   its own logits, so a row moves to another category only where the generator found that
   category nearly as likely for it: the joint structure is the generator's, tilted per column.
   (Resampling generated rows to match the marginals instead needs either many more generated
   rows or very uneven weights, i.e. few distinct rows.)
2. Quantile mapping. At sampling time the values of a numeric column are mapped by rank onto the
   released CDF (``x -> F_dp⁻¹(rank)``, :func:`match_quantiles`): the marginal follows the
   release at its fine resolution while the order of the values, hence their rank correlations
   with every other column, is the generator's.

Both are skipped for conditional sampling: the releases are unconditional marginals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # the transformer imports this module at runtime
    from sds_trainer.domain.synthesizers.transformer import DataTransformer

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Target:
    """A discrete output span and its released marginal.

    Attributes:
        start: First column of the span in the encoded matrix.
        dim: Width of the span.
        shares: Released shares of the span's categories (sums to 1).
        present: For a numeric column's modes, the ``[present, missing]`` span's start: rows
            generated missing do not count (no missing share was released for numeric columns).
    """

    start: int
    dim: int
    shares: FloatArray
    present: int | None = None


def released_targets(transformer: DataTransformer) -> list[Target]:
    """The discrete spans with a released marginal, read from the transformer's DP outputs.

    Categorical columns: their (noisy) category counts. Numeric columns with a released CDF: the
    CDF's mass in each mode.
    """
    out: list[Target] = []
    for col, spans in zip(transformer.columns, transformer.column_spans(), strict=True):
        present = None
        if "categories" in col:
            span = spans[0]
            mass = np.maximum(np.asarray(col["frequencies"], dtype=np.float64), 0.0)
        elif len(col.get("cdf_x", ())) > 1:
            span = spans[1]
            at = np.interp(col["edges"], col["cdf_x"], col["cdf_p"])
            mass = np.maximum(np.diff(at), 0.0)
            present = spans[2].start if col["missing"] else None
        else:
            continue
        if mass.sum() > 0:
            out.append(Target(span.start, span.dim, mass / mass.sum(), present))
    return out


def fit_offsets(
    logits: npt.NDArray[np.float32],
    shares: FloatArray,
    *,
    iterations: int = 50,
    tolerance: float = 2e-3,
) -> FloatArray:
    """Offsets ``b`` such that ``argmax(logits + b)`` has the wanted shares over the rows.

    ``logits`` are already perturbed (Gumbel noise added), so the argmax is the sampled category.
    Each round moves every offset by the log-ratio of its wanted to its current share, the way
    iterative proportional fitting moves weights; a share the rows cannot reach (no row ranks
    that category anywhere near the top) stays below its target.

    Args:
        logits: Rows by categories.
        shares: Wanted share of each category (sums to 1).
        iterations: Most rounds.
        tolerance: Stop when every share is within this of its target.

    Returns:
        One offset per category (their common level is arbitrary; the first is 0).
    """
    n, k = logits.shape
    offsets = np.zeros(k)
    if n == 0:
        return offsets
    floor = 0.5 / n
    for _ in range(iterations):
        counts = np.bincount((logits + offsets).argmax(axis=1), minlength=k) / n
        if np.abs(counts - shares).max() < tolerance:
            break
        offsets += np.log(np.maximum(shares, floor) / np.maximum(counts, floor))
    out: FloatArray = offsets - offsets[0]
    return out


def calibration_offsets(
    transformer: DataTransformer, logits: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """One offset per encoded column (0 on continuous and uncalibrated spans).

    Args:
        transformer: The fitted transformer (its released marginals are the targets).
        logits: A calibration sample of the generator's raw outputs, Gumbel noise added on the
            discrete spans (rows by encoded columns).

    Returns:
        The offsets to add to the generator's raw outputs before sampling.
    """
    out = np.zeros(logits.shape[1], dtype=np.float32)
    for target in released_targets(transformer):
        rows = logits[:, target.start : target.start + target.dim]
        if target.present is not None:
            rows = rows[logits[:, target.present] >= logits[:, target.present + 1]]
        offsets = fit_offsets(rows.astype(np.float64), target.shares)
        out[target.start : target.start + target.dim] = offsets
    return out


def match_quantiles(
    values: FloatArray, *, knots: FloatArray, cdf: FloatArray, jitter: FloatArray
) -> FloatArray:
    """Map values by rank onto a target CDF given as knots (piecewise linear between them).

    The value of rank ``r`` (0-based, ties in input order) among ``m`` becomes
    ``F⁻¹((r + jitter[r]) / m)``: the output follows the target CDF and keeps the input's order.

    Args:
        values: The values to map.
        knots: Increasing x of the target CDF.
        cdf: Non-decreasing F at ``knots``, from 0 to 1.
        jitter: One uniform in [0, 1) per value (the randomised position inside its rank).

    Returns:
        The mapped values, in the input's order.
    """
    m = len(values)
    if m == 0 or len(knots) < 2:
        return values.astype(np.float64)
    order = np.argsort(values, kind="stable")
    probs = (np.arange(m) + jitter) / m
    out = np.empty(m)
    # With F flat on [a, b], F(a) == F(b) repeats in xp: np.interp then jumps from a to b (the
    # generalised inverse), so no value lands where the target has no mass.
    out[order] = np.interp(probs, cdf, knots)
    return out
