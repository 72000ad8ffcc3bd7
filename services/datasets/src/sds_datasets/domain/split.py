"""The train/holdout split: deterministic per dataset, stratified by a categorical target.

The seed comes from the dataset id, so a redelivered upload produces the same split and the same
files. Each stratum (target value, missing included) contributes ``round(fraction * size)`` rows,
which keeps rare classes present on both sides whenever they have enough rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]


@dataclass(frozen=True)
class Split:
    """Row positions (sorted, so the original order is kept) on each side."""

    train: npt.NDArray[np.int64]
    holdout: npt.NDArray[np.int64]
    stratified_by: str | None


def seed_for(dataset_id: UUID) -> int:
    """The random seed of a dataset's split."""
    return dataset_id.int % (2**63)


def holdout_split(
    frame: pd.DataFrame, *, dataset_id: UUID, fraction: float, stratify_by: str | None = None
) -> Split:
    """Split ``frame``'s rows into train and holdout positions."""
    rng = np.random.default_rng(seed_for(dataset_id))
    n = len(frame)
    if stratify_by is None:
        groups = [np.arange(n, dtype=np.int64)]
    else:
        # factorize(sort=True) orders strata by value, so the split never depends on row order
        # of first appearance; missing values form their own stratum (code -1, sorted first).
        codes, _ = pd.factorize(frame[stratify_by], sort=True, use_na_sentinel=True)
        order = np.argsort(codes, kind="stable").astype(np.int64)
        boundaries = np.flatnonzero(np.diff(codes[order])) + 1
        groups = np.split(order, boundaries)
    holdout_parts = []
    for group in groups:
        shuffled = rng.permutation(group)
        holdout_parts.append(shuffled[: round(fraction * len(group))])
    holdout = np.sort(np.concatenate(holdout_parts)).astype(np.int64)
    mask = np.ones(n, dtype=bool)
    mask[holdout] = False
    return Split(
        train=np.flatnonzero(mask).astype(np.int64), holdout=holdout, stratified_by=stratify_by
    )
