"""Where the data starts and stops among an end node's children (see :mod:`.tree`).

Post-processing of one level's noisy child counts: pooled tests that tell the part of an end
node holding rows from the part holding only noise. Pooling adjacent children lets a thin part of
the data (a thinning tail, a small table's spread) pass together where no child would alone; the
noise of a pooled count grows with the root of its size, so the tests are in deviations of that.
"""

from __future__ import annotations

import math

import numpy as np

from sds_trainer.domain.synthesizers.codec.mechanisms import FloatArray

#: How many deviations of its own noise the outer run of an end's children must stand above 0 for
#: the data to be taken to start in it (see :func:`outer_edge`).
OUTER_Z = 4.0


def outer_edge(child: FloatArray, *, sigma: float, limit: int) -> int:
    """Where the data starts among an end node's children, read from the outside (index 0) in:
    the first child ``j`` whose outer run ``0..j`` holds a count standing :data:`OUTER_Z`
    deviations of its own noise (``sigma·√(j+1)``) above 0, and never beyond ``limit`` (the
    outermost sure child).

    A thinning tail (an income's students, a price's few dear items) spreads over several
    children none of which is sure on its own; pooled from the outside they stand clear where
    the tail is still thick enough to matter, and its thinnest part is cut. Beyond a sharp edge
    the outer children hold only noise, whose pooled runs rarely reach that level.
    """
    runs = np.cumsum(child[:limit])
    clear = np.flatnonzero(runs > OUTER_Z * sigma * np.sqrt(np.arange(1, limit + 1)))
    return int(clear[0]) if clear.size else limit


def pava(values: FloatArray) -> FloatArray:
    """Non-decreasing least-squares fit (pool adjacent violators), equal weights."""
    sums: list[float] = []
    sizes: list[int] = []
    for v in values:
        sums.append(float(v))
        sizes.append(1)
        while len(sums) > 1 and sums[-2] / sizes[-2] > sums[-1] / sizes[-1]:
            total, size = sums.pop(), sizes.pop()
            sums[-1] += total
            sizes[-1] += size
    return np.repeat(np.asarray(sums) / np.asarray(sizes), sizes)


def unimodal(child: FloatArray) -> FloatArray:
    """Counts fitted to rise to one mode and fall from it (the best mode, least squares)."""
    best: FloatArray | None = None
    for mode in range(1, len(child) + 1):
        fit = np.concatenate([pava(child[:mode]), pava(child[mode:][::-1])[::-1]])
        if best is None or float(((fit - child) ** 2).sum()) < float(((best - child) ** 2).sum()):
            best = fit
    assert best is not None
    return best


def clear_blocks(
    child: FloatArray, *, sigma: float, z: float, first: bool, last: bool
) -> tuple[int, int] | None:
    """The children an end node keeps: from the outermost clear block inwards (both ways where
    the node holds the whole column), or None when no block is clear.

    The counts are fitted to grow inwards (non-decreasing at the first end, non-increasing at the
    last, unimodal where one node is both; pool adjacent violators); runs of equal fit are
    blocks, and a block is clear when its count stands ``z`` deviations of its own noise
    (``z·sigma·√size``) above 0. Pooling lets the part of the data spread over several faint
    children pass together, where one child at a time would not; a pure-noise run outside the
    data fits about flat at its smallest mean, so it is cut.
    """
    if first and last:
        fit = unimodal(child)
    elif first:
        fit = pava(child)
    else:
        fit = pava(child[::-1])[::-1]
    starts = [0, *[j for j in range(1, len(fit)) if fit[j] != fit[j - 1]]]
    ends = [*starts[1:], len(fit)]
    clear = [
        i
        for i, (a, b) in enumerate(zip(starts, ends, strict=True))
        if float(child[a:b].sum()) > z * sigma * math.sqrt(b - a)
    ]
    if not clear:
        return None
    return (starts[clear[0]] if first else 0), (ends[clear[-1]] - 1 if last else len(child) - 1)
