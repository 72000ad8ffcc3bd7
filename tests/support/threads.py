"""Training in tests on few shared cores: one torch thread, one BLAS/OpenMP thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped, unused-ignore]


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with one torch thread and one BLAS/OpenMP thread, then restore.

    With two cores shared by several processes, torch's and BLAS' thread pools spin against the
    other tenants (measured under load: a 30-step ctgan fit took 115 s with 2 torch threads and
    9.6 s with 1; a dp-ctgan fit with the PRV accountant 33 s and 6.8 s).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)
