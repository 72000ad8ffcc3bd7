"""The DP mechanisms of the preprocessing: Gaussian histograms, with or without a threshold.

Every statistic the codec releases is a noisy histogram under add/remove-one-row neighbours: a
row adds one to at most one bin, so a histogram has L2 sensitivity 1 whatever its bins, and a
release of ``h`` histograms with the same noise ``sigma`` on every count has sensitivity ``√h``:
``rho = h / (2·sigma²)`` zCDP, Rényi DP ``alpha·h / (2·sigma²)`` at every order. Which bins a
histogram has may depend on earlier releases (the hierarchy of :mod:`.numeric` refines the bins
that an earlier level found populated): that is adaptive composition, and the plan still fixes the
NUMBER of histograms before any data is read, so the noise does not depend on the data.

Thresholded (stability) histograms count over the values observed (Korolova et al. 2009; Wilson
et al. 2020) and release only counts above ``τ = 1 + sigma·Φ⁻¹(1 - δ₀)``: a value held by one row
passes with probability at most δ₀; outside that event the release is the Gaussian mechanism on
the common keys, so the table's release is δ₀-approximate RDP (Bun & Steinke 2016), with δ₀ summed
over the thresholded histograms and added to the final δ.

Noise comes from numpy's PCG64. Floating-point Gaussian sampling is not hardened against
floating-point attacks (Mironov 2012; Jin et al. 2022): acceptable for a research-grade release,
noted. The generator must be seeded from OS entropy in production (see :func:`noise_source`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Positive edges of the signed log grid: quarter decades from 1e-2 to 1e12 (data-independent).
_LOG_EDGES_POS: FloatArray = 10.0 ** (np.arange(-8, 49) / 4.0)
LOG_GRID: FloatArray = np.concatenate([-_LOG_EDGES_POS[::-1], [0.0], _LOG_EDGES_POS])


#: Shape histograms (the numeric hierarchy, public-domain counts) carry this many times the noise
#: of the thresholded ones (categories, atoms, identifier shapes). A release threshold grows with
#: the noise, so discovery gets the larger share of the preprocessing budget: each shape
#: histogram costs ``1/ratio²`` of a discovery histogram.
SHAPE_NOISE_RATIO = 2.0


@dataclass(frozen=True)
class NoiseLevels:
    """The noise of the preprocessing's two kinds of histogram (see the module docstring).

    Together they are one Gaussian mechanism: a vector of counts with per-count noise
    ``sigma_i`` is, once each count is divided by its ``sigma_i``, the standard Gaussian
    mechanism of L2 sensitivity ``√(Σ 1/sigma_i²)``, so its zCDP is ``Σ 1/(2·sigma_i²)``.
    """

    discovery: float
    shape: float

    def sigma(self, *, thresholded: bool) -> float:
        """The noise of one histogram."""
        return self.discovery if thresholded else self.shape


def noise_levels(*, rho: float, histograms: int, thresholded: int) -> NoiseLevels:
    """Noise levels whose ``histograms`` histograms (``thresholded`` of them thresholded)
    cost exactly ``rho`` zCDP together."""
    units = thresholded + (histograms - thresholded) / SHAPE_NOISE_RATIO**2
    discovery = math.sqrt(units / (2.0 * rho))
    return NoiseLevels(discovery=discovery, shape=SHAPE_NOISE_RATIO * discovery)


#: A count that pure noise exceeds with probability 0.13 %: below it, a released count (a
#: missing share, what the released categories leave over) is taken for noise.
CLEAR = 3.0


def noise_source() -> np.random.Generator:
    """A noise generator seeded by the operating system's entropy, never by a request's seed.

    A noise stream that anyone can replay from a known seed could be subtracted from the
    released counts (and, in DP-SGD, from the gradients), voiding the guarantee.
    """
    return np.random.default_rng(np.random.SeedSequence())


def gaussian_counts(counts: IntArray, *, sigma: float | None, rng: Any) -> FloatArray:
    """Counts with N(0, sigma²) noise; exact counts when ``sigma`` is None (no DP asked)."""
    out = counts.astype(np.float64)
    if sigma is None:
        return out
    return np.asarray(out + rng.normal(scale=sigma, size=out.shape), dtype=np.float64)


def histogram(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts of ``values`` in the bins ``[edges[i], edges[i+1])`` (outside values clipped in)."""
    clipped = np.clip(values, edges[0], edges[-1])
    idx = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, len(edges) - 2)
    return np.bincount(idx, minlength=len(edges) - 1).astype(np.int64)


def stability_threshold(*, sigma: float, delta: float) -> float:
    """Release threshold τ of the stability histogram: a count of 1 passes w.p. ≤ δ."""
    return 1.0 + sigma * NormalDist().inv_cdf(1.0 - delta)


def clear_level(sigma: float | None, *, tests: int, false_rate: float) -> float:
    """The count that pure noise exceeds in any of ``tests`` bins with probability ``false_rate``.

    A one-sided Bonferroni bound: ``sigma·Φ⁻¹(1 - false_rate / tests)``; 0 without noise.
    """
    if sigma is None:
        return 0.0
    return sigma * NormalDist().inv_cdf(1.0 - false_rate / max(tests, 1))


@dataclass(frozen=True)
class Released:
    """Keys released by a stability histogram, with their noisy counts (key order), and the
    noisy counts of the public keys released beside them."""

    keys: tuple[str, ...]
    counts: tuple[float, ...]
    public: tuple[float, ...] = ()


def stability_histogram(
    keys: list[str],
    *,
    sigma: float | None,
    delta: float | None,
    rng: Any,
    public: tuple[int, ...] = (),
) -> Released:
    """The keys held by enough rows to be released, with noisy counts.

    Args:
        keys: One key per row (rows counted in ``public`` instead left out).
        sigma: Gaussian noise of each count; None: exact counts, every key released.
        delta: δ₀, the probability that a key held by one row is released (with ``sigma``).
        rng: Noise source.
        public: Counts of keys of a public domain (e.g. "missing") that the same rows fill
            instead of a key: one histogram with the keys (a row adds one to exactly one), so no
            extra cost; they are released without a threshold.
    """
    observed, counts = np.unique(np.asarray(keys, dtype=object), return_counts=True)
    everything = np.concatenate([counts, np.asarray(public, dtype=np.int64)]).astype(np.int64)
    noisy_all = gaussian_counts(everything, sigma=sigma, rng=rng)
    noisy, noisy_public = noisy_all[: len(counts)], noisy_all[len(counts) :]
    if sigma is None:
        keep = noisy > 0
    else:
        if delta is None:
            raise ValueError("a stability histogram needs a delta")
        keep = noisy > stability_threshold(sigma=sigma, delta=delta)
    return Released(
        keys=tuple(str(k) for k in observed[keep]),
        counts=tuple(float(c) for c in noisy[keep]),
        public=tuple(float(max(c, 0.0)) for c in noisy_public),
    )


def public_counts(codes: IntArray, *, n_codes: int, sigma: float | None, rng: Any) -> FloatArray:
    """Gaussian counts over a public domain of ``n_codes`` codes, clipped at 0 (no threshold)."""
    counts = np.bincount(codes, minlength=n_codes).astype(np.int64)
    return np.maximum(gaussian_counts(counts, sigma=sigma, rng=rng), 0.0)


def support(
    noisy: FloatArray,
    *,
    sigma: float | None,
    false_rate: float,
    edge_rate: float = 1e-4,
    far_rate: float = 1e-6,
) -> tuple[FloatArray, bool]:
    """The bins of a noisy histogram that hold the data (the others' counts set to 0), and
    whether any bin or window stood clear of the noise (False: the loudest window is a guess).

    The loudest bin must clear :func:`clear_level` (``false_rate`` over all bins); the bulk
    reaches from it to the outermost bins that clear a stricter level (``edge_rate``: a false
    bin beside the data would stretch the range over a whole empty bin) within the run of bins
    above two deviations around it, so a weak bin between strong ones stays in. Elsewhere, a run of
    adjacent bins above two deviations is kept when its pooled count clears a level pure noise
    does not reach (``far_rate``, times the root of its length): a zero-inflated column's tail
    lies decades away from its spike at 0, spread thin over several bins. On a small table no
    single bin may clear the first level: windows of 2, 4, ... 16 adjacent bins then pool their
    counts (the noise of a sum grows with the root of its size). Post-processing.
    """
    if sigma is None:
        return np.where(noisy > 0, noisy, 0.0), True
    bins = len(noisy)
    width = 1
    while width <= 16:
        sums = np.convolve(noisy, np.ones(width), mode="valid")
        level = clear_level(sigma, tests=bins, false_rate=false_rate) * math.sqrt(width)
        clear = np.flatnonzero(sums > level)
        if clear.size:
            break
        width *= 2
    else:  # nothing clears: the loudest widest window stands for the data (a guess)
        start = int(np.argmax(np.convolve(noisy, np.ones(16), mode="valid")))
        return _window(noisy, start, 16), False
    if width > 1:
        best = int(clear[np.argmax(sums[clear])])
        return _window(noisy, best, width), True
    strong = np.flatnonzero(noisy > clear_level(sigma, tests=bins, false_rate=edge_rate))
    far = clear_level(sigma, tests=bins, false_rate=far_rate)
    peak = int(np.argmax(noisy))
    out = np.zeros(bins)
    # The bulk: the run of bins above two deviations around the peak, from its first strong bin
    # to its last. A bin between two strong ones lies inside the data whatever its count (one
    # weak bin used to split the bulk, and the modal zero of a 3,500-row column was cut).
    low, high = peak, peak
    while low > 0 and noisy[low - 1] > 2.0 * sigma:
        low -= 1
    while high < bins - 1 and noisy[high + 1] > 2.0 * sigma:
        high += 1
    inside = strong[(strong >= low) & (strong <= high)]
    first, last = min(int(inside.min(initial=peak)), peak), max(int(inside.max(initial=peak)), peak)
    out[first : last + 1] = noisy[first : last + 1]
    # Away from the bulk, a run of bins each above two deviations whose pooled count clears
    # the far level (a tail spread thin over several bins passes together).
    candidates = np.flatnonzero(noisy > 2.0 * sigma)
    for run in np.split(candidates, np.flatnonzero(np.diff(candidates) > 1) + 1):
        if run.size and not out[run].any() and noisy[run].sum() > far * math.sqrt(run.size):
            out[run] = noisy[run]
    return out, True


def _window(noisy: FloatArray, start: int, width: int) -> FloatArray:
    out = np.zeros(len(noisy))
    out[start : start + width] = np.maximum(noisy[start : start + width], 0.0)
    if not out.any():
        out[start] = 1.0
    return out
