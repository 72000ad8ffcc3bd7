"""One modelled column as a finite attribute of the graphical model: value → code → value.

The graphical model sees every column as codes ``0..size-1``, built on the column's released
domain (:mod:`..codec`), so both model families share one preprocessing and decoding path:

* categorical / boolean / text: the domain's codes (released categories, the other bucket, the
  missing code).
* numeric / datetime: *bins* of the domain's *items* — its leaves (intervals of a DP hierarchy)
  and atoms (exact values holding much mass) — then the missing code. A value maps to its atom if
  it is one, else to its leaf, and the item to its bin. Decoding a bin draws an item in proportion
  to its DP weight, then a value inside it (whole units on a grid) or the atom itself; a bin whose
  items all weigh 0 is drawn uniformly over them. Everything here is post-processing of the
  codec's releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.codec import CategoricalDomain, NumericDomain
from sds_trainer.domain.synthesizers.codec.table import domain_from_state

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class CategoricalColumn:
    """A categorical, boolean or text column: its codes are the domain's."""

    domain: CategoricalDomain

    @property
    def name(self) -> str:
        """Column name."""
        return self.domain.name

    @property
    def kind(self) -> str:
        """Column kind."""
        return self.domain.kind

    @property
    def size(self) -> int:
        """Number of codes."""
        return self.domain.size

    def encode(self, series: pd.Series[Any]) -> IntArray:
        """Codes of ``series``."""
        return self.domain.encode(series)

    def code_of(self, value: Any) -> int | None:
        """The code of one released value (None when it is not a released category)."""
        return self.domain.code_of(value)

    def decode(self, codes: IntArray, rng: np.random.Generator) -> pd.Series[Any]:
        """Values of ``codes`` (categories decode deterministically)."""
        del rng
        return self.domain.decode(codes)

    def to_state(self) -> dict[str, Any]:
        """Plain-python state."""
        return {"type": "categorical", "domain": self.domain.to_state()}


@dataclass
class NumericColumn:
    """A numeric or datetime column: bins of its domain's items, then the missing code.

    Attributes:
        leaf_bins: Bin of each leaf of the domain.
        atom_bins: Bin of each atom of the domain.
        n_bins: Number of value bins (a missing code follows them when the domain has one).
    """

    domain: NumericDomain
    leaf_bins: list[int]
    atom_bins: list[int]
    n_bins: int

    @property
    def name(self) -> str:
        """Column name."""
        return self.domain.name

    @property
    def kind(self) -> str:
        """Column kind."""
        return self.domain.kind

    @property
    def size(self) -> int:
        """Number of codes (bins, then the missing code)."""
        return self.n_bins + int(self.domain.missing)

    def encode(self, series: pd.Series[Any]) -> IntArray:
        """Codes of ``series``."""
        units = self.domain.units_of(series)
        nan = np.isnan(units)
        filled = np.where(nan, self.domain.low, units)
        codes = np.asarray(self.leaf_bins, dtype=np.int64)[self.domain.leaf_of(filled)]
        if self.atom_bins:
            atom = self.domain.atom_of(filled)
            codes = np.where(atom >= 0, np.asarray(self.atom_bins)[np.maximum(atom, 0)], codes)
        if self.domain.missing:
            codes[nan] = self.n_bins
        return codes.astype(np.int64)

    def decode(self, codes: IntArray, rng: np.random.Generator) -> pd.Series[Any]:
        """Values for ``codes``: an item by weight, then a value inside it (see the module)."""
        domain = self.domain
        n = len(codes)
        units = np.full(n, np.nan)
        leaf_bins = np.asarray(self.leaf_bins, dtype=np.int64)
        atom_bins = np.asarray(self.atom_bins, dtype=np.int64)
        leaf_w = np.maximum(np.asarray(domain.weights, dtype=np.float64), 0.0)
        atom_w = np.maximum(np.asarray(domain.atom_weights, dtype=np.float64), 0.0)
        u_item, u_value = rng.random(n), rng.random(n)
        for b in range(self.n_bins):
            rows = np.flatnonzero(codes == b)
            if rows.size == 0:
                continue
            leaves = np.flatnonzero(leaf_bins == b)
            atoms = np.flatnonzero(atom_bins == b)
            weights = np.concatenate([leaf_w[leaves], atom_w[atoms]])
            if weights.sum() <= 0:
                weights = np.ones(weights.size)
            cdf = np.cumsum(weights) / weights.sum()
            pick = np.minimum(np.searchsorted(cdf, u_item[rows], side="right"), cdf.size - 1)
            is_atom = pick >= leaves.size
            out = np.full(rows.size, np.nan)
            if atoms.size:
                out[is_atom] = np.asarray(domain.atoms)[atoms[pick[is_atom] - leaves.size]]
            inner = ~is_atom
            out[inner] = domain.draw(leaves[pick[inner]], u_value[rows[inner]])
            units[rows] = out
        return domain.typed(units)

    def to_state(self) -> dict[str, Any]:
        """Plain-python state."""
        return {
            "type": "numeric",
            "domain": self.domain.to_state(),
            "leaf_bins": self.leaf_bins,
            "atom_bins": self.atom_bins,
            "n_bins": self.n_bins,
        }


Column = CategoricalColumn | NumericColumn


def column_from_state(state: dict[str, Any]) -> Column:
    """Rebuild a column from its ``to_state``."""
    domain = domain_from_state(state["domain"])
    if state["type"] == "categorical":
        assert isinstance(domain, CategoricalDomain)
        return CategoricalColumn(domain)
    assert isinstance(domain, NumericDomain)
    return NumericColumn(
        domain,
        leaf_bins=[int(b) for b in state["leaf_bins"]],
        atom_bins=[int(b) for b in state["atom_bins"]],
        n_bins=int(state["n_bins"]),
    )
