"""The DP preprocessing of the marginal synthesizers: every column becomes a finite attribute.

Each data-dependent statistic is a Gaussian histogram (L2 sensitivity 1: a row adds one to one
bin) charged to the release's zCDP ledger with the same noise ``sigma``; the thresholded ones
(stability histograms) also carry a δ₀ share. Per column:

* categorical without declared categories: the stability histogram of
  :func:`..dp_preprocessing.dp_discover_categories` (values held by few rows stay unreleased and
  fall into the rare bucket). Declared categories and booleans cost nothing.
* numeric / datetime:
  1. bounds, unless declared: a histogram on the data-independent signed log grid
     (:data:`..dp_preprocessing.LOG_GRID`); the outermost bins whose noisy count clears
     ``sigma·Φ⁻¹(1 - 1%/bins)`` (a pure-noise bin does so with probability ≤ 1 %) give the bounds
     (on a small table, windows of adjacent bins pool their counts first). Values outside them
     are clipped.
  2. atoms (non-integer columns): a stability histogram over the exact values; values above its
     threshold are released as atoms (point masses such as the zeros of an amount column).
     Integer columns skip it: their fine cells hold whole values (see 3).
  3. fine shape: a histogram of the other values on a grid fixed by the bounds alone — one cell
     per integer for integer columns with a short range, else equal-width cells merged with the
     log grid's edges (resolution near zero for skewed columns), snapped between integers for
     integer columns.

  An integer column whose bounds hold at most :data:`MAX_INTEGER_CODES` integers keeps one bin
  per integer (a code or a small count: merging values would break exact relations, e.g. an
  education level and its number). Otherwise bins are formed by sweeping the items (cells and
  atoms) in value order, counting only cells whose noisy count clears ``2·sigma``: an item
  heavier than ``1/numeric_bins`` of the mass gets a bin of its own, and the rest of the mass is
  cut into equal-mass bins (never lighter than ``3·sigma``, below which a bin is mostly noise).

  Inside a bin, values are drawn in proportion to the cells' noisy counts clipped at 0 inside
  the bulk (cells above the bounds' threshold, and those between them) and, beyond it, to a
  non-increasing least-squares fit of them away from the bulk (pool-adjacent-violators): a real
  tail keeps its reach and low-count cells their support, while pure-noise cells pool to about
  zero, so an empty side or an offset column in wide DP bounds (e.g. epoch seconds) is not
  smeared over them.

Missing values get their own code when the column is nullable. The dataset size ``n`` is public,
as everywhere in this trainer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.base import PUBLIC_METADATA, ColumnSpec
from sds_trainer.domain.synthesizers.dp_preprocessing import (
    LOG_GRID,
    dp_discover_categories,
    gaussian_counts,
    stability_threshold,
)
from sds_trainer.domain.synthesizers.marginal.columns import (
    MISSING,
    RARE,
    CategoricalColumn,
    Column,
    FloatArray,
    NumericColumn,
)
from sds_trainer.domain.synthesizers.values import can_hold_missing, numeric_values

#: Integer columns whose bounded range holds at most this many integers get one cell each.
MAX_EXACT_INTEGERS = 256
#: ... and at most this many, one code each: such a column is a code, a rating or a small count,
#: and merging its values into bins would lose exact relations (a level and its number).
MAX_INTEGER_CODES = 32
#: Equal-width cells of the fine grid (before merging with the log grid's edges).
FINE_CELLS = 128
_BOUNDS_FALSE_BIN = 0.01
_MAX_WINDOW = 16

#: ``charge(column, statistic, thresholded)``: charges one histogram to the ledger.
ChargeFn = Callable[[str, str, bool], None]


@dataclass(frozen=True)
class HistogramPlan:
    """How many Gaussian histograms the preprocessing will release, and how many thresholded."""

    histograms: int
    thresholded: int


@dataclass(frozen=True)
class PublicStep:
    """A statistic covered by declared metadata (no ε)."""

    column: str
    statistic: str
    coverage: str = PUBLIC_METADATA


def plan_histograms(specs: Sequence[ColumnSpec]) -> HistogramPlan:
    """Count the histograms :func:`fit_columns` releases for ``specs``."""
    histograms = thresholded = 0
    for spec in specs:
        if spec.kind in ("numeric", "datetime"):
            atoms = _wants_atoms(spec)
            histograms += 1 + int(spec.bounds is None) + int(atoms)
            thresholded += int(atoms)
        elif spec.kind == "categorical" and spec.categories is None:
            histograms += 1
            thresholded += 1
    return HistogramPlan(histograms=histograms, thresholded=thresholded)


def fit_columns(
    data: pd.DataFrame,
    specs: Sequence[ColumnSpec],
    *,
    sigma: float,
    threshold_delta: float,
    numeric_bins: int,
    rng: np.random.Generator,
    charge: ChargeFn,
) -> tuple[list[Column], list[PublicStep]]:
    """Fit every column's attribute under DP.

    Args:
        data: The table.
        specs: Specs of the modelled columns.
        sigma: Gaussian noise of every count.
        threshold_delta: δ₀ of each thresholded histogram.
        numeric_bins: Target number of bins of a numeric column.
        rng: Noise source.
        charge: Called once per released histogram, before it is computed.

    Returns:
        The columns in ``specs`` order and the statistics covered by declared metadata.
    """
    columns: list[Column] = []
    public: list[PublicStep] = []
    for spec in specs:
        series = data[spec.name]
        missing = spec.nullable and can_hold_missing(series.dtype)
        if spec.kind in ("numeric", "datetime"):
            if spec.bounds is not None:
                public.append(PublicStep(spec.name, "bounds"))
            columns.append(
                _fit_numeric(
                    spec,
                    series,
                    missing=missing,
                    sigma=sigma,
                    threshold_delta=threshold_delta,
                    numeric_bins=numeric_bins,
                    rng=rng,
                    charge=charge,
                )
            )
            continue
        if spec.kind == "boolean":
            cats = ["False", "True"]
            public.append(PublicStep(spec.name, "categories", PUBLIC_METADATA + " (boolean)"))
        elif spec.categories is not None:
            cats = [*spec.categories, RARE]
            public.append(PublicStep(spec.name, "categories"))
        else:
            charge(spec.name, "categories", True)
            present = series[~series.isna().to_numpy()].astype(str).tolist()
            found = dp_discover_categories(present, sigma=sigma, delta=threshold_delta, rng=rng)
            cats = [*found.categories, RARE]
        columns.append(
            CategoricalColumn(
                name=spec.name,
                kind=spec.kind,
                categories=cats + ([MISSING] if missing else []),
                dtype=str(series.dtype),
            )
        )
    return columns, public


def _wants_atoms(spec: ColumnSpec) -> bool:
    # Integer columns need no atom search: their fine cells hold whole values, and the log
    # grid's edges at 0 and 0.01 snap to a cell holding 0 alone.
    return not (spec.integer and spec.kind == "numeric")


def _dp_bounds(
    values: FloatArray, *, sigma: float, rng: np.random.Generator
) -> tuple[float, float]:
    bins = len(LOG_GRID) - 1
    clipped = np.clip(values, LOG_GRID[0], LOG_GRID[-1])
    idx = np.clip(np.searchsorted(LOG_GRID, clipped, side="right") - 1, 0, bins - 1)
    noisy = gaussian_counts(np.bincount(idx, minlength=bins), sigma=sigma, rng=rng)
    z = NormalDist().inv_cdf(1.0 - _BOUNDS_FALSE_BIN / bins)
    # Post-processing only: when no single bin clears the noise (a small table), windows of 2,
    # 4, ... adjacent bins pool their mass (the noise of a sum grows with the root of its size).
    width = 1
    while True:
        sums = np.convolve(noisy, np.ones(width), mode="valid")
        kept = np.flatnonzero(sums > z * sigma * math.sqrt(width))
        if kept.size or width >= _MAX_WINDOW:
            break
        width *= 2
    if kept.size == 0:
        kept = np.asarray([int(np.argmax(sums))])
    return float(LOG_GRID[kept[0]]), float(LOG_GRID[kept[-1] + width])


def _fine_edges(low: float, high: float, *, integer: bool) -> FloatArray:
    if integer:
        first, last = math.ceil(low), math.floor(high)
        if last < first:  # no integer inside: one cell around the nearest one
            first = last = round((low + high) / 2)
        if last - first + 1 <= MAX_EXACT_INTEGERS:
            return np.arange(first - 0.5, last + 1.0, 1.0)
    inner = LOG_GRID[(low < LOG_GRID) & (high > LOG_GRID)]
    edges = np.unique(np.concatenate([np.linspace(low, high, FINE_CELLS + 1), inner]))
    if integer:
        # Cell boundaries between integers, so that every cell holds at least one integer.
        snapped = np.ceil(edges[1:-1]) - 0.5
        ends = [math.ceil(low) - 0.5, math.floor(high) + 0.5]
        edges = np.unique(np.concatenate([[ends[0]], snapped, [ends[1]]]))
        edges = edges[(edges >= ends[0]) & (edges <= ends[1])]
    return np.asarray(edges, dtype=np.float64)


def _dp_atoms(
    values: FloatArray, *, sigma: float, delta: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    observed, counts = np.unique(values, return_counts=True)
    noisy = gaussian_counts(counts.astype(np.int64), sigma=sigma, rng=rng)
    keep = noisy > stability_threshold(sigma=sigma, delta=delta)
    return observed[keep].astype(np.float64), noisy[keep]


def _fit_numeric(
    spec: ColumnSpec,
    series: pd.Series[Any],
    *,
    missing: bool,
    sigma: float,
    threshold_delta: float,
    numeric_bins: int,
    rng: np.random.Generator,
    charge: ChargeFn,
) -> NumericColumn:
    values = numeric_values(series, spec.kind)
    present = values[~np.isnan(values)]
    if spec.bounds is not None:
        low, high = spec.bounds
    else:
        charge(spec.name, "bounds", False)
        low, high = _dp_bounds(present, sigma=sigma, rng=rng)
    integer = spec.integer and spec.kind == "numeric"
    edges = _fine_edges(low, high, integer=integer)
    if _wants_atoms(spec):
        charge(spec.name, "atoms", True)
        atoms, atom_weights = _dp_atoms(present, sigma=sigma, delta=threshold_delta, rng=rng)
    else:
        atoms, atom_weights = np.zeros(0), np.zeros(0)
    charge(spec.name, "shape", False)
    rest = present[~np.isin(present, atoms)]
    clipped = np.clip(rest, edges[0], edges[-1])
    idx = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, len(edges) - 2)
    noisy = gaussian_counts(np.bincount(idx, minlength=len(edges) - 1), sigma=sigma, rng=rng)
    clear = np.where(noisy > 2.0 * sigma, noisy, 0.0)
    # Bins follow the cells that stand clear of the noise; values inside a bin follow the
    # cells' noisy counts inside the bulk (cells a pure-noise cell clears with probability
    # ≤ 1 % over the whole grid, and all between them) and, outside it, a fit of them that
    # falls away from the bulk: a real tail keeps its mass and reach, while pure-noise cells
    # (an empty side, or an offset column inside wide DP bounds) pool to about zero.
    strict = sigma * NormalDist().inv_cdf(1.0 - _BOUNDS_FALSE_BIN / len(noisy))
    weights = _tail_fit(noisy, np.flatnonzero(noisy > strict))
    if integer and len(edges) - 1 <= MAX_INTEGER_CODES:
        fine_bins, atom_bins, n_bins = list(range(len(edges) - 1)), list[int](), len(edges) - 1
    else:
        fine_bins, atom_bins, n_bins = _sweep_bins(
            edges,
            clear,
            atoms,
            np.maximum(atom_weights, 0.0),
            numeric_bins=numeric_bins,
            min_mass=3.0 * sigma,
        )
    return NumericColumn(
        name=spec.name,
        kind=spec.kind,
        integer=integer,
        missing=missing,
        dtype=str(series.dtype),
        fine_edges=[float(e) for e in edges],
        fine_weights=[float(w) for w in weights],
        fine_bins=fine_bins,
        atoms=[float(a) for a in atoms],
        atom_weights=[float(max(w, 0.0)) for w in atom_weights],
        atom_bins=atom_bins,
        n_bins=n_bins,
    )


def _tail_fit(noisy: FloatArray, strong: npt.NDArray[np.int64]) -> FloatArray:
    """Noisy counts clipped at 0 inside the bulk, non-increasing away from it outside.

    Post-processing of the noisy histogram. With no ``strong`` cell, every count is clipped.
    """
    out = np.maximum(noisy, 0.0)
    if strong.size == 0:
        return out
    first, last = int(strong[0]), int(strong[-1])
    out[:first] = np.maximum(_decreasing(noisy[:first][::-1])[::-1], 0.0)
    out[last + 1 :] = np.maximum(_decreasing(noisy[last + 1 :]), 0.0)
    return out


def _decreasing(values: FloatArray) -> FloatArray:
    """The least-squares non-increasing fit (pool-adjacent-violators)."""
    means: list[float] = []
    sizes: list[int] = []
    for v in values:
        means.append(float(v))
        sizes.append(1)
        while len(means) > 1 and means[-2] < means[-1]:
            size = sizes[-2] + sizes[-1]
            means[-2] = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / size
            sizes[-2] = size
            means.pop()
            sizes.pop()
    return np.repeat(np.asarray(means, dtype=np.float64), sizes)


def _sweep_bins(
    edges: FloatArray,
    fine_weights: FloatArray,
    atoms: FloatArray,
    atom_weights: FloatArray,
    *,
    numeric_bins: int,
    min_mass: float,
) -> tuple[list[int], list[int], int]:
    """Bins of the items in value order (see the module docstring)."""
    # Items: (position, is_atom, index, weight); an atom sorts after the cell it lies in.
    items = [(float(edges[i]), 0, i, float(w)) for i, w in enumerate(fine_weights)]
    items += [
        (float(a), 1, j, float(w)) for j, (a, w) in enumerate(zip(atoms, atom_weights, strict=True))
    ]
    items.sort(key=lambda t: (t[0], t[1]))
    total = sum(t[3] for t in items)
    heavy_cut = total / numeric_bins if total > 0 else math.inf
    heavy = [t for t in items if t[3] >= heavy_cut]
    light_mass = total - sum(t[3] for t in heavy)
    light_bins = max(numeric_bins - len(heavy), 1)
    target = max(light_mass / light_bins, min_mass)
    fine_bins = [0] * len(fine_weights)
    atom_bins = [0] * len(atoms)
    masses, heavies = [0.0], [False]
    for _, is_atom, index, weight in items:
        if weight >= heavy_cut:
            if masses[-1] > 0 or heavies[-1]:
                masses.append(0.0)
                heavies.append(False)
            heavies[-1] = True
        elif (heavies[-1] or masses[-1] >= target) and weight > 0:
            masses.append(0.0)
            heavies.append(False)
        masses[-1] += weight
        (atom_bins if is_atom else fine_bins)[index] = len(masses) - 1
    last = len(masses) - 1
    if last >= 1 and not heavies[last] and not heavies[last - 1] and masses[last] < target / 2:
        # A light tail bin joins its light neighbour rather than stand mostly as noise.
        fine_bins = [b if b < last else last - 1 for b in fine_bins]
        atom_bins = [b if b < last else last - 1 for b in atom_bins]
        last -= 1
    return fine_bins, atom_bins, last + 1
