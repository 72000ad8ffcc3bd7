"""A competent discretisation for the marginal-based peers (smartnoise MST/AIM), done in the worker.

smartnoise's own default for a numeric column is ``BinTransformer(bins=10)`` between power-of-2
DP bounds: ten equal bins between 0 and 131,072 put every capital-gain of UCI Adult in the first
bin, and the column comes back in [0, 13,107] uniformly (SDMetrics 0.08). Our synthesizers do
better than that, so a fair comparison gives the peer the same care, in the worker, and passes
every column to smartnoise as categorical codes:

* bounds: the declared public bounds (no ε), else :func:`dp_bounds` (a noisy log-bucket
  histogram, pure ε-DP, charged to the run's ε: the worker subtracts it from smartnoise's ε);
* an integer column whose bounds hold at most ``max_codes`` integers: one code per integer;
* otherwise bins: 0 gets a code of its own when it is inside the bounds (a dominant value of
  counts and amounts: capital-gain is 0 in 92% of Adult's rows); a column whose range spans
  more than :data:`SKEW_RATIO` times its smallest positive scale gets log-spaced bins merged with
  linear ones (fine where skewed mass is, still even across the range); else linear bins;
* a missing value is a code of its own;
* :meth:`Plan.decode` maps codes back: an integer code to its integer, a bin to a value drawn
  uniformly inside it (rounded for integer columns), never outside the bounds.

Every choice depends only on the bounds, the column's integer-ness and the settings, never on the
rows; the only data-dependent step is :func:`dp_bounds`, whose ε the caller charges. Pure numpy and
pandas: it runs in the peer's venv and in ours (the unit tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Code of a missing value.
MISSING = -1
#: Above this ratio of the upper bound to the smallest positive scale, bins are also log-spaced.
SKEW_RATIO = 32.0
MAX_CODES = 100
BINS = 16
#: Signed log buckets of :func:`dp_bounds`: ±[2^k, 2^(k+1)) for k in [MIN_EXP, MAX_EXP), and one
#: bucket for |x| < 2^MIN_EXP.
MIN_EXP, MAX_EXP = -10, 64
#: Probability that some empty bucket passes :func:`dp_bounds`'s threshold.
BOUNDS_BETA = 1e-3


@dataclass(frozen=True)
class Plan:
    """How one numeric column becomes codes and back.

    Attributes:
        low: lower bound (values below are clipped to it).
        high: upper bound (values above are clipped to it).
        integer: the column holds integers (decoded values are rounded).
        edges: bin edges, increasing; empty in one-code-per-integer mode.
        specials: values with a code of their own before the bins (e.g. 0).
    """

    low: float
    high: float
    integer: bool
    edges: tuple[float, ...] = ()
    specials: tuple[float, ...] = ()

    @property
    def per_integer(self) -> bool:
        """One code per integer of [low, high]."""
        return not self.edges

    @property
    def codes(self) -> int:
        """Number of value codes (the missing code not counted)."""
        if self.per_integer:
            return int(self.high - self.low) + 1
        return len(self.specials) + len(self.edges) - 1

    def encode(self, values: pd.Series) -> pd.Series:
        """Codes of ``values`` (floats, NaN for missing), clipped to the bounds first."""
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        missing = np.isnan(numbers)
        clipped = np.clip(np.where(missing, self.low, numbers), self.low, self.high)
        if self.per_integer:
            codes = np.rint(clipped - self.low).astype(np.int64)
        else:
            inner = np.asarray(self.edges[1:-1], dtype=np.float64)
            codes = len(self.specials) + np.searchsorted(inner, clipped, side="right")
            for index, special in enumerate(self.specials):
                codes = np.where(clipped == special, index, codes)
        return pd.Series(np.where(missing, MISSING, codes), index=values.index, dtype="int64")

    def decode(self, codes: pd.Series, rng: np.random.Generator) -> pd.Series:
        """Values for ``codes``: exact integers, specials, or a uniform draw inside the bin."""
        raw = pd.to_numeric(codes, errors="coerce").fillna(MISSING).astype(np.int64).to_numpy()
        out = np.full(len(raw), np.nan)
        present = raw != MISSING
        if self.per_integer:
            out[present] = self.low + np.clip(raw[present], 0, self.codes - 1)
            return pd.Series(out, index=codes.index)
        code = np.clip(raw, 0, self.codes - 1)
        specials = np.asarray(self.specials, dtype=np.float64)
        is_special = present & (code < len(specials))
        out[is_special] = specials[code[is_special]]
        binned = present & ~is_special
        edges = np.asarray(self.edges, dtype=np.float64)
        left, right = edges[code[binned] - len(specials)], edges[code[binned] - len(specials) + 1]
        drawn = rng.uniform(left, right)
        if self.integer:
            # The integers of [left, right); a bin too narrow to hold one keeps its nearest.
            first, last = np.ceil(left), np.ceil(right) - 1
            drawn = np.where(first <= last, np.clip(np.rint(drawn), first, last), np.rint(left))
        out[binned] = np.clip(drawn, self.low, self.high)
        return pd.Series(out, index=codes.index)


def plan(
    *, low: float, high: float, integer: bool, max_codes: int = MAX_CODES, bins: int = BINS
) -> Plan:
    """The discretisation of a column with bounds [low, high] (see the module's rules).

    Raises:
        ValueError: bounds that are not finite with low <= high.
    """
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(f"bounds must be finite with low <= high, not [{low}, {high}]")
    if integer:
        low, high = float(math.ceil(low)), float(math.floor(high))
        high = max(high, low)
        if high - low + 1 <= max_codes:
            return Plan(low=low, high=high, integer=True)
    if low == high:
        return Plan(low=low, high=high, integer=integer)  # constant: one code
    specials = (0.0,) if low <= 0.0 <= high else ()
    edges = _edges(low=low, high=high, integer=integer, bins=bins, zero_apart=bool(specials))
    return Plan(low=low, high=high, integer=integer, edges=edges, specials=specials)


def _edges(
    *, low: float, high: float, integer: bool, bins: int, zero_apart: bool
) -> tuple[float, ...]:
    if integer and zero_apart and low == 0.0:
        low = 1.0  # 0 has its own code: the bins hold 1..high
    linear = np.linspace(low, high, bins + 1)
    scale = 1.0 if integer else max((high - low) / 1e4, 1e-9)
    floor = max(low, scale)
    if low >= 0 and high / floor >= SKEW_RATIO:
        linear = np.union1d(linear, np.geomspace(floor, high, bins + 1))
    edges = np.unique(np.clip(linear, low, high))
    if integer:
        # Integer edges: bin [e, e') holds the integers e..e'-1, none is empty by construction.
        edges = np.unique(np.concatenate([np.ceil(edges[:-1]), [high + 1.0]]))
    return tuple(float(e) for e in edges)


def _bucket_edges() -> np.ndarray:
    positive = 2.0 ** np.arange(MIN_EXP, MAX_EXP + 1)
    return np.concatenate([-positive[::-1], positive])


def dp_bounds(
    values: pd.Series, *, epsilon: float, rng: np.random.Generator, integer: bool
) -> tuple[float, float]:
    """ε-DP bounds of ``values`` from a noisy signed log-bucket histogram (Laplace, scale 1/ε).

    Each row falls into one bucket, so adding or removing a row changes one count by 1 (L1
    sensitivity 1). The bounds are the outer edges of the lowest and highest buckets whose noisy
    count passes ln(B / β) / ε (B buckets, β = :data:`BOUNDS_BETA`): an empty bucket passes with
    probability at most β / 2 in all. Missing values are ignored.

    Raises:
        ValueError: ``epsilon`` not positive.
    """
    if not epsilon > 0:
        raise ValueError("epsilon must be positive")
    numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=np.float64)
    edges = _bucket_edges()
    # Bucket i is [edges[i-1], edges[i]); bucket 0 and the last are the open tails.
    counts = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1)
    noisy = counts + rng.laplace(scale=1.0 / epsilon, size=len(counts))
    threshold = math.log(len(counts) / BOUNDS_BETA) / epsilon
    passed = np.flatnonzero(noisy > threshold)
    if len(passed) == 0:
        return (0.0, 1.0)
    tails = np.concatenate([[-(2.0**MAX_EXP)], edges, [2.0**MAX_EXP]])
    low, high = float(tails[passed[0]]), float(tails[passed[-1] + 1])
    # The middle bucket holds |x| < 2^MIN_EXP: read it as 0 where it is the outermost bucket.
    middle = len(edges) // 2
    if passed[0] == middle:
        low = 0.0
    if passed[-1] == middle and passed[0] < middle:
        high = 0.0
    if high - low < 1.0 and passed[0] == passed[-1] == middle:
        high = low + 1.0
    if integer:
        low, high = float(math.floor(low)), float(math.ceil(high))
    return (low, high)
