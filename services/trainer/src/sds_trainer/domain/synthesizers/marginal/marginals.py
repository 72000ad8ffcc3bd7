"""Exact marginals of cliques that no clique of the junction tree holds.

On a calibrated junction tree, any connected set of its cliques gives the joint of their
attributes: ``P = μ_root · Π_{C ≠ root} μ_C / μ_{S(C)}``, with ``S(C)`` the separator towards
the root. For a clique ``c`` spread over several tree cliques, the smallest subtree holding all
of ``c``'s attributes is collected towards a root, summing out every attribute that is neither in
``c`` nor in the separator a message crosses. AIM scores every candidate marginal this way each
round (the candidates the tree holds are plain sums of one clique's table).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from sds_trainer.domain.synthesizers.marginal.graphical_model import (
    FloatArray,
    GraphicalModel,
    reduce_axes,
)
from sds_trainer.domain.synthesizers.marginal.junction_tree import Clique


class MarginalOracle:
    """Marginal counts of arbitrary small cliques under one calibrated model."""

    def __init__(self, model: GraphicalModel, beliefs: Sequence[FloatArray]) -> None:
        self.model = model
        self.tree = model.tree
        self.beliefs = list(beliefs)
        k = len(self.tree.cliques)
        self.neighbours: list[list[int]] = [[] for _ in range(k)]
        for i, p in enumerate(self.tree.parent):
            if p >= 0:
                self.neighbours[i].append(p)
                self.neighbours[p].append(i)
        self.holders: dict[int, list[int]] = {}
        for i, clique in enumerate(self.tree.cliques):
            for a in clique:
                self.holders.setdefault(a, []).append(i)
        self._conditionals: dict[tuple[int, int], FloatArray] = {}

    def _conditional(self, node: int, towards: int) -> FloatArray:
        """``μ_node / μ_S`` with ``S`` the separator between ``node`` and ``towards``."""
        key = (node, towards)
        if key not in self._conditionals:
            clique = self.tree.cliques[node]
            sep = tuple(a for a in clique if a in set(self.tree.cliques[towards]))
            table = self.beliefs[node]
            shape = tuple(self.model.sizes[a] if a in sep else 1 for a in clique)
            marginal = table.sum(axis=reduce_axes(clique, sep)).reshape(shape)
            self._conditionals[key] = np.divide(
                table, marginal, out=np.zeros_like(table), where=marginal > 0
            )
        return self._conditionals[key]

    def marginal(self, clique: Clique) -> FloatArray:
        """Counts over ``clique`` (row-major over its sorted attributes)."""
        clique = tuple(sorted(clique))
        root = self.holders[clique[0]][0]
        previous = {root: -1}
        queue = deque([root])
        order = []
        while queue:
            node = queue.popleft()
            order.append(node)
            for nxt in self.neighbours[node]:
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        depth = {node: i for i, node in enumerate(order)}
        keep: set[int] = {root}
        for a in clique[1:]:
            node = min(self.holders[a], key=depth.__getitem__)
            while node not in keep:
                keep.add(node)
                node = previous[node]
        wanted = set(clique)
        messages: dict[int, list[tuple[FloatArray, Clique]]] = {}
        for node in reversed(order):
            if node not in keep:
                continue
            own = self.tree.cliques[node]
            parent = previous[node]
            table = self.beliefs[node] if parent < 0 else self._conditional(node, parent)
            operands: list[tuple[FloatArray, Clique]] = [(table, own)]
            operands += messages.pop(node, [])
            present = set().union(*(set(axes) for _, axes in operands))
            if parent < 0:
                out = clique
            else:
                border = set(own) & set(self.tree.cliques[parent])
                out = tuple(sorted(present & (border | wanted)))
            result = _contract(operands, out)
            if parent < 0:
                return result * self.model.total
            messages.setdefault(parent, []).append((result, out))
        raise AssertionError("the collect pass always ends at the root")


def _contract(operands: list[tuple[FloatArray, Clique]], out: Clique) -> FloatArray:
    """Multiply factors over named attributes and sum every attribute not in ``out``."""
    labels: dict[int, int] = {}
    for _, axes in operands:
        for a in axes:
            labels.setdefault(a, len(labels))
    args: list[Any] = []
    for array, axes in operands:
        args += [array, [labels[a] for a in axes]]
    args.append([labels[a] for a in out])
    # The sublist form of einsum (arrays interleaved with axis labels) has no typed overload.
    einsum: Any = np.einsum
    return np.asarray(einsum(*args, optimize=len(operands) > 2), dtype=np.float64)
