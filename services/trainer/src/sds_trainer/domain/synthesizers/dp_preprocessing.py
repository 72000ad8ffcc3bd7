"""Differentially private statistics for the data transformer.

Every statistic here is a noisy histogram under add/remove-one-row neighbours. A row falls in at
most one bin of each column's histogram, so the ``d`` column histograms of one table, taken
together, have L2 sensitivity ``√d``. They are released at once by the Gaussian mechanism with
the same noise ``sigma`` on every count: ``rho = d / (2·sigma²)`` zCDP, i.e. Rényi DP
``alpha·d / (2·sigma²)`` at every order alpha. That release is composed with DP-SGD in one
accountant (see :mod:`.dp_training`), so its cost grows with ``√d`` rather than with ``d`` as a
per-column ε split would. Everything derived from a noisy histogram (bounds, quantile "modes",
sampling frequencies) is post-processing and costs nothing more.

* Numeric columns: TWO histograms on DATA-INDEPENDENT grids, so two of the ``d`` histograms. The
  coarse grid is a symmetric log grid from 1e-2 to 1e12 (quarter decades), inside declared bounds
  joined with a uniform grid between them; the fine grid splits every coarse bin into
  :data:`FINE_SPLITS` equal parts. For integer columns both grids are snapped to half-integers, so
  a fine bin holds whole values (unit bins wherever the coarse bin is narrow: a spike at one value
  stays one value). Coarse bins whose noisy count is below the noise level are zeroed; the
  outermost surviving ones give the DP bounds; a coarse bin away from the bulk survives only far
  above the noise (a zero-inflated column's tail lies decades away from its spike at 0). Inside
  each surviving coarse bin, the coarse and fine counts are combined by least squares (a two-level
  tree) and made monotone as a cumulative sum: the coarse count carries the bin's mass with little
  noise, the fine ones mostly its shape. The resulting noisy CDF gives the quantile edges of the
  modes (our DP stand-in for CTGAN's Bayesian GMM, which is not DP; a fine bin holding a large
  share, a spike, is a mode of its own) and is kept as the column's released marginal (see
  :mod:`.calibration`). A single fine histogram could not do both: summed over a coarse bin, its
  noise grows with the root of the number of fine bins, which would wipe out sparse tails.
* Categorical columns without declared categories: the stability-based histogram (Korolova et
  al. 2009; Wilson et al. 2020's "DP SQL" thresholding) with Gaussian noise: noisy counts over
  the observed values, released only above ``τ = 1 + sigma·Φ⁻¹(1 - δ₀)``. A value held by one row
  passes with probability at most δ₀; outside that event the release is the Gaussian mechanism on
  the common keys, so the table's release is δ₀-approximate RDP (Bun & Steinke 2016), with δ₀
  summed over the thresholded columns and added to the final δ. Categories below τ fall into a
  rare bucket.
* Categorical columns with declared categories (and booleans): Gaussian counts on the public
  domain, no threshold.

The dataset size ``n`` is treated as public, as every DP-SGD sample-rate computation
(``q = batch_size / n``) does; the rare bucket's frequency uses it.

Noise comes from numpy's PCG64; floating-point Gaussian sampling is not hardened against
floating-point attacks (Mironov 2012; Jin et al. 2022) — acceptable for a research-grade release,
noted.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Positive edges of the log grid: quarter decades from 1e-2 to 1e12 (data-independent).
_LOG_EDGES_POS: FloatArray = 10.0 ** (np.arange(-8, 49) / 4.0)
LOG_GRID: FloatArray = np.concatenate([-_LOG_EDGES_POS[::-1], [0.0], _LOG_EDGES_POS])
UNIFORM_GRID_BINS = 64


#: Fine bins per coarse bin (data-independent; the fine histogram's cost does not depend on it).
FINE_SPLITS = 32


@dataclass(frozen=True)
class NumericSummary:
    """Bounds, mode edges and released CDF of one numeric column.

    ``edges[0] == low`` and ``edges[-1] == high``. ``cdf`` is the DP marginal as knots: the
    cumulative share ``cdf[1][i]`` of values below ``cdf[0][i]`` (from 0 at ``low`` to 1 at
    ``high``, linear between knots); empty when the edges are public metadata only.
    """

    low: float
    high: float
    edges: tuple[float, ...]
    cdf: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())


@dataclass(frozen=True)
class CategoryCounts:
    """Released categories (in model order) and their (noisy) counts."""

    categories: tuple[str, ...]
    counts: tuple[float, ...]


def gaussian_counts(
    counts: npt.NDArray[np.int64], *, sigma: float | None, rng: np.random.Generator
) -> FloatArray:
    """Counts with N(0, sigma²) noise; exact counts when ``sigma`` is None (no DP asked)."""
    out = counts.astype(np.float64)
    if sigma is None:
        return out
    return out + rng.normal(scale=sigma, size=out.shape)


def _noise_floor(sigma: float | None, bins: int) -> float:
    # Roughly the largest of `bins` N(0, sigma²) noises: bins below it are most likely empty.
    return 0.0 if sigma is None else sigma * math.sqrt(2.0 * math.log(max(bins, 2)))


def _bulk(counts: FloatArray, *, strict: float, max_gap: int = 2) -> FloatArray:
    # Pure-noise bins that pass the floor are isolated; the data's bulk is a run of bins around
    # the loudest one. Keep that run (gaps of up to `max_gap` empty bins allowed), and bins
    # outside it only above `strict`, a level pure noise does not reach: a zero-inflated
    # column's tail lies far from its spike at zero.
    peak = int(np.argmax(counts))
    lo = hi = peak
    while True:
        ahead = np.flatnonzero(counts[hi + 1 : hi + 2 + max_gap])
        if ahead.size == 0:
            break
        hi += int(ahead[0]) + 1
    while True:
        behind = np.flatnonzero(counts[max(lo - 1 - max_gap, 0) : lo][::-1])
        if behind.size == 0:
            break
        lo -= int(behind[0]) + 1
    out = np.where(counts > strict, counts, 0.0)
    out[lo : hi + 1] = counts[lo : hi + 1]
    return out


def _quantiles(edges: FloatArray, counts: FloatArray, probs: FloatArray) -> FloatArray:
    cdf = np.concatenate([[0.0], np.cumsum(counts)])
    cdf = cdf / cdf[-1]
    # Empty bins repeat a value of the non-decreasing cdf: np.interp then jumps over them (the
    # generalised inverse), so no quantile falls where there is no mass.
    return np.asarray(np.interp(probs, cdf, edges), dtype=np.float64)


def snap_to_integers(edges: FloatArray) -> FloatArray:
    """Edges moved to half-integers (inner ones down, outer ones outwards), deduplicated.

    Every bin of the result holds whole integers only, so an integer column's histogram counts
    values, not fractions of them.
    """
    snapped = np.floor(edges) + 0.5
    snapped[0] = np.ceil(edges[0]) - 0.5
    snapped[-1] = np.floor(edges[-1]) + 0.5
    return np.unique(snapped)


def numeric_grids(
    *, bounds: tuple[float, float] | None, integer: bool
) -> tuple[FloatArray, FloatArray]:
    """The coarse and the fine grid of a numeric column (both data-independent).

    The fine grid splits each coarse bin into :data:`FINE_SPLITS` equal parts, so every fine bin
    lies inside one coarse bin.
    """
    if bounds is not None:
        low, high = bounds
        # The log grid's edges inside the bounds as well: in a wide declared range (an amount
        # declared 0-99,999) a spike at or near 0 keeps bins of its own scale instead of being
        # smeared over the first uniform bin.
        inner = LOG_GRID[(low < LOG_GRID) & (high > LOG_GRID)]
        coarse = np.union1d(np.linspace(low, high, UNIFORM_GRID_BINS + 1), inner)
    else:
        coarse = LOG_GRID
    if integer:
        coarse = snap_to_integers(coarse)
    parts = [np.linspace(lo, hi, FINE_SPLITS + 1)[:-1] for lo, hi in itertools.pairwise(coarse)]
    fine = np.concatenate([*parts, coarse[-1:]])
    if integer:
        fine = np.unique(np.concatenate([snap_to_integers(fine), coarse]))
    return coarse, fine


def _histogram(values: FloatArray, grid: FloatArray) -> npt.NDArray[np.int64]:
    clipped = np.clip(values, grid[0], grid[-1])
    idx = np.clip(np.searchsorted(grid, clipped, side="right") - 1, 0, len(grid) - 2)
    return np.bincount(idx, minlength=len(grid) - 1).astype(np.int64)


def _monotone_shape(counts: FloatArray) -> FloatArray:
    """Shares of a coarse bin's mass over its fine bins, from (noisy) fine counts.

    The cumulative sum of the noisy counts is an unbiased but non-monotone CDF; the mean of its
    running maximum from the left and running minimum from the right is monotone, and empty
    stretches stay nearly flat (clipping each count at zero instead would give every empty fine
    bin a positive share).
    """
    total = float(counts.sum())
    if total <= 0:
        return np.full(len(counts), 1.0 / len(counts))
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    fitted = (np.maximum.accumulate(cum) + np.minimum.accumulate(cum[::-1])[::-1]) / 2
    fitted = np.clip(fitted, 0.0, total)
    fitted[0], fitted[-1] = 0.0, total
    return np.diff(fitted) / total


def _fine_masses(
    coarse: FloatArray, fine: FloatArray, coarse_mass: FloatArray, fine_counts: FloatArray
) -> FloatArray:
    owner = np.searchsorted(coarse, fine[:-1], side="right") - 1
    out = np.zeros(len(fine) - 1)
    for j in np.flatnonzero(coarse_mass):
        inside = np.flatnonzero(owner == j)
        counts = fine_counts[inside]
        # Least squares over the two-level tree (equal noise on the parent and its k children):
        # each child takes 1/(k+1) of the parent's disagreement with the children's sum.
        counts = counts + (coarse_mass[j] - counts.sum()) / (len(counts) + 1)
        total = float(counts.sum()) if counts.sum() > 0 else float(coarse_mass[j])
        out[inside] = total * _monotone_shape(counts)
    return out


def _mode_edges(
    grid: FloatArray, masses: FloatArray, *, low: float, high: float, n_modes: int, integer: bool
) -> list[float]:
    """Quantile modes, with every heavy fine bin (a spike, e.g. a zero-inflated column's 0) a
    mode of its own and the quantiles taken over the rest of the mass."""
    atoms = np.flatnonzero(masses >= masses.sum() / (2 * n_modes))
    rest = masses.copy()
    rest[atoms] = 0.0
    cuts = [low, high, *grid[atoms], *grid[atoms + 1]]
    if rest.sum() > 0:
        probs = np.linspace(0.0, 1.0, max(n_modes - len(atoms), 1) + 1)
        cuts += list(_quantiles(grid, rest, probs))
    edges = np.clip(np.sort(np.asarray(cuts, dtype=np.float64)), low, high)
    if integer:
        # A mode narrower than one value would decode to the same integer as its neighbour.
        edges = np.clip(np.round(edges - 0.5) + 0.5, low, high)
    unique = [low]
    min_width = (high - low) * 1e-9
    for e in edges[1:]:
        if e - unique[-1] > min_width:
            unique.append(float(e))
    if len(unique) == 1:
        unique.append(high if high > low else low + 1.0)
    unique[-1] = max(unique[-1], high)
    return unique


def dp_numeric_summary(
    values: FloatArray,
    *,
    bounds: tuple[float, float] | None,
    n_modes: int,
    sigma: float | None,
    rng: np.random.Generator,
    integer: bool = False,
) -> NumericSummary:
    """DP bounds (unless declared), quantile mode edges and the CDF from two noisy histograms.

    Args:
        values: Non-missing values of the column.
        bounds: Declared public bounds, or None to estimate them under DP.
        n_modes: Number of quantile modes wanted (fewer come back when quantiles coincide).
        sigma: Gaussian noise of each count; None means exact (non-private) statistics.
        rng: Noise source.
        integer: The column holds integers (public, from the spec): grids on half-integers.

    Returns:
        The bounds, the strictly increasing mode edges and the released CDF.
    """
    coarse, fine = numeric_grids(bounds=bounds, integer=integer)
    raw = gaussian_counts(_histogram(values, coarse), sigma=sigma, rng=rng)
    fine_raw = gaussian_counts(_histogram(values, fine), sigma=sigma, rng=rng)
    noisy = np.where(raw > _noise_floor(sigma, len(raw)), raw, 0.0)
    if not noisy.any():
        # Nothing stands above the noise: keep the loudest bin (post-processing, still DP).
        noisy[int(np.argmax(raw))] = 1.0
    if bounds is None and sigma is not None:
        # Two noise standard deviations above the largest expected noise: P(any pure-noise bin
        # passes) < 2.5e-5 for the log grid's 113 bins.
        noisy = _bulk(noisy, strict=_noise_floor(sigma, len(raw)) + 2 * sigma)
    nonzero = np.flatnonzero(noisy)
    if bounds is None:
        low, high = float(coarse[nonzero[0]]), float(coarse[nonzero[-1] + 1])
    else:
        # The declared bounds, or for integers the half-integers around them.
        low, high = float(coarse[0]), float(coarse[-1])
    masses = _fine_masses(coarse, fine, noisy, fine_raw)
    unique = _mode_edges(fine, masses, low=low, high=high, n_modes=n_modes, integer=integer)
    inside = (fine >= low) & (fine <= high)
    knots = np.clip(fine[inside], low, high)
    zero = np.flatnonzero(knots == 0.0)
    if not integer and zero.size and zero[0] + 1 < len(knots):
        # Exact zeros are common (zero-inflated amounts) and 0 is an edge of the log grid: the
        # fine bin [0, 3e-4) is released as the point 0, so a spike there decodes to 0 exactly.
        knots[zero[0] + 1] = 0.0
    cum = np.concatenate([[0.0], np.cumsum(masses)])[inside]
    cum = (cum - cum[0]) / max(cum[-1] - cum[0], 1e-300)
    return NumericSummary(
        low=low,
        high=unique[-1],
        edges=tuple(unique),
        cdf=(tuple(float(x) for x in knots), tuple(float(p) for p in cum)),
    )


def uniform_numeric_summary(*, bounds: tuple[float, float], n_modes: int) -> NumericSummary:
    """Equal-width modes over declared bounds: data-independent, costs no ε."""
    edges = np.linspace(bounds[0], bounds[1], n_modes + 1)
    return NumericSummary(
        low=float(bounds[0]), high=float(bounds[1]), edges=tuple(float(e) for e in edges)
    )


def stability_threshold(*, sigma: float, delta: float) -> float:
    """Release threshold τ of the stability histogram: a count of 1 passes w.p. ≤ δ."""
    return 1.0 + sigma * NormalDist().inv_cdf(1.0 - delta)


def dp_discover_categories(
    values: list[str],
    *,
    sigma: float | None,
    delta: float | None,
    rng: np.random.Generator,
) -> CategoryCounts:
    """Stability histogram over observed values: a DP category set with noisy counts.

    Args:
        values: The column's non-missing values as strings.
        sigma: Gaussian noise of each count; None means exact (non-private) counts and no
            threshold.
        delta: Probability that a value held by one row is released (required with ``sigma``).
        rng: Noise source.

    Returns:
        Released categories, sorted for a deterministic model layout, with their noisy counts.
    """
    observed, counts = np.unique(np.asarray(values, dtype=object), return_counts=True)
    noisy = gaussian_counts(counts.astype(np.int64), sigma=sigma, rng=rng)
    if sigma is None:
        keep = noisy > 0
    else:
        if delta is None:
            raise ValueError("the stability histogram needs a delta")
        keep = noisy > stability_threshold(sigma=sigma, delta=delta)
    cats = tuple(str(c) for c in observed[keep])
    return CategoryCounts(categories=cats, counts=tuple(float(c) for c in noisy[keep]))


def dp_public_counts(
    codes: npt.NDArray[np.int64],
    *,
    n_categories: int,
    sigma: float | None,
    rng: np.random.Generator,
) -> FloatArray:
    """Gaussian counts over a public domain of ``n_categories`` codes (no threshold)."""
    counts = np.bincount(codes, minlength=n_categories).astype(np.int64)
    return np.maximum(gaussian_counts(counts, sigma=sigma, rng=rng), 0.0)
