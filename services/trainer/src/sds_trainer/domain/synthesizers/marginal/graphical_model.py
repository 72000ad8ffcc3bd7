"""The graphical model of Private-PGM: a log-linear distribution over the measured cliques.

``log p(x) = Σ_c θ_c(x_c) - log Z``, one factor ``θ_c`` per measured clique ``c`` (arrays whose
axes follow ``c``'s sorted attributes). Inference is sum-product belief propagation in log space
on the junction tree of the factors' cliques (:mod:`.junction_tree`): one upward and one
downward pass calibrate every clique's belief, whose exponentials times the (public) row count
are the model's marginal counts. Rows are drawn i.i.d. from the model by forward sampling along
the tree: the root clique's joint, then each clique's new attributes given its separator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sds_trainer.domain.synthesizers.marginal.junction_tree import Clique, JunctionTree, build_tree

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def expand_shape(sub: Clique, full: Clique, sizes: Sequence[int]) -> tuple[int, ...]:
    """Shape that broadcasts an array over ``sub`` against one over ``full`` (``sub ⊆ full``)."""
    keep = set(sub)
    return tuple(sizes[a] if a in keep else 1 for a in full)


def reduce_axes(full: Clique, sub: Iterable[int]) -> tuple[int, ...]:
    """Axes of an array over ``full`` that are not in ``sub``."""
    keep = set(sub)
    return tuple(i for i, a in enumerate(full) if a not in keep)


@dataclass(frozen=True)
class _Layout:
    """Per-tree constants of belief propagation (computed once per tree)."""

    tree: JunctionTree
    children: tuple[tuple[int, ...], ...]
    to_separator: tuple[tuple[int, ...], ...]  # axes of clique i summed out towards its parent
    separator_shape: tuple[tuple[int, ...], ...]  # separator of i broadcast in clique i
    parent_shape: tuple[tuple[int, ...], ...]  # separator of i broadcast in its parent
    from_parent: tuple[tuple[int, ...], ...]  # axes of the parent summed out towards i


def _layout(tree: JunctionTree, sizes: Sequence[int]) -> _Layout:
    k = len(tree.cliques)
    children = tuple(tuple(tree.children(i)) for i in range(k))
    to_sep, sep_shape, parent_shape, from_parent = [], [], [], []
    for i, clique in enumerate(tree.cliques):
        sep = tree.separator[i]
        to_sep.append(reduce_axes(clique, sep))
        sep_shape.append(expand_shape(sep, clique, sizes))
        p = tree.parent[i]
        parent = tree.cliques[p] if p >= 0 else ()
        parent_shape.append(expand_shape(sep, parent, sizes) if p >= 0 else ())
        from_parent.append(reduce_axes(parent, sep) if p >= 0 else ())
    return _Layout(
        tree, children, tuple(to_sep), tuple(sep_shape), tuple(parent_shape), tuple(from_parent)
    )


class GraphicalModel:
    """Factors over measured cliques, their junction tree, and inference on it.

    Attributes:
        sizes: Number of codes of every attribute.
        total: Number of rows the marginals count (the public dataset size).
        factors: ``θ_c`` per clique.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        total: float,
        factors: Mapping[Clique, FloatArray] | None = None,
    ) -> None:
        self.sizes = tuple(int(s) for s in sizes)
        self.total = float(total)
        self.factors: dict[Clique, FloatArray] = {}
        self._layout: _Layout | None = None
        self._homes: dict[Clique, int] = {}
        for clique, values in (factors or {}).items():
            self.add_clique(clique, values)
        if not self.factors:
            for a in range(len(self.sizes)):
                self.add_clique((a,))

    # ---- structure -----------------------------------------------------------------------
    def add_clique(self, clique: Clique, values: FloatArray | None = None) -> None:
        """Add a factor over ``clique`` (zeros unless given); the tree is rebuilt lazily."""
        clique = tuple(sorted(clique))
        shape = tuple(self.sizes[a] for a in clique)
        if clique in self.factors:
            return
        array = np.zeros(shape) if values is None else np.asarray(values, dtype=np.float64)
        self.factors[clique] = array.reshape(shape)
        self._layout = None

    @property
    def tree(self) -> JunctionTree:
        """The junction tree of the factors' cliques."""
        return self._plan().tree

    def _plan(self) -> _Layout:
        if self._layout is None:
            tree = build_tree(self.sizes, self.factors)
            self._layout = _layout(tree, self.sizes)
            self._homes = {}
            for clique in self.factors:
                home = tree.home(clique)
                assert home is not None  # every factor lies inside a clique of its own tree
                self._homes[clique] = home
        return self._layout

    def home(self, clique: Clique) -> int | None:
        """The tree clique holding ``clique`` (None: not inside one clique)."""
        plan = self._plan()
        if clique in self._homes:
            return self._homes[clique]
        return plan.tree.home(clique)

    @property
    def size(self) -> int:
        """Cells of the tree's clique tables."""
        return sum(math.prod(self.sizes[a] for a in c) for c in self.tree.cliques)

    # ---- inference -----------------------------------------------------------------------
    def potentials(self, factors: Mapping[Clique, FloatArray] | None = None) -> list[FloatArray]:
        """Each tree clique's log-potential: the sum of the factors it holds."""
        plan = self._plan()
        out = [np.zeros(tuple(self.sizes[a] for a in c)) for c in plan.tree.cliques]
        for clique, values in (factors if factors is not None else self.factors).items():
            home = self._homes[clique]
            full = plan.tree.cliques[home]
            out[home] = out[home] + values.reshape(expand_shape(clique, full, self.sizes))
        return out

    def calibrate(self, potentials: Sequence[FloatArray] | None = None) -> list[FloatArray]:
        """Every tree clique's marginal distribution (probabilities summing to 1).

        Sum-product in probability space: each clique's potential is exponentiated once
        (shifted by its maximum), and every message is normalised to sum 1, so nothing
        overflows and a log-potential range of ~700 nats per clique stays representable.
        """
        plan = self._plan()
        tree = plan.tree
        pots = list(potentials) if potentials is not None else self.potentials()
        k = len(tree.cliques)
        inner: list[FloatArray] = [np.empty(0)] * k
        up: list[FloatArray] = [np.empty(0)] * k
        for i in reversed(tree.order):
            b = np.exp(pots[i] - pots[i].max())
            for c in plan.children[i]:
                b *= up[c].reshape(plan.parent_shape[c])
            inner[i] = b
            if tree.parent[i] >= 0:
                up[i] = _normalised(b.sum(axis=plan.to_separator[i]))
        beliefs: list[FloatArray] = [np.empty(0)] * k
        down: list[FloatArray] = [np.empty(0)] * k
        for i in tree.order:
            b = inner[i]
            if tree.parent[i] >= 0:
                b = b * down[i].reshape(plan.separator_shape[i])
            beliefs[i] = _normalised(b)
            for c in plan.children[i]:
                # The child's own message depends on the separator only, so it is divided back
                # out after summing (0 where it is 0: no mass there).
                total = b.sum(axis=plan.from_parent[c])
                down[c] = _normalised(
                    np.divide(total, up[c], out=np.zeros_like(total), where=up[c] > 0)
                )
        return beliefs

    def clique_marginals(self, beliefs: Sequence[FloatArray]) -> list[FloatArray]:
        """Marginal counts of every tree clique."""
        return [self.total * b for b in beliefs]

    def marginal(self, clique: Clique, tables: Sequence[FloatArray]) -> FloatArray | None:
        """Counts over ``clique`` from the tree cliques' counts (None: not inside one clique)."""
        home = self.home(clique)
        if home is None:
            return None
        full = self.tree.cliques[home]
        return np.asarray(tables[home].sum(axis=reduce_axes(full, clique)), dtype=np.float64)

    # ---- sampling ------------------------------------------------------------------------
    def sample(
        self, n: int, *, rng: np.random.Generator, beliefs: Sequence[FloatArray]
    ) -> IntArray:
        """``n`` i.i.d. rows of codes (forward sampling along the tree)."""
        tree = self._plan().tree
        out = np.zeros((n, len(self.sizes)), dtype=np.int64)
        for i in tree.order:
            clique, sep = tree.cliques[i], tree.separator[i]
            new = tuple(a for a in clique if a not in sep)
            if not new:
                continue
            axes = [clique.index(a) for a in sep] + [clique.index(a) for a in new]
            probs = np.transpose(beliefs[i], axes)
            sep_cells = math.prod(self.sizes[a] for a in sep)
            table = probs.reshape(sep_cells, -1)
            row_mass = table.sum(axis=1, keepdims=True)
            # A separator state the model gives no mass cannot occur; uniform keeps it defined.
            table = np.where(row_mass > 0, table / np.where(row_mass > 0, row_mass, 1.0), 1.0)
            table = table / table.sum(axis=1, keepdims=True)
            if sep:
                parent_state = np.ravel_multi_index(
                    tuple(out[:, a] for a in sep), tuple(self.sizes[a] for a in sep)
                )
            else:
                parent_state = np.zeros(n, dtype=np.int64)
            picked = _draw_rows(table, parent_state, rng)
            for a, values in zip(
                new, np.unravel_index(picked, tuple(self.sizes[a] for a in new)), strict=True
            ):
                out[:, a] = values
        return out


def _normalised(x: FloatArray) -> FloatArray:
    total = x.sum()
    return x / total if total > 0 else np.full_like(x, 1.0 / max(x.size, 1))


def _draw_rows(table: FloatArray, state: IntArray, rng: np.random.Generator) -> IntArray:
    """For each row, a column of ``table[state]`` drawn with those probabilities."""
    width = table.shape[1]
    cdf = np.minimum(np.cumsum(table, axis=1), 1.0)
    cdf[:, -1] = 1.0
    # One sorted array: row s's cdf shifted by s, so a search for s + u stays inside row s.
    flat = (cdf + np.arange(table.shape[0])[:, None]).ravel()
    u = rng.random(len(state))
    pos = np.searchsorted(flat, state + u, side="right")
    return np.asarray(np.clip(pos - state * width, 0, width - 1), dtype=np.int64)
