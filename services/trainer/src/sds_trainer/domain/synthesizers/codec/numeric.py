"""A numeric or datetime column's released domain: a tree of DP histograms, read as leaves.

Values are handled in *units* of the column's grid (``x / unit``): the step its format records
(integers: 1, cents: 0.01, multiples of 5: 5), a datetime's granularity (86,400 s for dates,
3,600 s on the hour), else ``10^-decimals``; a column without any (binary floats) has unit 1 and
no grid. On a grid every value is a whole number of units, and so is every synthetic value.

The release (every histogram Gaussian, L2 sensitivity 1, charged before it is drawn):

1. level 0: a histogram on a data-independent partition — the signed log grid (quarter decades,
   1e-2 to 1e15) or, when bounds are declared, equal cells of the declared range joined with the
   log grid's edges inside it. The bins that clear the noise (Bonferroni over the bins, a false
   bin with probability ≤ 1 %; pooled windows on small tables) around the loudest one, and far
   runs only when they clear a level noise does not reach, are the support
   (:func:`.mechanisms.support`); the other bins' counts are set to 0. A declared range
   (public: a value inside it is one the column may hold) is the released range: every cell
   keeps its count clipped at 0 and no end is cut below, so the tails reach the bounds as the
   data's do (SDMetrics bins a pair's numbers on each table's own range: a released range that
   stops short of the data's shifts every bin); the price is the clipped noise of the cells the
   data leaves empty (0.4 deviations each on average).
2. levels 1..L: the populated nodes cut into children level by level, one histogram a level,
   and the two ends of the support closed in on the data (:mod:`.tree`).
3. atoms, for columns without a grid: a stability histogram over exact values; the values it
   releases (zeros of an amount, a constant, a cap) decode exactly.

Decoding draws a leaf in proportion to its DP weight, then a value uniformly inside it — a whole
number of units on a grid — so no value leaves the released range. Everything after the
histograms is post-processing. The number of histograms per column is fixed by the spec before
any data is read (:func:`histograms`), so the noise never depends on the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.codec.mechanisms import (
    LOG_GRID,
    FloatArray,
    IntArray,
    NoiseLevels,
    gaussian_counts,
    histogram,
    stability_histogram,
    support,
)
from sds_trainer.domain.synthesizers.codec.tree import (
    END_FALSE_RATE,
    Node,
    leaves,
    refine,
    restore_mass,
    tails,
)
from sds_trainer.domain.synthesizers.codec.values import numeric_values, typed_series

#: Refinement levels under level 0: four take a quarter decade to 1/4,096 of its width (whole
#: values up to about 2,500: years), five take epoch days to whole days and epoch hours to ~7 h.
LEVELS = {"numeric": 4, "datetime": 5}
#: Equal cells of a declared range at level 0 (joined with the log grid's edges inside it).
DECLARED_CELLS = 64
#: Probability that pure noise passes for data, per test family (hull, children).
FALSE_RATE = 0.01
#: The false rate of level 0's edge cells (over all cells; see :func:`.mechanisms.support`).
EDGE_RATE = 1e-4

ChargeFn = Any  # ``charge(statistic, thresholded)`` — see :mod:`.table`


@dataclass
class NumericDomain:
    """The released domain of one numeric/datetime column (see the module docstring).

    Attributes:
        edges: Contiguous leaves, in units; ``edges[0]``/``edges[-1]`` is the released range.
        weights: DP weight (≥ 0) of each leaf; the first and the last are positive, except at
            the ends of a declared range, which is released whole.
        atoms: Values (in units) released as point masses; sorted.
        atom_weights: DP weight of each atom.
        missing_weight: DP count of missing values (0 when the column cannot be missing).
        found: Some part of the range stood clear of the noise; False: nothing did (a small
            table at a small ε), and the released range is a guess the report warns about.
    """

    name: str
    kind: str
    dtype: str
    unit: float
    grid: bool
    decimals: int | None
    missing: bool
    edges: list[float]
    weights: list[float]
    atoms: list[float]
    atom_weights: list[float]
    missing_weight: float = 0.0
    found: bool = True

    @property
    def low(self) -> float:
        """Lower end of the released range (units)."""
        return self.edges[0]

    @property
    def high(self) -> float:
        """Upper end of the released range (units)."""
        return self.edges[-1]

    def units_of(self, series: pd.Series[Any]) -> FloatArray:
        """The column's values in units (NaN: missing); whole numbers on a grid."""
        units = numeric_values(series, self.kind) / self.unit
        return np.round(units) if self.grid else units

    def typed(self, units: FloatArray) -> pd.Series[Any]:
        """Units (NaN: missing) back to the column's dtype, grid and decimals."""
        return typed_series(
            units, kind=self.kind, unit=self.unit, dtype=self.dtype, decimals=self.decimals
        )

    def leaf_of(self, units: FloatArray) -> IntArray:
        """The leaf holding each value (values outside the range: the nearest end leaf)."""
        edges = np.asarray(self.edges)
        idx = np.searchsorted(edges, np.clip(units, edges[0], edges[-1]), side="right") - 1
        return np.clip(idx, 0, len(edges) - 2).astype(np.int64)

    def atom_of(self, units: FloatArray) -> IntArray:
        """Index of the atom equal to each value, -1 where none."""
        out = np.full(len(units), -1, dtype=np.int64)
        if self.atoms:
            atoms = np.asarray(self.atoms)
            pos = np.clip(np.searchsorted(atoms, units), 0, len(atoms) - 1)
            hit = atoms[pos] == units
            out[hit] = pos[hit]
        return out

    def draw(self, leaves: IntArray, u: FloatArray) -> FloatArray:
        """A value at relative position ``u`` ∈ [0, 1) inside each leaf (whole units on a grid)."""
        edges = np.asarray(self.edges)
        low, high = edges[leaves], edges[leaves + 1]
        if not self.grid:
            return np.asarray(low + u * (high - low), dtype=np.float64)
        first, count = _whole_units(low, high)
        return np.asarray(first + np.minimum(np.floor(u * count), count - 1), dtype=np.float64)

    def items(self) -> tuple[FloatArray, FloatArray, IntArray]:
        """Leaves and atoms in value order: ``(position, weight, id)``; ids ≥ 0 are leaves, an
        atom ``j`` is ``-1 - j``. An atom sorts after the leaf it lies in."""
        pos = np.concatenate([np.asarray(self.edges[:-1]), np.asarray(self.atoms)])
        weight = np.concatenate([np.asarray(self.weights), np.asarray(self.atom_weights)])
        ids = np.concatenate([np.arange(len(self.weights)), -1 - np.arange(len(self.atoms))])
        order = np.lexsort((ids < 0, pos))
        return pos[order], np.maximum(weight[order], 0.0), ids[order].astype(np.int64)

    def quantile(self, p: FloatArray) -> FloatArray:
        """The released distribution's generalised inverse at ``p`` ∈ [0, 1) (units).

        Inside a leaf the position is linear in ``p``; on a grid it lands on whole units.
        """
        _, weight, ids = self.items()
        cum = np.concatenate([[0.0], np.cumsum(weight)])
        total = cum[-1]
        if total <= 0:
            weight = np.ones_like(weight)
            cum, total = np.concatenate([[0.0], np.cumsum(weight)]), float(len(weight))
        target = np.clip(np.asarray(p, dtype=np.float64), 0.0, np.nextafter(1.0, 0.0)) * total
        k = np.clip(np.searchsorted(cum, target, side="right") - 1, 0, len(ids) - 1)
        inside = np.where(
            weight[k] > 0, (target - cum[k]) / np.where(weight[k] > 0, weight[k], 1), 0.5
        )
        out = np.empty(len(target))
        leaf = ids[k] >= 0
        out[leaf] = self.draw(ids[k][leaf], np.clip(inside[leaf], 0.0, np.nextafter(1.0, 0.0)))
        out[~leaf] = np.asarray(self.atoms)[-1 - ids[k][~leaf]] if self.atoms else 0.0
        return out

    def snap(self, units: FloatArray) -> FloatArray:
        """Values brought into the released range and, on a grid, to the nearest whole unit
        that the leaf holding them allows."""
        clipped = np.clip(units, self.low, self.high)
        if not self.grid:
            return np.asarray(clipped, dtype=np.float64)
        edges = np.asarray(self.edges)
        leaves = self.leaf_of(clipped)
        first, count = _whole_units(edges[leaves], edges[leaves + 1])
        return np.asarray(np.clip(np.round(clipped), first, first + count - 1), dtype=np.float64)

    def to_state(self) -> dict[str, Any]:
        """Plain-python state."""
        return {"type": "numeric", **self.__dict__}


def _whole_units(low: FloatArray, high: FloatArray) -> tuple[FloatArray, FloatArray]:
    # Leaves on a grid are cut between whole units (at .5), so [low, high) holds the integers
    # ceil(low) .. ceil(high) - 1; a leaf narrower than a unit holds the nearest one.
    first = np.ceil(low)
    last = np.ceil(high) - 1
    first = np.where(last < first, np.round((low + high) / 2), first)
    count = np.maximum(last - first + 1, 1)
    return first, count


def histograms(*, kind: str, atoms: bool) -> int:
    """Histograms :func:`fit_numeric` releases for a column (level 0, refinements, atoms)."""
    return 1 + LEVELS.get(kind, LEVELS["numeric"]) + int(atoms)


@dataclass(frozen=True)
class Released:
    """What :func:`fit_numeric` releases (see :class:`NumericDomain`)."""

    edges: list[float]
    weights: list[float]
    atoms: list[float]
    atom_weights: list[float]
    missing_weight: float
    found: bool


def root_edges(
    bounds: tuple[float, float] | None, *, grid: bool, limit: float | None = None
) -> FloatArray:
    """Level 0's data-independent partition (units): the log grid, or the declared range.

    ``limit``: the largest magnitude a value may take (a datetime's representable range, in
    units); the log grid stops there, so no release can reach past it.
    """
    if bounds is None:
        edges = LOG_GRID
        if limit is not None:
            edges = np.union1d(edges[np.abs(edges) < limit], [-limit, limit])
    else:
        low, high = bounds
        inner = LOG_GRID[(low < LOG_GRID) & (high > LOG_GRID)]
        edges = np.union1d(np.linspace(low, high, DECLARED_CELLS + 1), inner)
    return _snap_edges(edges) if grid else np.asarray(edges, dtype=np.float64)


def _snap_edges(edges: FloatArray) -> FloatArray:
    # Edges between whole units (k + 0.5), outer ones outwards, so every bin holds whole units.
    snapped = np.floor(edges) + 0.5
    snapped[0] = np.ceil(edges[0]) - 0.5
    snapped[-1] = np.floor(edges[-1]) + 0.5
    return np.unique(snapped)


def fit_numeric(
    units: FloatArray,
    *,
    kind: str,
    bounds: tuple[float, float] | None,
    grid: bool,
    atoms: bool,
    rows: int,
    missing: int | None,
    noise: NoiseLevels | None,
    threshold_delta: float | None,
    rng: Any,
    charge: ChargeFn,
    limit: float | None = None,
) -> Released:
    """Release the domain of one column's present values (in units).

    Args:
        units: The non-missing values, in units (whole numbers on a grid).
        kind: ``"numeric"`` or ``"datetime"`` (sets the number of levels).
        bounds: Declared public bounds in units, or None.
        grid: Values are whole units.
        atoms: Release exact values held by many rows (columns without a grid).
        rows: The table's number of rows (public).
        missing: The number of missing rows when the column may be missing (released in
            level 0's histogram), else None.
        noise: Noise of the atoms' (discovery) and the tree's (shape) histograms; None: exact
            statistics (no DP asked).
        threshold_delta: δ₀ of the atoms' stability histogram.
        rng: Noise source.
        charge: ``charge(statistic, thresholded)``, called once before each histogram.
        limit: The largest magnitude a value may take, in units (see :func:`root_edges`).

    Returns:
        The fields of a :class:`NumericDomain`.
    """
    found_atoms: list[float] = []
    atom_weights: list[float] = []
    rest = units
    sigma = noise.shape if noise is not None else None
    if atoms:
        charge("atoms", True)
        released = stability_histogram(
            [repr(float(v)) for v in units],
            sigma=noise.discovery if noise is not None else None,
            delta=threshold_delta,
            rng=rng,
        )
        pairs = sorted((float(k), c) for k, c in zip(released.keys, released.counts, strict=True))
        found_atoms = [a for a, _ in pairs]
        atom_weights = [max(c, 0.0) for _, c in pairs]
        rest = units[~np.isin(units, np.asarray(found_atoms))]
    charge("range" if bounds is None else "shape (level 0)", False)
    root = root_edges(bounds, grid=grid, limit=limit)
    # A missing value is one more bin of the same histogram (a row falls in exactly one), so its
    # count is released at no extra cost: dp-ctgan calibrates its missing share to it.
    counts = histogram(rest, root)
    if missing is not None:
        counts = np.concatenate([counts, [missing]])
    noisy = gaussian_counts(counts, sigma=sigma, rng=rng)
    missing_weight = max(float(noisy[-1]), 0.0) if missing is not None else 0.0
    noisy = noisy[: len(root) - 1]
    declared = bounds is not None
    # Inside a declared range (public: a value inside it is one the column may hold) the bulk
    # grows over adjacent cells that stand about two deviations clear (a false edge stays
    # inside the bounds), where an undeclared range needs far stricter evidence.
    if declared:
        # The owner declared the range public: it is the released range (a value inside it is
        # one the column may hold), so no end is searched for or cut, and every cell keeps its
        # count clipped at 0 (the tails reach the bounds as the data's do; a cell the data
        # leaves empty keeps its clipped noise, 0.4 deviations on average).
        kept, found = np.maximum(noisy, 0.0), True
        first, last = 0, len(noisy) - 1
    else:
        kept, found = support(noisy, sigma=sigma, false_rate=FALSE_RATE, edge_rate=EDGE_RATE)
        live = np.flatnonzero(kept)
        first, last = (int(live[0]), int(live[-1])) if live.size else (0, 0)
    nodes = [
        Node(float(root[i]), float(root[i + 1]), float(kept[i])) for i in range(first, last + 1)
    ]
    if sigma is not None and found and not declared:
        expected = rows - missing_weight - float(sum(atom_weights))
        nodes = tails(nodes, noisy, root, (first, last), expected=expected, sigma=sigma, grid=grid)
    for level in range(1, LEVELS.get(kind, LEVELS["numeric"]) + 1):
        charge(f"shape (level {level})", False)
        nodes = refine(
            nodes,
            rest,
            grid=grid,
            sigma=sigma,
            rng=rng,
            end_rate=0.0 if declared else END_FALSE_RATE,
        )
    # The declared range is the released range: an end cell whose noisy count fell to 0 stays,
    # with weight 0, so the model still has a code (or bin) reaching the bound and its own
    # measurements decide that end's mass (a 43-row value at the bottom of a 26,000-row census
    # column dropped out of the domain in about a third of the fits when ends were trimmed).
    edges, weights = leaves(nodes, trim=not declared)
    # Rows of bins left out at level 0 (too faint to tell from noise) are encoded into the
    # nearest leaf: the leaves carry what the atoms and the missing count leave of the public n.
    weights = restore_mass(edges, weights, rows - missing_weight - float(sum(atom_weights)))
    if found_atoms and found_atoms[0] < edges[0]:
        # An atom beyond the leaves widens the range by a leaf of weight 0: only itself is drawn.
        edges, weights = [found_atoms[0], *edges], [0.0, *weights]
    if found_atoms and found_atoms[-1] >= edges[-1]:
        edges, weights = [*edges, float(np.nextafter(found_atoms[-1], math.inf))], [*weights, 0.0]
    return Released(edges, weights, found_atoms, atom_weights, missing_weight, found)
