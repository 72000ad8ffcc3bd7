"""Junction trees over the measured cliques: triangulation, tree layout, model size.

The model's graph joins every pair of attributes measured together. A greedy elimination order
(smallest clique table first, fewest fill-in edges on ties) triangulates it; the maximal
elimination cliques, joined by a maximum spanning tree on separator sizes, form the junction
tree on which :mod:`.graphical_model` runs belief propagation. The model's size is the number of
cells of its clique tables, the quantity AIM's model-size limit bounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Clique = tuple[int, ...]


def _bits(clique: Iterable[int]) -> int:
    out = 0
    for a in clique:
        out |= 1 << a
    return out


def _members(mask: int) -> Clique:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return tuple(out)


def maximal_cliques(sizes: Sequence[int], cliques: Iterable[Clique]) -> list[Clique]:
    """Maximal cliques of a triangulation of the graph joining each clique's attributes.

    Every attribute of ``sizes`` is covered (an unmeasured one forms a clique of its own).
    """
    n = len(sizes)
    logs = [math.log(max(s, 1)) for s in sizes]
    neighbours = [0] * n
    for clique in cliques:
        mask = _bits(clique)
        for a in clique:
            neighbours[a] |= mask & ~(1 << a)
    remaining = (1 << n) - 1
    found: list[int] = []
    while remaining:
        best: tuple[float, int, int] | None = None
        for v in _members(remaining):
            nbrs = neighbours[v] & remaining
            members = _members(nbrs)
            weight = logs[v] + sum(logs[u] for u in members)
            if best is not None and weight > best[0] + 1e-12:
                continue
            # Fill-in: pairs of neighbours not yet joined (each pair counted once).
            fill = sum((nbrs & ~neighbours[u] & ~((2 << u) - 1)).bit_count() for u in members)
            key = (weight, fill, v)
            if best is None or key < best:
                best = key
        assert best is not None
        v = best[2]
        nbrs = neighbours[v] & remaining
        for u in _members(nbrs):
            neighbours[u] |= nbrs & ~(1 << u)
        found.append(nbrs | (1 << v))
        remaining &= ~(1 << v)
    unique = sorted(set(found), key=lambda m: -m.bit_count())
    maximal: list[int] = []
    for mask in unique:
        if not any(mask & other == mask for other in maximal):
            maximal.append(mask)
    return sorted(_members(m) for m in maximal)


def model_size(sizes: Sequence[int], cliques: Iterable[Clique]) -> int:
    """Cells of the junction tree of ``cliques`` (the sum of its clique tables' sizes)."""
    return sum(math.prod(sizes[a] for a in c) for c in maximal_cliques(sizes, cliques))


@dataclass(frozen=True)
class JunctionTree:
    """Cliques (sorted attribute tuples) in a rooted order, each with its parent and separator.

    ``order[0]`` is a root; every clique appears after its parent. A forest is joined by empty
    separators, so one tree always covers every attribute.
    """

    cliques: tuple[Clique, ...]
    parent: tuple[int, ...]
    separator: tuple[Clique, ...]
    order: tuple[int, ...]

    def children(self, i: int) -> list[int]:
        """Cliques whose parent is ``i``."""
        return [j for j, p in enumerate(self.parent) if p == i]

    def home(self, clique: Iterable[int]) -> int | None:
        """Index of the smallest-table clique containing ``clique`` (None if none does)."""
        want = set(clique)
        best: tuple[int, int] | None = None
        for i, c in enumerate(self.cliques):
            if want <= set(c):
                key = (len(c), i)
                if best is None or key < best:
                    best = key
        return None if best is None else best[1]


def build_tree(sizes: Sequence[int], cliques: Iterable[Clique]) -> JunctionTree:
    """The junction tree of the triangulated graph of ``cliques`` (see the module)."""
    nodes = maximal_cliques(sizes, cliques)
    edges = sorted(
        (
            (-len(set(a) & set(b)), i, j)
            for i, a in enumerate(nodes)
            for j, b in enumerate(nodes)
            if i < j
        ),
    )
    group = list(range(len(nodes)))

    def find(x: int) -> int:
        while group[x] != x:
            group[x] = group[group[x]]
            x = group[x]
        return x

    adjacency: list[list[int]] = [[] for _ in nodes]
    for _, i, j in edges:
        ri, rj = find(i), find(j)
        if ri != rj:
            group[ri] = rj
            adjacency[i].append(j)
            adjacency[j].append(i)
    parent = [-1] * len(nodes)
    order: list[int] = []
    seen = [False] * len(nodes)
    for root in range(len(nodes)):
        if seen[root]:
            continue
        seen[root] = True
        queue = [root]
        while queue:
            i = queue.pop(0)
            order.append(i)
            for j in sorted(adjacency[i]):
                if not seen[j]:
                    seen[j] = True
                    parent[j] = i
                    queue.append(j)
    separator = tuple(
        tuple(sorted(set(nodes[i]) & set(nodes[p]))) if p >= 0 else () for i, p in enumerate(parent)
    )
    return JunctionTree(tuple(nodes), tuple(parent), separator, tuple(order))
