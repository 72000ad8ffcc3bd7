"""The refinement tree under a numeric column's level-0 histogram (see :mod:`.numeric`).

Levels 1..L: every node of the previous level that holds more than ``2·sigma`` is cut into
:data:`FANOUT` equal children (on a grid, cut between whole units), and all children of a level
form one histogram (sensitivity 1: the children are disjoint). A node whose children hold a clear
count is replaced by them (their counts made consistent with the parent's by least squares);
other nodes stay leaves, and a node whose children are all faint is not cut again.

The two ends of the support are cut at every level whatever their count: where some child stands
clear of the noise (:data:`END_FALSE_RATE`, Bonferroni over the children), the children beyond
the data's outer edge are cut away, the edge read from the outside in (the first outer run of
children whose pooled count stands clear, :func:`.edges.outer_edge`, never beyond the outermost
clear child), so the released range closes in on the data and stays inside it with high
probability, however coarse the grid above, while a thinning tail keeps the part that still holds
rows. An end with no sure child is fitted to grow inwards (pool adjacent violators; where one node
holds the whole column, to rise to one mode and fall from it) and the blocks of equal fit beyond
the outermost clear one are cut (:func:`.edges.clear_blocks`); with no clear block either, it is
packed against its inner neighbour at that neighbour's density (:func:`_packed`), or, holding the
whole column, stays one leaf. Thin tails that level 0 left out are packed beyond its ends
(:func:`tails`).

Everything here is post-processing of the released histograms, except the one histogram per level
that :func:`refine` draws (charged by the caller before each call).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sds_trainer.domain.synthesizers.codec.edges import clear_blocks, outer_edge
from sds_trainer.domain.synthesizers.codec.mechanisms import (
    FloatArray,
    clear_level,
    gaussian_counts,
    histogram,
)

#: Children per refined node. Small, so that a node's children still hold a clear count where
#: the data thins out (an edge is found level by level, not in one jump); more levels instead,
#: which are cheap (a shape histogram costs a quarter of a discovery one, see ``NoiseLevels``).
FANOUT = 8
#: A node is cut into children only where they say more than noise: an average child count of
#: this many noise deviations, or one child standing clear (a spike, an edge).
INFORMATIVE = 3.0
#: The same at the two ends of the support, tested again at every level: stricter, since a
#: false end reaches past the data.
END_FALSE_RATE = 1e-5
#: How many deviations of its own noise a block of children must stand above 0 to be kept, where
#: one node holds the whole column and no child is sure (see :func:`.edges.clear_blocks`): the first
#: level where any block does, else the second (a third, at 2.0, cut bell-shaped columns of a
#: 2,344-row table that a node kept whole covers inside the data).
END_BLOCK_Z = (3.0, 2.5)
#: The same at a single end (one node of several): a block beyond a sharp edge is pure noise,
#: and one kept puts its count past the data.
SINGLE_END_Z = 3.5
#: A leaf this many times denser than the median leaf (and holding a tenth of the mass) is a
#: spike: the mass of cut faint regions is not restored to it (see :func:`restore_mass`).
SPIKE_DENSITY = 10.0


@dataclass
class Node:
    """A node of the tree: a half-open interval in units and its DP count."""

    low: float
    high: float
    count: float
    #: Not refined again: its children were released and none stood clear of the noise.
    final: bool = False
    #: A thin tail packed beyond level 0's support: the node it leans on stays the end.
    tail: bool = False


def _children(node: Node, *, grid: bool) -> FloatArray:
    edges = np.linspace(node.low, node.high, FANOUT + 1)
    if grid:
        inner = np.floor(edges[1:-1]) + 0.5
        edges = np.unique(np.concatenate([[node.low], inner, [node.high]]))
        edges = edges[(edges >= node.low) & (edges <= node.high)]
    return np.asarray(edges, dtype=np.float64)


def refine(
    nodes: list[Node],
    values: FloatArray,
    *,
    grid: bool,
    sigma: float | None,
    rng: Any,
    end_rate: float = 1e-5,
) -> list[Node]:
    """One level: cut populated nodes into children, release their counts, keep what is clear.

    ``end_rate``: the false rate of an end's children (see :func:`_split`).
    """
    # Ends that an earlier level found empty drop out, so the next nodes in are the ends (a
    # tail packed beyond level 0's support is not one: the node it leans on is). A declared
    # range (``end_rate`` 0) is released whole: its empty ends stay, with weight 0.
    live = [i for i, nd in enumerate(nodes) if nd.count > 0]
    if live and end_rate > 0.0:
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
    out: list[Node] = []
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
        inner: list[Node] = []
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
    node: Node,
    edges: FloatArray,
    child: FloatArray,
    *,
    first: bool,
    last: bool,
    sigma: float | None,
    density: float | None,
    end_rate: float = 1e-5,
    grid: bool = False,
) -> list[Node]:
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
        return _faint_end(
            node,
            edges,
            child,
            adjusted,
            first=first,
            last=last,
            sigma=sigma,
            density=density,
            grid=grid,
        )
    low = outer_edge(child, sigma=sigma, limit=int(sure[0])) if first else 0
    high = (
        k - 1 - outer_edge(child[::-1], sigma=sigma, limit=k - 1 - int(sure[-1])) if last else k - 1
    )
    if sure.size == 0 and float(child.mean()) < INFORMATIVE * sigma:
        # Children this faint would only trade the node's even spread for noise: it stays a
        # leaf (a child holding a spike would have been sure).
        return [replace(node, final=True)]
    # The faint children beyond the data's outer edge (see .edges.outer_edge) are cut away: mostly
    # noise, and their few real rows are encoded into the next child in (the column's mass is
    # restored in proportion at the end, see fit_numeric).
    return _nodes(edges, adjusted, low, high)


def _faint_end(
    node: Node,
    edges: FloatArray,
    child: FloatArray,
    adjusted: FloatArray,
    *,
    first: bool,
    last: bool,
    sigma: float,
    density: float | None,
    grid: bool,
) -> list[Node]:
    """An end node none of whose children stands clear on its own."""
    # Blocks of children fitted to grow inwards (where the node holds the whole column: to rise
    # to one mode and fall from it); those beyond the outermost clear one are cut. A node that
    # stayed whole spread the column over all its width (a year column of a 2,344-row table
    # over 1951-2124 where the data ends at 2010); an end packed at a density guessed from its
    # neighbour put 17 % of a 5,000-row day column past the data. The second, lower level only
    # for the whole column: at a single end it let pure noise pass beyond sharp edges.
    for z in END_BLOCK_Z if first == last else (SINGLE_END_Z,):
        kept = clear_blocks(child, sigma=sigma, z=z, first=first, last=last)
        if kept is not None:
            return _nodes(edges, adjusted, *kept)
    if first == last or density is None or density <= 0:
        return [replace(node, final=True)]
    # No block clear either: its mass is packed against the next node inwards (how far it
    # reaches, read off that node's density).
    return [_packed(node, first=first, sigma=sigma, density=density, grid=grid)]


def _nodes(edges: FloatArray, counts: FloatArray, low: int, high: int) -> list[Node]:
    return [
        Node(float(edges[j]), float(edges[j + 1]), float(counts[j])) for j in range(low, high + 1)
    ]


def _density(nodes: list[Node], sigma: float) -> float:
    """Rows per unit next to an end, erring high: the densest of ``nodes``, its count two noise
    deviations up."""
    return max((n.count + 2.0 * sigma) / (n.high - n.low) for n in nodes if n.high > n.low)


def _packed(node: Node, *, first: bool, sigma: float, density: float, grid: bool) -> Node:
    """An end node with no sure child: its mass packed at the density of the nodes next to it
    (inwards), against them, as wide as that mass needs, never wider than the node. The mass
    is taken two noise deviations down, so a noisy guess pulls the range in rather than past
    the data, and a pure-noise end carries next to nothing (the column's mass is restored to
    its other leaves, see fit_numeric). On a grid the extent is whole units (the node's edges
    lie between units, so its packed part does too and holds at least one of them)."""
    mass = max(node.count - 2.0 * sigma, 0.0)
    extent = min(_extent(mass / density, grid=grid), node.high - node.low)
    if first:
        return Node(node.high - extent, node.high, mass, final=True)
    return Node(node.low, node.low + extent, mass, final=True)


def _extent(width: float, *, grid: bool) -> float:
    # On a grid a packed part is a whole number of units (at least one): its edges stay between
    # units, where a leaf narrower than a unit would decode outside itself.
    return float(max(math.ceil(width - 1e-9), 1)) if grid else width


def tails(
    nodes: list[Node],
    noisy: FloatArray,
    root: FloatArray,
    span: tuple[int, int],
    *,
    expected: float,
    sigma: float,
    grid: bool,
) -> list[Node]:
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
            out.insert(0, Node(end.low - extent, end.low, share, final=True, tail=True))
        else:
            room = float(root[min(last + 4, len(root) - 1)]) - end.high
            extent = min(_extent(share / density, grid=grid), room)
            out.append(Node(end.high, end.high + extent, share, final=True, tail=True))
    return out


def restore_mass(edges: list[float], weights: list[float], expected: float) -> list[float]:
    """Leaf weights carrying ``expected`` rows in all.

    Mass missing from the leaves is that of faint regions cut away, whose rows are encoded into
    the nearest leaves: it goes to the leaves that are not spikes, in proportion. A spike (the
    zeros of an amount) holds at least a tenth of the mass at :data:`SPIKE_DENSITY` times the
    median leaf's density or more, and is exactly measured where it is; on a column of a few
    even leaves, each holding more than a tenth, none is one. Excess mass is scaled off all.
    """
    total = sum(weights)
    if expected <= 0 or total <= 0:
        return weights
    if expected < total:
        return [w * expected / total for w in weights]
    density = np.asarray(weights) / np.maximum(np.diff(np.asarray(edges)), 1e-300)
    typical = float(np.median(density[np.asarray(weights) > 0]))
    spread = [
        0.0 if w >= 0.1 * total and d >= SPIKE_DENSITY * typical else w
        for w, d in zip(weights, density, strict=True)
    ]
    if sum(spread) <= 0:
        spread = weights
    extra = (expected - total) / sum(spread)
    return [w + s * extra for w, s in zip(weights, spread, strict=True)]


def leaves(nodes: list[Node], *, trim: bool = True) -> tuple[list[float], list[float]]:
    """Contiguous leaves (a gap between nodes becomes a leaf of weight 0), trimmed so that the
    first and the last leaf carry weight; not trimmed (``trim`` False) for a declared range,
    which is released whole."""
    live = [i for i, nd in enumerate(nodes) if nd.count > 0]
    if not live:  # nothing positive: the loudest node stands for the column
        loudest = int(np.argmax([nd.count for nd in nodes]))
        nodes = [Node(nodes[loudest].low, nodes[loudest].high, 1.0)]
        live = [0]
    kept = nodes[live[0] : live[-1] + 1] if trim else nodes
    edges = [kept[0].low]
    weights: list[float] = []
    for node, after in itertools.zip_longest(kept, kept[1:]):
        edges.append(node.high)
        weights.append(max(node.count, 0.0))
        if after is not None and after.low > node.high:
            edges.append(after.low)
            weights.append(0.0)
    return edges, weights
