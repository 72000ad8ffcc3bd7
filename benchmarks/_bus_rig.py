"""Parts of ``benchmarks/bus.py`` shared by its one-process and two-process setups.

The producing side emits ``TrainingProgress`` events through ``Database.unit_of_work``; the
consuming side applies them with an ``EventConsumer`` whose handler inserts one row. A ``Probe``
on the consuming side records, through the consumer's commit hook, when each event's transaction
committed. Times are ``time.time_ns()`` wall clock, so the two sides may live in different
processes of one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import perf_counter, time_ns
from uuid import UUID, uuid4

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sds_common.bus.subscription import BatchItems, Subscription
from sds_common.db import Database, create_engine, ensure_schema
from sds_common.db.uow import UnitOfWork
from sds_common.events import Envelope, Event, TrainingProgress, topics

GENERATORS = 64  # partition keys: each generator's epochs must arrive in order
WARMUP_EVENTS = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def wall_ns(moment: datetime) -> int:
    """``moment`` in ``time.time_ns()`` units, exactly (no float rounding)."""
    return (moment - _EPOCH) // _MICROSECOND * 1000


# ------------------------------------------------------------------------------ consuming side


@dataclass
class Probe:
    """Sees every handled event and, through the consumer's commit hook, when it committed."""

    expected: int = 0
    handled: int = 0
    out_of_order: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    last_commit_ns: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _staged: list[int] = field(default_factory=list)
    _last_epoch: dict[UUID, int] = field(default_factory=dict)

    def reset(self, expected: int) -> None:
        """Start counting towards ``expected`` events."""
        self.expected, self.handled, self.out_of_order = expected, 0, 0
        self.latencies_ns = []
        self.done.clear()

    def on_handled(self, envelope: Envelope, event: TrainingProgress) -> None:
        """Called by the handler, inside the consumer's transaction."""
        self._staged.append(wall_ns(envelope.occurred_at))
        previous = self._last_epoch.get(event.generator_id, -1)
        if event.epoch <= previous:
            self.out_of_order += 1
        self._last_epoch[event.generator_id] = event.epoch

    def hook(self, point: str) -> None:
        """``EventConsumer`` fault hook: called right after each batch's database commit."""
        if point != "after_db_commit" or not self._staged:
            return
        now = time_ns()
        self.last_commit_ns = now
        self.latencies_ns.extend(now - t for t in self._staged)
        self.handled += len(self._staged)
        self._staged.clear()
        if self.expected and self.handled >= self.expected:
            self.done.set()


def progress_table(metadata: MetaData) -> Table:
    """The handler's domain table."""
    return Table(
        "bench_progress",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("generator_id", String(64), nullable=False),
        Column("epoch", Integer, nullable=False),
    )


def subscription(table: Table, probe: Probe, *, batch: bool = False) -> Subscription:
    """The benchmark's handler, written the way the services write theirs.

    ``batch=False``: one ``INSERT`` per event (``Subscription.of``); ``batch=True``: one
    ``executemany`` per fetch (``Subscription.batch``), as the audit service writes its log.
    """

    async def handle(envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, TrainingProgress)
        await uow.session.execute(
            insert(table).values(
                event_id=str(envelope.event_id),
                generator_id=str(event.generator_id),
                epoch=event.epoch,
            )
        )
        probe.on_handled(envelope, event)

    async def handle_many(items: BatchItems, uow: UnitOfWork) -> None:
        rows = []
        for envelope, event in items:
            assert isinstance(event, TrainingProgress)
            rows.append(
                {
                    "event_id": str(envelope.event_id),
                    "generator_id": str(event.generator_id),
                    "epoch": event.epoch,
                }
            )
            probe.on_handled(envelope, event)
        await uow.session.execute(insert(table), rows)

    if batch:
        return Subscription.batch(TrainingProgress, handle_many, name="bench")
    return Subscription.of(TrainingProgress, handle, name="bench")


async def count_rows(database: Database, table: Table) -> int:
    """Rows the handler inserted."""
    async with database.sessions() as session:
        query = select(func.count()).select_from(table)
        return int((await session.execute(query)).scalar_one())


# ------------------------------------------------------------------------------ producing side


@dataclass
class EventSource:
    """``TrainingProgress`` events of ``GENERATORS`` generators, epochs in order per generator."""

    generators: list[UUID] = field(default_factory=lambda: [uuid4() for _ in range(GENERATORS)])
    epochs: dict[UUID, int] = field(default_factory=dict)

    def next_event(self, i: int) -> TrainingProgress:
        """The ``i``-th event (round-robin over the generators)."""
        generator = self.generators[i % len(self.generators)]
        epoch = self.epochs.get(generator, -1) + 1
        self.epochs[generator] = epoch
        return TrainingProgress(
            generator_id=generator,
            epoch=epoch,
            total_epochs=1_000_000,
            epsilon_spent=0.01 * epoch,
            losses={"generator": 0.71, "discriminator": 0.64},
        )


async def emit_warmup(database: Database) -> None:
    """``WARMUP_EVENTS`` events of one extra generator, in one transaction."""
    source = EventSource(generators=[uuid4()])
    async with database.unit_of_work(actor="bench") as uow:
        for i in range(WARMUP_EVENTS):
            await uow.emit(source.next_event(i))


async def emit_batches(
    database: Database, source: EventSource, *, events: int, per_transaction: int
) -> int:
    """Emit ``events`` in transactions of ``per_transaction``; return the first emit's time."""
    start_ns = time_ns()
    for first in range(0, events, per_transaction):
        async with database.unit_of_work(actor="bench") as uow:
            for i in range(first, min(first + per_transaction, events)):
                await uow.emit(source.next_event(i))
    return start_ns


async def emit_open_loop(
    database: Database, source: EventSource, *, rate: float, events: int
) -> float:
    """Emit one event per transaction at ``rate``; return the rate actually offered.

    The load is open-loop, like independent requests: each transaction starts on schedule in its
    own task, whether or not the previous one has finished, so a slow pipeline cannot lower the
    offered rate. ``occurred_at`` is stamped at ``emit``, before the transaction touches the
    database, so waits for a connection count as latency.
    """

    async def produce(event: TrainingProgress) -> None:
        async with database.unit_of_work(actor="bench") as uow:
            await uow.emit(event)

    pending: set[asyncio.Task[None]] = set()
    start = perf_counter()
    for i in range(events):
        delay = start + i / rate - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(produce(source.next_event(i)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    offered = events / max(perf_counter() - start, 1e-9) if events > 1 else rate
    await asyncio.gather(*pending)
    return offered


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Throughput:
    """``events`` applied in ``seconds`` (first emit → last consumer commit)."""

    events: int
    seconds: float
    rows: int
    out_of_order: int

    @property
    def per_second(self) -> float:
        """Events per second."""
        return self.events / self.seconds


@dataclass(frozen=True)
class Latency:
    """Emit → consumer commit at an offered rate."""

    events: int
    offered_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    rows: int

    @classmethod
    def of(cls, latencies_ns: Sequence[int], *, offered: float, rows: int) -> Latency:
        """Summarise per-event latencies."""
        ordered = sorted(latencies_ns)
        return cls(
            events=len(ordered),
            offered_per_second=offered,
            p50_ms=_quantile(ordered, 0.50) / 1e6,
            p99_ms=_quantile(ordered, 0.99) / 1e6,
            max_ms=ordered[-1] / 1e6,
            rows=rows,
        )


def _quantile(ordered: Sequence[int], q: float) -> int:
    """Nearest-rank quantile of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# ------------------------------------------------------------------------------ databases


def fresh_name() -> str:
    """A fresh topic prefix / schema / group stem."""
    return f"bench_{uuid4().hex[:10]}"


async def open_database(url: str, *, schema: str | None, prefix: str) -> tuple[Database, Table]:
    """A service's database in its own schema (or SQLite file), tables created."""
    engine = create_engine(url, schema=schema)
    await ensure_schema(engine, schema)
    metadata = MetaData()
    table = progress_table(metadata)
    database = Database(engine=engine, metadata=metadata, topic_name=lambda t: prefix + t)
    await database.create_all()
    return database, table


async def drop_schema(engine: AsyncEngine, schema: str) -> None:
    """Remove a run's PostgreSQL schema."""
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def bench_topics(prefix: str) -> list[str]:
    """The physical topics of a run: ``training`` and its dead-letter topic."""
    topic = prefix + topics.TRAINING
    return [topic, topics.dlq(topic)]


async def delete_topics(bootstrap_servers: str, names: Sequence[str]) -> None:
    """Best-effort removal of a run's Kafka topics."""
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        with contextlib.suppress(Exception):
            await admin.delete_topics(list(names))
    finally:
        await admin.close()
