"""A shared numeric space for mixed-type rows, and exact nearest neighbours in it.

Numeric (and datetime) columns are standardised with the real training rows' mean and spread;
a missing value sits at the mean and raises a 0/1 indicator. Categorical and boolean columns are
one-hot encoded and scaled by 1/sqrt(2), so a category mismatch adds exactly 1 to the squared
distance, the same as a one-standard-deviation numeric difference (a Gower-like balance where no
column type dominates the distance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_evaluator.domain.columns import (
    MISSING,
    FloatArray,
    IntArray,
    is_numeric_kind,
    to_labels,
    to_numbers,
)
from sds_evaluator.domain.models import ColumnInfo

_CHUNK = 2048
_HALF_SQRT = float(np.sqrt(0.5))


@dataclass(frozen=True)
class _Block:
    info: ColumnInfo
    start: int
    stop: int
    center: float = 0.0
    scale: float = 1.0
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowEncoder:
    """Maps rows of a table to vectors; ``slices`` says which vector part each column owns."""

    blocks: tuple[_Block, ...]
    width: int

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        columns: Sequence[ColumnInfo],
        *,
        max_categories: int,
        vocabulary_from: Sequence[pd.DataFrame] = (),
    ) -> RowEncoder:
        """Learn scales from (real training) rows and category slots from every compared table.

        Args:
            frame: the real training rows; numeric centres and spreads come from them alone.
            columns: the columns of the distance space.
            max_categories: one-hot slots per categorical column (the most frequent values);
                rarer values share one overflow slot.
            vocabulary_from: the other tables whose rows will be compared (holdout,
                synthetic, canaries). Their values are counted with ``frame``'s when the slots
                are chosen, so a value only they hold still gets a slot of its own. Without
                them every value unseen in ``frame`` lands in the overflow slot and two
                DIFFERENT unseen values look identical: a holdout row's rare category would
                "match" a synthetic row's rare bucket (released as missing) exactly, pulling
                non-members towards the synthetic rows and biasing the membership attack.
        """
        blocks: list[_Block] = []
        pos = 0
        for info in columns:
            if is_numeric_kind(info.kind):
                values = to_numbers(frame[info.name], info.kind)
                finite = values[~np.isnan(values)]
                center = float(finite.mean()) if finite.size else 0.0
                scale = float(finite.std()) if finite.size else 1.0
                blocks.append(
                    _Block(info, pos, pos + 2, center=center, scale=scale if scale > 0 else 1.0)
                )
                pos += 2
            else:
                labels = [to_labels(f[info.name], info.kind) for f in (frame, *vocabulary_from)]
                counts = pd.Series(np.concatenate(labels)).value_counts(sort=False)
                # Most frequent first; ties in first-seen order, so the layout is deterministic.
                counts = counts.iloc[np.argsort(-counts.to_numpy(), kind="stable")]
                cats = tuple(str(c) for c in counts.index[:max_categories])
                # One slot per kept category plus one for every other value.
                blocks.append(_Block(info, pos, pos + len(cats) + 1, categories=cats))
                pos += len(cats) + 1
        return cls(blocks=tuple(blocks), width=pos)

    def transform(self, frame: pd.DataFrame) -> FloatArray:
        out = np.zeros((len(frame), self.width), dtype=np.float64)
        for b in self.blocks:
            if is_numeric_kind(b.info.kind):
                values = to_numbers(frame[b.info.name], b.info.kind)
                missing = np.isnan(values)
                out[:, b.start] = np.where(missing, 0.0, (values - b.center) / b.scale)
                out[:, b.start + 1] = missing.astype(np.float64)
            else:
                labels = to_labels(frame[b.info.name], b.info.kind)
                index = {c: i for i, c in enumerate(b.categories)}
                other = len(b.categories)
                slots = np.array([index.get(s, other) for s in labels], dtype=np.int64)
                out[np.arange(len(frame)), b.start + slots] = _HALF_SQRT
        return out

    def columns_except(self, name: str) -> IntArray:
        """Vector positions of every column but ``name`` (what an attacker may know)."""
        keep = [np.arange(b.start, b.stop) for b in self.blocks if b.info.name != name]
        return np.concatenate(keep) if keep else np.empty(0, dtype=np.int64)


def nearest(query: FloatArray, reference: FloatArray, *, k: int = 1) -> tuple[FloatArray, IntArray]:
    """Euclidean distances and indices of the ``k`` nearest reference rows of every query row.

    Brute force in chunks through one matrix product per chunk: exact, and for ten thousand rows
    a side faster than tree indexes on one-hot data (which has too many dimensions for trees).
    """
    dist, idx, _ = cross_nearest(query, reference, k=k)
    return dist, idx


def cross_nearest(
    query: FloatArray, reference: FloatArray, *, k: int = 1
) -> tuple[FloatArray, IntArray, FloatArray]:
    """``nearest`` plus, from the same products, each reference row's distance to its closest query.

    Returns:
        Distances (n_query, k) and indices of the nearest reference rows, and the distance
        (n_reference,) of every reference row to its nearest query row.
    """
    k_eff = min(k, reference.shape[0])
    dist = np.full((query.shape[0], k), np.inf)
    idx = np.zeros((query.shape[0], k), dtype=np.int64)
    back = np.full(reference.shape[0], np.inf)
    if k_eff == 0 or query.shape[0] == 0:
        return dist, idx, back
    # float32 halves the cost of the product; rounding (~1e-7 relative) is far below the
    # distances that matter here, and exact copies are counted by hashing, not by distance.
    ref32 = reference.astype(np.float32)
    ref_sq = np.einsum("ij,ij->i", ref32, ref32).astype(np.float64)
    for lo in range(0, query.shape[0], _CHUNK):
        q = query[lo : lo + _CHUNK].astype(np.float32)
        rows = np.arange(q.shape[0])
        q_sq = np.einsum("ij,ij->i", q, q).astype(np.float64)
        cross = q @ ref32.T
        back = np.minimum(back, np.min(q_sq[:, None] - 2.0 * cross, axis=0) + ref_sq)
        # |q|^2 is the same for every reference row, so ranking needs only |r|^2 - 2 q.r.
        partial = ref_sq[None, :] - 2.0 * cross
        for j in range(k_eff):
            best = np.argmin(partial, axis=1)
            idx[lo + rows, j] = best
            dist[lo + rows, j] = partial[rows, best]
            partial[rows, best] = np.inf
        d2 = dist[lo + rows, :k_eff] + q_sq[:, None]
        dist[lo + rows, :k_eff] = np.sqrt(_snap(d2, q_sq[:, None]))
    return dist, idx, np.sqrt(_snap(back, ref_sq))


def _snap(d2: FloatArray, scale: FloatArray) -> FloatArray:
    # Cancellation leaves tiny non-zero (even negative) values for identical rows: copies.
    return np.where(d2 < 1e-5 * (1.0 + scale), 0.0, d2)


def row_hashes(frame: pd.DataFrame, columns: Sequence[ColumnInfo]) -> npt.NDArray[np.uint64]:
    """A hash per row of its normalised values, so equal rows match across differing dtypes."""
    norm = pd.DataFrame(index=range(len(frame)))
    for c in columns:
        if is_numeric_kind(c.kind):
            values = np.round(to_numbers(frame[c.name], c.kind), 9)
            norm[c.name] = np.where(np.isnan(values), MISSING, values.astype(str))
        else:
            norm[c.name] = to_labels(frame[c.name], c.kind)
    return np.asarray(pd.util.hash_pandas_object(norm, index=False), dtype=np.uint64)
