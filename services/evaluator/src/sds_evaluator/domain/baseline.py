"""The independent-columns baseline: what a generator scores that learns no relationship at all.

Every column is drawn on its own from the real training rows' empirical marginal (with
replacement, missing cells included), so the baseline keeps every column's distribution and
breaks every dependence between columns. It is NOT differentially private (it resamples real
values): it is an upper bound of what "no correlations" can score, the bar a DP generator must
clear for its model to add anything. A synthetic table scoring at or below it on fidelity or
utility has learnt nothing a histogram per column would not give.

Each column draws from its own random stream, seeded by ``(seed, column name)``, so adding or
reordering columns leaves the other columns' samples unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


def independent_baseline(
    real: pd.DataFrame, *, rows: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """A table sampled column by column from the real rows' marginals.

    Args:
        real: the real training rows (never the holdout: the baseline stands for a generator
            that saw the same rows as the one it is compared with).
        rows: how many rows to draw; None draws as many as ``real`` has. Pass the synthetic
            table's size so both carry the same sampling noise.
        seed: seeds every column's stream.

    Returns:
        A table with ``real``'s columns, dtypes and index-free rows.

    Raises:
        ValueError: ``real`` has no rows to sample from, or ``rows`` is negative.
    """
    size = len(real) if rows is None else rows
    if size < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if size == 0:
        return real.iloc[:0].reset_index(drop=True)
    if len(real) == 0:
        raise ValueError("cannot sample a baseline from a table without rows")
    columns = {
        name: real[name]
        .iloc[_stream(seed, str(name)).integers(0, len(real), size)]
        .reset_index(drop=True)
        for name in real.columns
    }
    return pd.DataFrame(columns, index=pd.RangeIndex(size))
