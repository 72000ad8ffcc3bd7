"""Differentially private statistics for the data transformer.

Every statistic here is a noisy histogram under add/remove-one-row neighbours. A row falls in at
most one bin of each column's histogram, so the ``d`` column histograms of one table, taken
together, have L2 sensitivity ``√d``. They are released at once by the Gaussian mechanism with
the same noise ``sigma`` on every count: ``rho = d / (2·sigma²)`` zCDP, i.e. Rényi DP
``alpha·d / (2·sigma²)`` at every order alpha. That release is composed with DP-SGD in one
accountant (see :mod:`.dp_training`), so its cost grows with ``√d`` rather than with ``d`` as a
per-column ε split would. Everything derived from a noisy histogram (bounds, quantile "modes",
sampling frequencies) is post-processing and costs nothing more.

* Numeric columns: one histogram on a DATA-INDEPENDENT grid (uniform inside declared bounds,
  otherwise a symmetric log grid from 1e-2 to 1e12). Bins whose noisy count is below the noise
  level are zeroed; the outermost surviving bins give the DP bounds and the noisy CDF gives the
  quantile edges of the modes (our DP stand-in for CTGAN's Bayesian GMM, which is not DP).
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


@dataclass(frozen=True)
class NumericSummary:
    """Bounds and mode edges of one numeric column (``edges[0] == low``, ``edges[-1] == high``)."""

    low: float
    high: float
    edges: tuple[float, ...]


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


def _bulk(counts: FloatArray, max_gap: int = 2) -> FloatArray:
    # Pure-noise bins that pass the floor are isolated; the data's bulk is a run of bins around
    # the loudest one. Keep that run (gaps of up to `max_gap` empty bins allowed).
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
    out = np.zeros_like(counts)
    out[lo : hi + 1] = counts[lo : hi + 1]
    return out


def _quantiles(edges: FloatArray, counts: FloatArray, probs: FloatArray) -> FloatArray:
    cdf = np.concatenate([[0.0], np.cumsum(counts)])
    cdf = cdf / cdf[-1]
    # np.interp needs strictly increasing x; flat stretches (empty bins) carry no mass.
    keep = np.concatenate([[True], np.diff(cdf) > 0])
    return np.asarray(np.interp(probs, cdf[keep], edges[keep]), dtype=np.float64)


def dp_numeric_summary(
    values: FloatArray,
    *,
    bounds: tuple[float, float] | None,
    n_modes: int,
    sigma: float | None,
    rng: np.random.Generator,
) -> NumericSummary:
    """DP bounds (unless declared) and quantile mode edges from one noisy histogram.

    Args:
        values: Non-missing values of the column.
        bounds: Declared public bounds, or None to estimate them under DP.
        n_modes: Number of quantile modes wanted (fewer come back when quantiles coincide).
        sigma: Gaussian noise of each count; None means exact (non-private) statistics.
        rng: Noise source.

    Returns:
        The bounds and the strictly increasing mode edges.
    """
    if bounds is not None:
        grid = np.linspace(bounds[0], bounds[1], UNIFORM_GRID_BINS + 1)
    else:
        grid = LOG_GRID
    clipped = np.clip(values, grid[0], grid[-1])
    idx = np.clip(np.searchsorted(grid, clipped, side="right") - 1, 0, len(grid) - 2)
    raw = gaussian_counts(np.bincount(idx, minlength=len(grid) - 1), sigma=sigma, rng=rng)
    noisy = np.where(raw > _noise_floor(sigma, len(raw)), raw, 0.0)
    if not noisy.any():
        # Nothing stands above the noise: keep the loudest bin (post-processing, still DP).
        noisy[int(np.argmax(raw))] = 1.0
    if bounds is None and sigma is not None:
        noisy = _bulk(noisy)
    nonzero = np.flatnonzero(noisy)
    if bounds is None:
        low, high = float(grid[nonzero[0]]), float(grid[nonzero[-1] + 1])
    else:
        low, high = float(bounds[0]), float(bounds[1])
    probs = np.linspace(0.0, 1.0, n_modes + 1)
    edges = np.clip(_quantiles(grid, noisy, probs), low, high)
    edges[0], edges[-1] = low, high
    unique = [float(edges[0])]
    min_width = (high - low) * 1e-9
    for e in edges[1:]:
        if e - unique[-1] > min_width:
            unique.append(float(e))
    if len(unique) == 1:
        unique.append(high if high > low else low + 1.0)
    unique[-1] = max(unique[-1], high)
    return NumericSummary(low=low, high=unique[-1], edges=tuple(unique))


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
