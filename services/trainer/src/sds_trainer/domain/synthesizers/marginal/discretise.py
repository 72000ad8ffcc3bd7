"""The marginal synthesizers' attributes: each released column domain cut into model codes.

The DP preprocessing itself is the codec's (:mod:`..codec`), shared with dp-ctgan: this module
only decides, by post-processing of its releases, how a numeric/datetime column's items (leaves
and atoms) group into the bins the graphical model sees.

* A column on a grid whose released items are at most :data:`MAX_INTEGER_CODES` single values
  keeps one bin per value (a code, a rating, a small count, a year): merging them would lose
  exact relations (a level and its number) and decode off the values.
* Otherwise items are swept in value order: an item heavier than ``1/numeric_bins`` of the mass
  gets a bin of its own (a spike: the zeros of an amount), and the rest of the mass is cut into
  equal-mass bins, never lighter than ``3·sigma`` (below which a bin is mostly noise).
"""

from __future__ import annotations

import math

import numpy as np

from sds_trainer.domain.synthesizers.codec import CategoricalDomain, NumericDomain, TableCodec
from sds_trainer.domain.synthesizers.marginal.columns import (
    CategoricalColumn,
    Column,
    FloatArray,
    NumericColumn,
)

#: Grid columns with at most this many released single values keep one code per value.
MAX_INTEGER_CODES = 32


def attributes(codec: TableCodec, *, numeric_bins: int, min_mass: float) -> list[Column]:
    """The model's attribute of each modelled column of ``codec``, in column order."""
    out: list[Column] = []
    for domain in codec.modelled:
        if isinstance(domain, CategoricalDomain):
            out.append(CategoricalColumn(domain))
        else:
            out.append(_numeric(domain, numeric_bins=numeric_bins, min_mass=min_mass))
    return out


def _numeric(domain: NumericDomain, *, numeric_bins: int, min_mass: float) -> NumericColumn:
    edges = np.asarray(domain.edges)
    weights = np.maximum(np.asarray(domain.weights, dtype=np.float64), 0.0)
    single = domain.grid and bool(np.all(edges[1:] - edges[:-1] <= 1.0 + 1e-9))
    if single and not domain.atoms and len(weights) <= MAX_INTEGER_CODES:
        bins = list(range(len(weights)))
        return NumericColumn(domain, leaf_bins=bins, atom_bins=[], n_bins=len(weights))
    leaf_bins, atom_bins, n_bins = _sweep_bins(
        edges,
        weights,
        np.asarray(domain.atoms, dtype=np.float64),
        np.maximum(np.asarray(domain.atom_weights, dtype=np.float64), 0.0),
        numeric_bins=numeric_bins,
        min_mass=min_mass,
    )
    return NumericColumn(domain, leaf_bins=leaf_bins, atom_bins=atom_bins, n_bins=n_bins)


def _sweep_bins(
    edges: FloatArray,
    leaf_weights: FloatArray,
    atoms: FloatArray,
    atom_weights: FloatArray,
    *,
    numeric_bins: int,
    min_mass: float,
) -> tuple[list[int], list[int], int]:
    """Bins of the items in value order (see the module docstring)."""
    # Items: (position, is_atom, index, weight); an atom sorts after the leaf it lies in.
    items = [(float(edges[i]), 0, i, float(w)) for i, w in enumerate(leaf_weights)]
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
    leaf_bins = [0] * len(leaf_weights)
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
        (atom_bins if is_atom else leaf_bins)[index] = len(masses) - 1
    last = len(masses) - 1
    if last >= 1 and not heavies[last] and not heavies[last - 1] and masses[last] < target / 2:
        # A light tail bin joins its light neighbour rather than stand mostly as noise.
        leaf_bins = [b if b < last else last - 1 for b in leaf_bins]
        atom_bins = [b if b < last else last - 1 for b in atom_bins]
        last -= 1
    return leaf_bins, atom_bins, last + 1
