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
2. levels 1..L: every node of the previous level that holds more than ``2·sigma`` is cut into
   :data:`FANOUT` equal children (on a grid, cut between whole units), and all children of a
   level form one histogram. A node whose children hold a clear count is replaced by them (their
   counts made consistent with the parent's by least squares); other nodes stay leaves. At the
   two ends of the support, children are cut away up to the first prefix whose cumulative count
   clears the noise (its root grows with the prefix), and an end node whose children are all
   faint takes their counts fitted to grow inwards (pool-adjacent-violators: pure-noise children
   pool to about zero): the released range closes in on the data and stays inside it with high
   probability, however coarse the grid above. A node whose children are all faint is not cut
   again.
3. atoms, for columns without a grid: a stability histogram over exact values; the values it
   releases (zeros of an amount, a constant, a cap) decode exactly.

Decoding draws a leaf in proportion to its DP weight, then a value uniformly inside it — a whole
number of units on a grid — so no value leaves the released range. Everything after the
histograms is post-processing. The number of histograms per column is fixed by the spec before
any data is read (:func:`histograms`), so the noise never depends on the data.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.codec.mechanisms import (
    LOG_GRID,
    FloatArray,
    IntArray,
    NoiseLevels,
    clear_level,
    gaussian_counts,
    histogram,
    stability_histogram,
    support,
)
from sds_trainer.domain.synthesizers.codec.values import numeric_values, typed_series

#: Children per refined node. Small, so that a node's children still hold a clear count where
#: the data thins out (an edge is found level by level, not in one jump); more levels instead,
#: which are cheap (a shape histogram costs a quarter of a discovery one, see ``NoiseLevels``).
FANOUT = 8
#: Refinement levels under level 0: four take a quarter decade to 1/4,096 of its width (whole
#: values up to about 2,500: years), five take epoch days to whole days and epoch hours to ~7 h.
LEVELS = {"numeric": 4, "datetime": 5}
#: Equal cells of a declared range at level 0 (joined with the log grid's edges inside it).
DECLARED_CELLS = 64
#: Probability that pure noise passes for data, per test family (hull, children).
FALSE_RATE = 0.01
#: A node is cut into children only where they say more than noise: an average child count of
#: this many noise deviations, or one child standing clear (a spike, an edge).
INFORMATIVE = 3.0
#: The same at the two ends of the support, tested again at every level: stricter, since a
#: false end reaches past the data.
END_FALSE_RATE = 1e-5
#: The false rate of level 0's edge cells (over all cells; see :func:`.mechanisms.support`).
EDGE_RATE = 1e-4

ChargeFn = Any  # ``charge(statistic, thresholded)`` — see :mod:`.table`


@dataclass
class NumericDomain:
    """The released domain of one numeric/datetime column (see the module docstring).

    Attributes:
        edges: Contiguous leaves, in units; ``edges[0]``/``edges[-1]`` is the released range.
        weights: DP weight (≥ 0) of each leaf; the first and the last are positive.
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


@dataclass
class _Node:
    low: float
    high: float
    count: float
    #: Not refined again: its children were released and none stood clear of the noise.
    final: bool = False
    #: A thin tail packed beyond level 0's support: the node it leans on stays the end.
    tail: bool = False


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


def _children(node: _Node, *, grid: bool) -> FloatArray:
    edges = np.linspace(node.low, node.high, FANOUT + 1)
    if grid:
        inner = np.floor(edges[1:-1]) + 0.5
        edges = np.unique(np.concatenate([[node.low], inner, [node.high]]))
        edges = edges[(edges >= node.low) & (edges <= node.high)]
    return np.asarray(edges, dtype=np.float64)


def _refine(
    nodes: list[_Node],
    values: FloatArray,
    *,
    grid: bool,
    sigma: float | None,
    rng: Any,
    end_rate: float = 1e-5,
) -> list[_Node]:
    """One level: cut populated nodes into children, release their counts, keep what is clear.

    ``end_rate``: the false rate of an end's children (see :func:`_split`).
    """
    # Ends that an earlier level found empty drop out, so the next nodes in are the ends (a
    # tail packed beyond level 0's support is not one: the node it leans on is).
    live = [i for i, nd in enumerate(nodes) if nd.count > 0]
    if live:
        nodes = nodes[live[0] : live[-1] + 1]
    body = [i for i, nd in enumerate(nodes) if not nd.tail] or [0]
    first, last = body[0], body[-1]
    split_level = 0.0 if sigma is None else 2.0 * sigma
    # Populated nodes are cut; so are the two ends whatever their count: where the data stops
    # inside them is what keeps the released range inside the data's.
    cut = [
        i
        for i, nd in enumerate(nodes)
        if not nd.final
        and (nd.count > split_level or i in (first, last))
        and (not grid or nd.high - nd.low > 1.0 + 1e-9)
    ]
    pieces = [_children(nodes[i], grid=grid) for i in cut]
    # One histogram over every child of the level (sensitivity 1: the children are disjoint).
    counts = np.zeros(sum(len(p) - 1 for p in pieces), dtype=np.int64)
    offset = 0
    for edges in pieces:
        inside = values[(values >= edges[0]) & (values < edges[-1])]
        counts[offset : offset + len(edges) - 1] = histogram(inside, edges)
        offset += len(edges) - 1
    noisy = gaussian_counts(counts, sigma=sigma, rng=rng)
    out: list[_Node] = []
    by_node = dict(zip(cut, pieces, strict=True))
    offset = 0
    for i, node in enumerate(nodes):
        if i not in by_node:
            out.append(node)
            continue
        edges = by_node[i]
        k = len(edges) - 1
        child = noisy[offset : offset + k]
        offset += k
        inner: list[_Node] = []
        if last > first and i in (first, last):
            # The density next to an end: the node next to it inwards, and the one after when
            # there is one (the densest counts: a node the data only partly fills, such as
            # the other end, would say the data is thinner than it is).
            inner = nodes[i + 1 : i + 3] if i == first else nodes[max(i - 2, 0) : i]
        out += _split(
            node,
            edges,
            child,
            first=i == first,
            last=i == last,
            sigma=sigma,
            density=_density(inner, sigma) if inner and sigma is not None else None,
            end_rate=end_rate,
            grid=grid,
        )
    return out


def _split(
    node: _Node,
    edges: FloatArray,
    child: FloatArray,
    *,
    first: bool,
    last: bool,
    sigma: float | None,
    density: float | None,
    end_rate: float = 1e-5,
    grid: bool = False,
) -> list[_Node]:
    """What replaces one refined node: its children, or itself (see the module docstring).

    ``density`` is the rows per unit next to an end node, inwards (see :func:`_density`).
    """
    k = len(child)
    # Least squares over the two-level tree (equal noise on the parent and its children): each
    # child takes 1/(k+1) of the parent's disagreement with the children's sum.
    adjusted = child + (node.count - child.sum()) / (k + 1)
    if sigma is None:  # exact counts: the populated span
        populated = np.flatnonzero(child > 0)
        low = int(populated[0]) if first and populated.size else 0
        high = int(populated[-1]) if last and populated.size else k - 1
        return _nodes(edges, adjusted, low, high)
    if end_rate == 0.0:  # a declared range: no end to find
        first = last = False
    sure = np.flatnonzero(child > clear_level(sigma, tests=k, false_rate=max(end_rate, 1e-12)))
    if (first or last) and sure.size == 0:
        # No child of this end stands clear on its own: its mass is packed against the next
        # node inwards (how far it reaches, read off that node's density).
        if first == last or density is None or density <= 0:
            return [replace(node, final=True)]
        return [_packed(node, first=first, sigma=sigma, density=density, grid=grid)]
    low = int(sure[0]) if first else 0
    high = int(sure[-1]) if last else k - 1
    if sure.size == 0 and float(child.mean()) < INFORMATIVE * sigma:
        # Children this faint would only trade the node's even spread for noise: it stays a
        # leaf (a child holding a spike would have been sure).
        return [replace(node, final=True)]
    # The faint children beyond the outermost sure ones are cut away: mostly noise, and their
    # few real rows are encoded into the sure child (the column's mass is restored in
    # proportion at the end, see fit_numeric).
    return _nodes(edges, adjusted, low, high)


def _nodes(edges: FloatArray, counts: FloatArray, low: int, high: int) -> list[_Node]:
    return [
        _Node(float(edges[j]), float(edges[j + 1]), float(counts[j])) for j in range(low, high + 1)
    ]


def _density(nodes: list[_Node], sigma: float) -> float:
    """Rows per unit next to an end, erring high: the densest of ``nodes``, its count two noise
    deviations up."""
    return max((n.count + 2.0 * sigma) / (n.high - n.low) for n in nodes if n.high > n.low)


def _packed(node: _Node, *, first: bool, sigma: float, density: float, grid: bool) -> _Node:
    """An end node with no sure child: its mass packed at the density of the nodes next to it
    (inwards), against them, as wide as that mass needs, never wider than the node. The mass
    is taken two noise deviations down, so a noisy guess pulls the range in rather than past
    the data, and a pure-noise end carries next to nothing (the column's mass is restored to
    its other leaves, see fit_numeric). On a grid the extent is whole units (the node's edges
    lie between units, so its packed part does too and holds at least one of them)."""
    mass = max(node.count - 2.0 * sigma, 0.0)
    extent = min(_extent(mass / density, grid=grid), node.high - node.low)
    if first:
        return _Node(node.high - extent, node.high, mass, final=True)
    return _Node(node.low, node.low + extent, mass, final=True)


def _extent(width: float, *, grid: bool) -> float:
    # On a grid a packed part is a whole number of units (at least one): its edges stay between
    # units, where a leaf narrower than a unit would decode outside itself.
    return float(max(math.ceil(width - 1e-9), 1)) if grid else width


def _tails(
    nodes: list[_Node],
    noisy: FloatArray,
    root: FloatArray,
    span: tuple[int, int],
    *,
    expected: float,
    sigma: float,
    grid: bool,
) -> list[_Node]:
    """Level 0's support plus the thin tails it left out, packed beyond its ends.

    The rows outside the support are what its bins leave of the public count (``expected``,
    noise ``sigma·√bins``); they are split between the two sides by the three bins just
    outside each, and each side's share, two noise allowances down, is packed against the end
    bin at that bin's density (erring high), never wider than those three bins: a thinning
    tail keeps part of its reach, a sharp edge (nothing outside but noise) gets none.
    """
    first, last = span
    # Every bin from the first kept to the last counts as inside (faint bins in a gap too):
    # only what lies beyond the two ends is a tail.
    inside = float(noisy[first : last + 1].sum())
    outside = expected - inside
    if outside <= 3.0 * sigma * math.sqrt(len(nodes)):
        return nodes
    # A side's evidence counts only where it stands clear of the noise of three bins.
    allowance = 3.0 * sigma * math.sqrt(3.0)
    left = float(noisy[max(first - 3, 0) : first].sum())
    right = float(noisy[last + 1 : last + 4].sum())
    left, right = (v if v > allowance else 0.0 for v in (left, right))
    if left + right <= 0:
        return nodes
    out = list(nodes)
    for side, evidence in (("left", left), ("right", right)):
        share = outside * evidence / (left + right) - 2.0 * sigma * math.sqrt(3.0)
        end = out[0] if side == "left" else out[-1]
        density = (end.count + 2.0 * sigma) / (end.high - end.low)
        if share <= 0 or density <= 0:
            continue
        if side == "left":
            room = end.low - float(root[max(first - 3, 0)])
            extent = min(_extent(share / density, grid=grid), room)
            out.insert(0, _Node(end.low - extent, end.low, share, final=True, tail=True))
        else:
            room = float(root[min(last + 4, len(root) - 1)]) - end.high
            extent = min(_extent(share / density, grid=grid), room)
            out.append(_Node(end.high, end.high + extent, share, final=True, tail=True))
    return out


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
        _Node(float(root[i]), float(root[i + 1]), float(kept[i])) for i in range(first, last + 1)
    ]
    if sigma is not None and found and not declared:
        expected = rows - missing_weight - float(sum(atom_weights))
        nodes = _tails(nodes, noisy, root, (first, last), expected=expected, sigma=sigma, grid=grid)
    for level in range(1, LEVELS.get(kind, LEVELS["numeric"]) + 1):
        charge(f"shape (level {level})", False)
        nodes = _refine(
            nodes,
            rest,
            grid=grid,
            sigma=sigma,
            rng=rng,
            end_rate=0.0 if declared else END_FALSE_RATE,
        )
    edges, weights = _leaves(nodes)
    # Rows of bins left out at level 0 (too faint to tell from noise) are encoded into the
    # nearest leaf: the leaves carry what the atoms and the missing count leave of the public n.
    weights = _restore_mass(weights, rows - missing_weight - float(sum(atom_weights)))
    if found_atoms and found_atoms[0] < edges[0]:
        # An atom beyond the leaves widens the range by a leaf of weight 0: only itself is drawn.
        edges, weights = [found_atoms[0], *edges], [0.0, *weights]
    if found_atoms and found_atoms[-1] >= edges[-1]:
        edges, weights = [*edges, float(np.nextafter(found_atoms[-1], math.inf))], [*weights, 0.0]
    return Released(edges, weights, found_atoms, atom_weights, missing_weight, found)


def _restore_mass(weights: list[float], expected: float) -> list[float]:
    """Leaf weights carrying ``expected`` rows in all.

    Mass missing from the leaves is that of faint regions cut away, whose rows are encoded into
    the nearest leaves: it goes to the leaves that are not spikes (a spike, at least a tenth of
    the mass, is exactly measured where it is), in proportion. Excess mass is scaled off all.
    """
    total = sum(weights)
    if expected <= 0 or total <= 0:
        return weights
    if expected < total:
        return [w * expected / total for w in weights]
    spread = [w if w < 0.1 * total else 0.0 for w in weights]
    if sum(spread) <= 0:
        spread = weights
    extra = (expected - total) / sum(spread)
    return [w + s * extra for w, s in zip(weights, spread, strict=True)]


def _leaves(nodes: list[_Node]) -> tuple[list[float], list[float]]:
    """Contiguous leaves (a gap between nodes becomes a leaf of weight 0), trimmed so that the
    first and the last leaf carry weight."""
    live = [i for i, nd in enumerate(nodes) if nd.count > 0]
    if not live:  # nothing positive: the loudest node stands for the column
        loudest = int(np.argmax([nd.count for nd in nodes]))
        nodes = [_Node(nodes[loudest].low, nodes[loudest].high, 1.0)]
        live = [0]
    kept = nodes[live[0] : live[-1] + 1]
    edges = [kept[0].low]
    weights: list[float] = []
    for node, after in itertools.zip_longest(kept, kept[1:]):
        edges.append(node.high)
        weights.append(max(node.count, 0.0))
        if after is not None and after.low > node.high:
            edges.append(after.low)
            weights.append(0.0)
    return edges, weights
