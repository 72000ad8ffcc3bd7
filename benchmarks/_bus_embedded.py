"""The one-process setup of ``benchmarks/bus.py``: producer, relay and consumer share a loop.

That is the embedded deployment (``MemoryBroker`` + SQLite), where every service runs in one
process. The rig works with any broker and database; ``bus.py`` uses it for the embedded setup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Table

from benchmarks._bus_rig import (
    WARMUP_EVENTS,
    EventSource,
    Latency,
    Probe,
    Throughput,
    bench_topics,
    count_rows,
    drop_schema,
    emit_batches,
    emit_open_loop,
    emit_warmup,
    fresh_name,
    open_database,
    subscription,
)
from sds_common.bus import Broker, EventConsumer, OutboxRelay
from sds_common.db import Database
from sds_common.runtime.process import tune_gc


@dataclass
class Rig:
    """One run's database, handler table and probe, relay and consumer running."""

    database: Database
    table: Table
    probe: Probe

    async def rows(self) -> int:
        """Rows applied by the measured events (the warm-up's excluded)."""
        return await count_rows(self.database, self.table) - WARMUP_EVENTS


@asynccontextmanager
async def rig(
    *,
    broker_factory: Callable[[], Broker],
    database_url: Callable[[str], str],
    postgres: bool,
    batch: bool = False,
) -> AsyncIterator[Rig]:
    """Fresh schema/file, topic prefix and group; relay and consumer running and warmed up."""
    name = fresh_name()
    schema = name if postgres else None
    database, table = await open_database(database_url(name), schema=schema, prefix=f"{name}.")
    broker = broker_factory()
    await broker.start()
    await broker.ensure_topics(bench_topics(f"{name}."))
    probe = Probe()
    relay = OutboxRelay(database=database, broker=broker)
    consumer = EventConsumer(
        group_id=f"{name}-g",
        broker=broker,
        database=database,
        subscriptions=[subscription(table, probe, batch=batch)],
        actor="bench-consumer",
        fault_hook=probe.hook,
    )
    relay.start()
    consumer.start()
    tune_gc()  # as a service process does once started
    try:
        # Warm up: the group has joined, the pools are open, every code path has run once.
        probe.reset(WARMUP_EVENTS)
        await emit_warmup(database)
        await asyncio.wait_for(probe.done.wait(), 60)
        yield Rig(database=database, table=table, probe=probe)
    finally:
        await consumer.stop()
        await relay.stop()
        await broker.stop()
        if schema is not None:
            await drop_schema(database.engine, schema)
        await database.dispose()


async def measure_throughput(
    *,
    broker_factory: Callable[[], Broker],
    database_url: Callable[[str], str],
    postgres: bool,
    events: int,
    per_transaction: int,
    batch: bool = False,
) -> Throughput:
    """Emit ``events`` in transactions of ``per_transaction``; time until the last is applied."""
    async with rig(
        broker_factory=broker_factory, database_url=database_url, postgres=postgres, batch=batch
    ) as r:
        r.probe.reset(events)
        start_ns = await emit_batches(
            r.database, EventSource(), events=events, per_transaction=per_transaction
        )
        await asyncio.wait_for(r.probe.done.wait(), 300)
        return Throughput(
            events=events,
            seconds=(r.probe.last_commit_ns - start_ns) / 1e9,
            rows=await r.rows(),
            out_of_order=r.probe.out_of_order,
        )


async def measure_latency(
    *,
    broker_factory: Callable[[], Broker],
    database_url: Callable[[str], str],
    postgres: bool,
    rate: float,
    events: int,
    batch: bool = False,
) -> Latency:
    """Emit one event per transaction at ``rate``; latency from ``occurred_at`` to commit."""
    async with rig(
        broker_factory=broker_factory, database_url=database_url, postgres=postgres, batch=batch
    ) as r:
        r.probe.reset(events)
        offered = await emit_open_loop(r.database, EventSource(), rate=rate, events=events)
        await asyncio.wait_for(r.probe.done.wait(), 120)
        return Latency.of(r.probe.latencies_ns, offered=offered, rows=await r.rows())
