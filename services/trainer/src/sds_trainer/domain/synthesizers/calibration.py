"""Calibration of dp-ctgan's 1-way marginals to the released DP marginals.

Why it is free: the preprocessing already RELEASED, under the fit's accountant, noisy histograms
of every modelled column (category counts; a numeric column's leaves and atoms with their
weights, see :mod:`.codec`). Those releases are kept in the model state (each column's domain)
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
   released distribution (``x -> F_dp⁻¹(rank)``: :func:`.transformer.rank_levels`, then the
   domain's ``quantile``): the marginal follows the release at its finest resolution, on the
   column's grid and inside its released range, while the order of the values, hence their rank
   correlations with every other column, is the generator's.

Both are skipped for conditional sampling: the releases are unconditional marginals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sds_trainer.domain.synthesizers.codec import CategoricalDomain
from sds_trainer.domain.synthesizers.modes import released_cdf

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
            generated missing do not count (that span has a target of its own).
    """

    start: int
    dim: int
    shares: FloatArray
    present: int | None = None


def released_targets(transformer: DataTransformer) -> list[Target]:
    """The discrete spans with a released marginal, read from the codec's DP outputs.

    Categorical columns: their (noisy) counts. Numeric columns: the released distribution's
    mass in each mode.
    """
    out: list[Target] = []
    for enc, spans in zip(transformer.encodings, transformer.column_spans(), strict=True):
        present = None
        if isinstance(enc, CategoricalDomain):
            if not enc.counts:
                continue
            span = spans[0]
            mass = np.maximum(np.asarray(enc.counts, dtype=np.float64), 0.0)
        else:
            span = spans[1]
            mass = np.maximum(np.diff(released_cdf(enc.domain, np.asarray(enc.edges))), 0.0)
            present = spans[2].start if enc.domain.missing else None
            if enc.domain.missing:
                # The released missing count against the released present mass.
                values = float(sum(max(w, 0.0) for w in enc.domain.weights)) + float(
                    sum(max(w, 0.0) for w in enc.domain.atom_weights)
                )
                split = np.asarray([values, enc.domain.missing_weight], dtype=np.float64)
                if split.sum() > 0:
                    out.append(Target(spans[2].start, 2, split / split.sum()))
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
