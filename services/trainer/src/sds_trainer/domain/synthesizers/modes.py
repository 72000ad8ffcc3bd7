"""dp-ctgan's modes of a numeric column, read off its released distribution (post-processing).

CTGAN fits a Bayesian GMM to each numeric column to find its modes; that fit reads raw values and
is not DP. Ours are quantile intervals of the codec's released distribution (leaves with DP
weights, and atoms), where every heavy item — a leaf or an atom holding at least
``1/(2·n_modes)`` of the mass, e.g. the zeros of an amount — is a mode of its own, so a spike keeps
its exact value and the quantiles are taken over the rest of the mass.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sds_trainer.domain.synthesizers.codec import NumericDomain

FloatArray = npt.NDArray[np.float64]


def released_cdf(domain: NumericDomain, x: FloatArray) -> FloatArray:
    """Share of the released mass strictly below each ``x`` (units; linear inside a leaf)."""
    edges = np.asarray(domain.edges, dtype=np.float64)
    weights = np.maximum(np.asarray(domain.weights, dtype=np.float64), 0.0)
    atoms = np.asarray(domain.atoms, dtype=np.float64)
    atom_w = np.maximum(np.asarray(domain.atom_weights, dtype=np.float64), 0.0)
    cum = np.concatenate([[0.0], np.cumsum(weights)])
    below = np.interp(np.asarray(x, dtype=np.float64), edges, cum)
    if atoms.size:
        below = below + np.asarray([atom_w[atoms < v].sum() for v in np.atleast_1d(x)])
    total = cum[-1] + atom_w.sum()
    return np.asarray(below / total if total > 0 else below, dtype=np.float64)


def _atom_width(value: float) -> float:
    return max(abs(value), 1.0) * 1e-9


def _cells(domain: NumericDomain) -> tuple[FloatArray, FloatArray]:
    """The released distribution as contiguous cells: the leaves, each atom a cell of its own."""
    edges = list(domain.edges)
    masses = [max(w, 0.0) for w in domain.weights]
    for atom, weight in sorted(zip(domain.atoms, domain.atom_weights, strict=True)):
        cut = int(np.searchsorted(edges, atom, side="right")) - 1
        cut = min(max(cut, 0), len(masses) - 1)
        low, high = edges[cut], edges[cut + 1]
        top = min(atom + _atom_width(atom), high)
        if top <= atom:  # an atom at the very top: its cell is the leaf's last sliver
            continue
        share_below = (atom - low) / (high - low) if high > low else 0.0
        leaf = masses[cut]
        parts = [(low, atom, leaf * share_below), (atom, top, max(weight, 0.0))]
        parts.append((top, high, leaf * (1.0 - share_below)))
        new_edges = [p[0] for p in parts if p[1] > p[0]]
        new_masses = [p[2] for p in parts if p[1] > p[0]]
        edges = [*edges[:cut], *new_edges, *edges[cut + 1 :]]
        masses = [*masses[:cut], *new_masses, *masses[cut + 1 :]]
    return np.asarray(edges, dtype=np.float64), np.asarray(masses, dtype=np.float64)


def mode_edges(domain: NumericDomain, *, n_modes: int) -> list[float]:
    """Strictly increasing mode edges (units) from ``domain.low`` to ``domain.high``."""
    grid, masses = _cells(domain)
    low, high = float(grid[0]), float(grid[-1])
    total = masses.sum()
    if total <= 0:
        masses = np.diff(grid)
        total = masses.sum()
    heavy = np.flatnonzero(masses >= total / (2 * n_modes))
    rest = masses.copy()
    rest[heavy] = 0.0
    cuts = [low, high, *grid[heavy], *grid[heavy + 1]]
    if rest.sum() > 0:
        cdf = np.concatenate([[0.0], np.cumsum(rest)]) / rest.sum()
        probs = np.linspace(0.0, 1.0, max(n_modes - len(heavy), 1) + 1)
        # Empty cells repeat a value of the non-decreasing cdf: np.interp then jumps over them
        # (the generalised inverse), so no edge falls where there is no mass.
        cuts += list(np.interp(probs, cdf, grid))
    edges = np.clip(np.sort(np.asarray(cuts, dtype=np.float64)), low, high)
    if domain.grid:
        # A mode narrower than one unit would decode to the same value as its neighbour.
        edges = np.clip(np.round(edges - 0.5) + 0.5, low, high)
    unique = [low]
    for e in edges[1:]:
        if e > unique[-1]:
            unique.append(float(e))
    if len(unique) == 1:
        unique.append(high if high > low else low + 1.0)
    unique[-1] = max(unique[-1], high)
    return unique
