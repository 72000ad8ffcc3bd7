"""Process-wide settings of a long-running service process."""

from __future__ import annotations

import gc
from typing import Final

#: Net container allocations between two collections of the youngest generation (CPython: 700).
GC_YOUNG_THRESHOLD: Final = 20_000


def tune_gc(*, young_threshold: int = GC_YOUNG_THRESHOLD) -> None:
    """Make CPython's cyclic garbage collector cheap for a service process; call once started.

    What exists by now (modules, the assembled and started service) lives as long as the
    process, so it is frozen out of the collector's view, and the youngest generation is
    collected less often. A consumer batch holds tens of thousands of short-lived containers at
    once; at the default threshold the collector re-scanned them dozens of times per batch, and
    the whole heap every few hundred events: about a quarter of the audit service's CPU per
    event (``benchmarks/audit.py``). Each full collection of an unfrozen heap also paused the
    bus benchmark's producer and consumer processes for 27-108 ms (``gc.callbacks``, ``make
    bench-bus``), straight into the latency tail. Reference counting still frees almost
    everything at once. Not for a process that builds many apps (a test run): what it freezes
    is never collected.

    Args:
        young_threshold: collect the youngest generation after this many net allocations.
    """
    gc.collect()  # garbage of start-up is freed, not frozen
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
