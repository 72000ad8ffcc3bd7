"""One modelled column as a finite attribute: value → code and code → value.

The graphical model sees every column as codes ``0..size-1``:

* categorical / boolean: the released categories, a rare bucket (values DP could not release or
  outside a declared set) and, when the column may be missing, a missing code. The rare bucket
  decodes to a missing value: no real value may be invented for it.
* numeric / datetime: *bins*, each a set of *items* of a fine, DP-released description of the
  column: intervals of a fine grid (``fine_edges``) and atoms (single values holding much mass,
  e.g. the zeros of a capital-gain column). A value maps to its atom if it is one, else to the
  fine interval holding it (clipped to the bounds), and the item to its bin. Decoding a bin draws
  an item in proportion to its DP weight, then a value uniformly inside the interval (an integer
  for integer columns) or the atom itself; a bin whose items all have weight 0 is drawn uniformly
  over its intervals. Everything here is post-processing of the DP preprocessing releases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.values import (
    can_hold_missing,
    datetime_series,
    numeric_values,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
RARE = "__rare__"
MISSING = "\x00missing"


@dataclass
class CategoricalColumn:
    """A categorical or boolean column: codes are indices into ``categories``."""

    name: str
    kind: str
    categories: list[str]
    dtype: str

    @property
    def size(self) -> int:
        """Number of codes."""
        return len(self.categories)

    @property
    def missing(self) -> bool:
        """Whether a missing code exists."""
        return MISSING in self.categories

    def encode(self, series: pd.Series[Any]) -> IntArray:
        """Codes of ``series`` (unknown values → rare bucket, or the first code without one)."""
        mask = series.isna().to_numpy()
        strings = series.astype(str).to_numpy(dtype=object)
        lookup = {c: i for i, c in enumerate(self.categories)}
        rare = lookup.get(RARE, 0)
        codes = np.fromiter(
            (lookup.get(s, rare) for s in strings), dtype=np.int64, count=len(strings)
        )
        codes[mask] = lookup.get(MISSING, rare)
        return codes

    def code_of(self, value: Any) -> int | None:
        """The code of one released value (None when it is not a released category)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.categories.index(MISSING) if self.missing else None
        label = str(value)
        if label in (RARE, MISSING) or label not in self.categories:
            return None
        return self.categories.index(label)

    def decode(self, codes: IntArray, rng: np.random.Generator) -> pd.Series[Any]:
        """Values of ``codes`` in the column's dtype where it can hold them."""
        del rng  # categories decode deterministically
        labels = np.asarray(self.categories, dtype=object)[codes]
        labels[(labels == MISSING) | (labels == RARE)] = None
        series = pd.Series(labels, dtype=object)
        if self.kind == "boolean":
            mapped = series.map({"True": True, "False": False})
            return mapped.astype(self.dtype) if mapped.notna().all() else mapped
        dtype = pd.api.types.pandas_dtype(self.dtype)
        if pd.api.types.is_numeric_dtype(dtype):
            numbers = pd.to_numeric(series, errors="coerce")
            if numbers.notna().all() or can_hold_missing(dtype):
                return numbers.astype(dtype)
            return series
        if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype):
            return series.astype(dtype)
        return series

    def to_state(self) -> dict[str, Any]:
        """Plain-python state."""
        return {"type": "categorical", **self.__dict__}


@dataclass
class NumericColumn:
    """A numeric or datetime column cut into bins of fine intervals and atoms.

    Attributes:
        fine_edges: Strictly increasing edges of the fine intervals (first/last: the bounds).
        fine_weights: DP weight (≥ 0) of each fine interval.
        fine_bins: Bin of each fine interval.
        atoms: Released atoms (sorted), each an item of its own.
        atom_weights: DP weight of each atom.
        atom_bins: Bin of each atom.
        n_bins: Number of value bins (a missing code follows them when ``missing``).
    """

    name: str
    kind: str
    integer: bool
    missing: bool
    dtype: str
    fine_edges: list[float]
    fine_weights: list[float]
    fine_bins: list[int]
    atoms: list[float]
    atom_weights: list[float]
    atom_bins: list[int]
    n_bins: int

    @property
    def size(self) -> int:
        """Number of codes (bins, then the missing code)."""
        return self.n_bins + int(self.missing)

    def _item_of(self, values: FloatArray) -> tuple[IntArray, IntArray]:
        """Per value: the fine interval (clipped) and the atom index (-1 if none)."""
        edges = np.asarray(self.fine_edges)
        clipped = np.clip(values, edges[0], edges[-1])
        fine = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, len(edges) - 2)
        atom = np.full(len(values), -1, dtype=np.int64)
        if self.atoms:
            atoms = np.asarray(self.atoms)
            pos = np.clip(np.searchsorted(atoms, values), 0, len(atoms) - 1)
            hit = atoms[pos] == values
            atom[hit] = pos[hit]
        return fine.astype(np.int64), atom

    def encode(self, series: pd.Series[Any]) -> IntArray:
        """Codes of ``series``."""
        values = numeric_values(series, self.kind)
        nan = np.isnan(values)
        fine, atom = self._item_of(np.where(nan, self.fine_edges[0], values))
        codes = np.asarray(self.fine_bins, dtype=np.int64)[fine]
        if self.atoms:
            codes = np.where(atom >= 0, np.asarray(self.atom_bins)[np.maximum(atom, 0)], codes)
        if self.missing:
            codes[nan] = self.n_bins
        return codes.astype(np.int64)

    def bin_of(self, value: float) -> int:
        """The bin holding ``value``."""
        return int(self.encode(pd.Series([value], dtype=np.float64))[0])

    def _interval_values(self, fine: IntArray, u: FloatArray) -> FloatArray:
        edges = np.asarray(self.fine_edges)
        low, high = edges[fine], edges[fine + 1]
        if not self.integer:
            return np.asarray(low + u * (high - low), dtype=np.float64)
        first = np.ceil(low)
        # Intervals are [low, high) except the last one, which is closed.
        last = np.where(fine == len(edges) - 2, np.floor(high), np.ceil(high) - 1)
        count = np.maximum(last - first + 1, 1)
        return np.asarray(first + np.minimum(np.floor(u * count), count - 1), dtype=np.float64)

    def _uniform_weights(self) -> FloatArray:
        edges = np.asarray(self.fine_edges)
        if not self.integer:
            return np.asarray(np.diff(edges), dtype=np.float64)
        first, last = np.ceil(edges[:-1]), np.ceil(edges[1:]) - 1
        last[-1] = np.floor(edges[-1])
        return np.asarray(np.maximum(last - first + 1, 0), dtype=np.float64)

    def decode(self, codes: IntArray, rng: np.random.Generator) -> pd.Series[Any]:
        """Values for ``codes``: an item by weight, then uniform inside it (see the module)."""
        n = len(codes)
        values = np.full(n, np.nan)
        fine_bins = np.asarray(self.fine_bins)
        fine_w = np.asarray(self.fine_weights)
        atom_bins = np.asarray(self.atom_bins, dtype=np.int64)
        atom_w = np.asarray(self.atom_weights)
        uniform = self._uniform_weights()
        u_item, u_value = rng.random(n), rng.random(n)
        for b in range(self.n_bins):
            rows = np.flatnonzero(codes == b)
            if rows.size == 0:
                continue
            fines = np.flatnonzero(fine_bins == b)
            atoms = np.flatnonzero(atom_bins == b)
            weights = np.concatenate([fine_w[fines], atom_w[atoms]])
            if weights.sum() <= 0:
                weights = np.concatenate([uniform[fines], np.ones(atoms.size)])
            if weights.sum() <= 0:
                weights = np.ones(weights.size)
            cdf = np.cumsum(weights) / weights.sum()
            pick = np.minimum(np.searchsorted(cdf, u_item[rows], side="right"), cdf.size - 1)
            is_atom = pick >= fines.size
            out = np.full(rows.size, np.nan)
            if atoms.size:
                out[is_atom] = np.asarray(self.atoms)[atoms[pick[is_atom] - fines.size]]
            inner = ~is_atom
            out[inner] = self._interval_values(fines[pick[inner]], u_value[rows[inner]])
            values[rows] = out
        return self._to_series(values)

    def _to_series(self, values: FloatArray) -> pd.Series[Any]:
        missing = np.isnan(values)
        if self.kind == "datetime":
            return datetime_series(values, self.dtype)
        dtype = pd.api.types.pandas_dtype(self.dtype)
        if missing.any() and not can_hold_missing(dtype):
            dtype = np.dtype("float64")
        if pd.api.types.is_integer_dtype(dtype):
            values = np.round(values)
        return pd.Series(values).astype(dtype)

    def to_state(self) -> dict[str, Any]:
        """Plain-python state."""
        return {"type": "numeric", **self.__dict__}


Column = CategoricalColumn | NumericColumn


def column_from_state(state: dict[str, Any]) -> Column:
    """Rebuild a column from its ``to_state``."""
    fields = {k: v for k, v in state.items() if k != "type"}
    if state["type"] == "categorical":
        return CategoricalColumn(**fields)
    return NumericColumn(**fields)
