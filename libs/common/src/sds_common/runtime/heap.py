"""Short garbage-collector pauses for long-running services."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move every object alive now into the collector's permanent generation.

    A service starts by importing its libraries (pydantic, SQLAlchemy, aiokafka, often torch) and
    building its app: a large heap of objects that live as long as the process. Every full
    (generation 2) collection walks all of them again; in the bus benchmark's producer and
    consumer processes each one took 27-108 ms (``gc.callbacks``, ``make bench-bus``), a pause in
    which no request is answered and no message moves, so it lands straight in the latency tail.
    Frozen objects are skipped by every later collection. Call once, when start-up is done.
    """
    gc.collect()
    gc.freeze()
