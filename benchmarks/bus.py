"""Bus benchmark (`make bench-bus`): events end to end through the outbox, Kafka and in-process.

Each event takes the production path: a producer commits it with ``Database.unit_of_work`` +
``uow.emit`` (outbox row in the same transaction), the ``OutboxRelay`` publishes it, and an
``EventConsumer`` applies it with inbox deduplication, its handler inserting one row into a domain
table in the consumer's transaction. Everything runs in this process on the event loop the services
use (uvloop under uvicorn), against two setups: real Kafka + PostgreSQL (``.services/env``), and the
in-process ``MemoryBroker`` + a SQLite file.

Two measurements per setup, each with a fresh topic prefix, schema (or file) and consumer group:

* throughput: ``N`` ``TrainingProgress`` events emitted in transactions of 100, counted from the
  first emit to the consumer's database commit of the last one;
* latency: one event per transaction at a paced 200 events/s, from the envelope's ``occurred_at``
  (set at emit, before the producer's commit) to the consumer's database commit.

The results replace the ``## Bus (make bench-bus)`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text

from sds_common.bus import Broker, EventConsumer, KafkaBroker, MemoryBroker, OutboxRelay
from sds_common.bus.consumer import Subscription
from sds_common.db import Database, create_engine, ensure_schema
from sds_common.db.uow import UnitOfWork
from sds_common.events import Envelope, Event, TrainingProgress, topics

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._results import machine_facts, write_section  # noqa: E402

SECTION = "Bus (make bench-bus)"
THROUGHPUT_EVENTS = 20_000
EVENTS_PER_TRANSACTION = 100
LATENCY_RATE = 200.0
LATENCY_SECONDS = 12.0
TARGET_THROUGHPUT = 2_000.0
TARGET_P99_MS = 250.0
GENERATORS = 64  # partition keys: each generator's epochs must arrive in order
WARMUP_EVENTS = 10


# ------------------------------------------------------------------------------ what we measure


@dataclass
class Probe:
    """Sees every handled event and, through the consumer's commit hook, when it committed."""

    expected: int = 0
    handled: int = 0
    out_of_order: int = 0
    latencies_s: list[float] = field(default_factory=list)
    last_commit: float = 0.0  # perf_counter
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _staged: list[float] = field(default_factory=list)
    _last_epoch: dict[UUID, int] = field(default_factory=dict)

    def reset(self, expected: int) -> None:
        self.expected, self.handled, self.out_of_order = expected, 0, 0
        self.latencies_s = []
        self.done.clear()

    def on_handled(self, envelope: Envelope, event: TrainingProgress) -> None:
        self._staged.append(envelope.occurred_at.timestamp())
        previous = self._last_epoch.get(event.generator_id, -1)
        if event.epoch <= previous:
            self.out_of_order += 1
        self._last_epoch[event.generator_id] = event.epoch

    def hook(self, point: str) -> None:
        """``EventConsumer`` fault hook: called right after each batch's database commit."""
        if point != "after_db_commit" or not self._staged:
            return
        now = time.time()
        self.last_commit = time.perf_counter()
        self.latencies_s.extend(now - t for t in self._staged)
        self.handled += len(self._staged)
        self._staged.clear()
        if self.expected and self.handled >= self.expected:
            self.done.set()


def progress_table(metadata: MetaData) -> Table:
    return Table(
        "bench_progress",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("generator_id", String(64), nullable=False),
        Column("epoch", Integer, nullable=False),
    )


# ------------------------------------------------------------------------------ the rig


@dataclass(frozen=True)
class Backend:
    """One setup: a broker factory and a database."""

    label: str
    broker: Callable[[], Broker]
    database_url: Callable[[str], str]  # of the run's name (a fresh SQLite file per run)
    postgres: bool


@dataclass
class Rig:
    database: Database
    table: Table
    probe: Probe
    generators: list[UUID]
    epochs: dict[UUID, int] = field(default_factory=dict)

    def next_event(self, i: int) -> TrainingProgress:
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

    async def rows(self) -> int:
        async with self.database.sessions() as session:
            query = select(func.count()).select_from(self.table)
            return int((await session.execute(query)).scalar_one())


@asynccontextmanager
async def rig(backend: Backend) -> AsyncIterator[Rig]:
    """Fresh schema/file, topic prefix and group; relay and consumer running and warmed up."""
    name = f"bench_{uuid4().hex[:10]}"
    prefix = f"{name}."
    schema = name if backend.postgres else None
    engine = create_engine(backend.database_url(name), schema=schema)
    await ensure_schema(engine, schema)
    metadata = MetaData()
    table = progress_table(metadata)
    database = Database(engine=engine, metadata=metadata, topic_name=lambda t: prefix + t)
    await database.create_all()
    broker = backend.broker()
    await broker.start()
    topic = database.topic_name(topics.TRAINING)
    await broker.ensure_topics([topic, topics.dlq(topic)])
    probe = Probe()

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

    relay = OutboxRelay(database=database, broker=broker)
    consumer = EventConsumer(
        group_id=f"{name}-g",
        broker=broker,
        database=database,
        subscriptions=[Subscription.of(TrainingProgress, handle, name="bench")],
        actor="bench-consumer",
        fault_hook=probe.hook,
    )
    relay.start()
    consumer.start()
    r = Rig(
        database=database,
        table=table,
        probe=probe,
        generators=[uuid4() for _ in range(GENERATORS)],
    )
    try:
        # Warm up: the group has joined, the pools are open, every code path has run once.
        probe.reset(WARMUP_EVENTS)
        warm = Rig(database=database, table=table, probe=probe, generators=[uuid4()])
        async with database.unit_of_work(actor="bench") as uow:
            for i in range(WARMUP_EVENTS):
                await uow.emit(warm.next_event(i))
        await asyncio.wait_for(probe.done.wait(), 60)
        yield r
    finally:
        await consumer.stop()
        await relay.stop()
        await broker.stop()
        if backend.postgres:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if isinstance(broker, KafkaBroker):
            await _delete_topics(broker, [topic, topics.dlq(topic)])
        await database.dispose()


async def _delete_topics(broker: KafkaBroker, names: Sequence[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        with contextlib.suppress(Exception):
            await admin.delete_topics(list(names))
    finally:
        await admin.close()


# ------------------------------------------------------------------------------ measurements


@dataclass(frozen=True)
class Throughput:
    events: int
    seconds: float
    rows: int
    out_of_order: int

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class Latency:
    events: int
    offered_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    rows: int


async def measure_throughput(
    backend: Backend, *, events: int, per_transaction: int = EVENTS_PER_TRANSACTION
) -> Throughput:
    """Emit ``events`` in transactions of ``per_transaction``; time until the last is applied."""
    async with rig(backend) as r:
        r.probe.reset(events)
        start = time.perf_counter()
        for first in range(0, events, per_transaction):
            async with r.database.unit_of_work(actor="bench") as uow:
                for i in range(first, min(first + per_transaction, events)):
                    await uow.emit(r.next_event(i))
        await asyncio.wait_for(r.probe.done.wait(), 300)
        return Throughput(
            events=events,
            seconds=r.probe.last_commit - start,
            rows=await r.rows() - WARMUP_EVENTS,
            out_of_order=r.probe.out_of_order,
        )


async def measure_latency(backend: Backend, *, rate: float, seconds: float) -> Latency:
    """Emit one event per transaction at ``rate``; latency from ``occurred_at`` to commit.

    The load is open-loop, like independent requests: each transaction starts on schedule in its
    own task, whether or not the previous one has finished, so a slow pipeline cannot lower the
    offered rate. ``occurred_at`` is stamped at ``emit``, before the producer's transaction
    touches the database, so waits for a connection count as latency.
    """
    events = max(1, round(rate * seconds))
    async with rig(backend) as r:
        r.probe.reset(events)
        pending: set[asyncio.Task[None]] = set()

        async def produce(event: TrainingProgress) -> None:
            async with r.database.unit_of_work(actor="bench") as uow:
                await uow.emit(event)

        start = time.perf_counter()
        for i in range(events):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(produce(r.next_event(i)))
            pending.add(task)
            task.add_done_callback(pending.discard)
        offered = events / max(time.perf_counter() - start, 1e-9) if events > 1 else rate
        await asyncio.gather(*pending)
        await asyncio.wait_for(r.probe.done.wait(), 120)
        latencies = sorted(r.probe.latencies_s)
        return Latency(
            events=events,
            offered_per_second=offered,
            p50_ms=_quantile(latencies, 0.50) * 1000,
            p99_ms=_quantile(latencies, 0.99) * 1000,
            max_ms=latencies[-1] * 1000,
            rows=await r.rows() - WARMUP_EVENTS,
        )


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# ------------------------------------------------------------------------------ report


def kafka_backend() -> Backend:
    """Real Kafka + PostgreSQL, from ``.services/env`` (``make services``) or ``SDS_TEST_*``."""
    env = _services_env()
    kafka, postgres = env.get("SDS_TEST_KAFKA"), env.get("SDS_TEST_POSTGRES")
    if not kafka or not postgres:
        raise SystemExit("Kafka/PostgreSQL not configured: run `make services` first")
    url = postgres.replace("postgresql://", "postgresql+asyncpg://", 1)
    return Backend(
        label="Kafka + PostgreSQL",
        broker=lambda: KafkaBroker(bootstrap_servers=kafka, client_id="bench-bus"),
        database_url=lambda _name: url,
        postgres=True,
    )


def memory_backend(sqlite_dir: Path) -> Backend:
    """The in-process broker + one SQLite file per run under ``sqlite_dir``."""
    return Backend(
        label="MemoryBroker + SQLite",
        broker=MemoryBroker,
        database_url=lambda name: f"sqlite+aiosqlite:///{sqlite_dir / name}.sqlite",
        postgres=False,
    )


def _services_env() -> dict[str, str]:
    values: dict[str, str] = {}
    env_file = ROOT / ".services" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and not key.startswith("#"):
                values[key] = value.strip().strip("'\"")
    values.update({k: v for k, v in os.environ.items() if k.startswith("SDS_TEST_")})
    return values


async def _versions(backend: Backend) -> str:
    engine = create_engine(backend.database_url("versions"))
    try:
        async with engine.connect() as conn:
            pg = (await conn.execute(text("SHOW server_version"))).scalar_one()
    finally:
        await engine.dispose()
    jars = sorted((ROOT / ".services" / "lib" / "kafka").glob("kafka-server-[0-9]*.jar"))
    kafka = jars[-1].stem.removeprefix("kafka-server-") if jars else "unknown"
    return f"Kafka {kafka} (KRaft, 1 broker, 3 partitions, acks=all), PostgreSQL {pg}"


def report(
    rows: Sequence[tuple[Backend, Throughput, Latency]], *, facts: str, versions: str, loop: str
) -> str:
    """The Markdown section: context, then one row per setup."""
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {facts}; {versions}; event loop {loop}.",
        "Producer, outbox relay and consumer share this one process and its event loop; the",
        "services (Kafka, PostgreSQL) run on the same machine.",
        "",
        f"Targets: **≥ {TARGET_THROUGHPUT:,.0f} events/s through real Kafka with the outbox; "
        f"p99 < {TARGET_P99_MS:.0f} ms at {LATENCY_RATE:.0f} events/s**.",
        "",
        f"Throughput: {THROUGHPUT_EVENTS:,} `TrainingProgress` events, {EVENTS_PER_TRANSACTION}"
        " per producer transaction, first emit → last consumer commit. Latency: one event per "
        f"transaction, open-loop at {LATENCY_RATE:.0f}/s for {LATENCY_SECONDS:.0f} s, "
        "`occurred_at` (stamped at emit) → consumer commit. *Applied* counts rows in the "
        "handler's table (exactly once) and, in the throughput run (one sequential producer), "
        "events seen out of per-key order (must be 0).",
        "",
        "| Setup | Throughput (events/s) | Latency p50 | p99 | max | Offered rate | Applied "
        "(out of order) | Targets |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for backend, thr, lat in rows:
        ok = thr.per_second >= TARGET_THROUGHPUT and lat.p99_ms < TARGET_P99_MS
        lines.append(
            f"| {backend.label} | {thr.per_second:,.0f} ({thr.events:,} in {thr.seconds:.1f} s) "
            f"| {lat.p50_ms:.1f} ms | {lat.p99_ms:.1f} ms | {lat.max_ms:.1f} ms "
            f"| {lat.offered_per_second:.0f}/s "
            f"| {thr.rows:,} ({thr.out_of_order}) + {lat.rows:,} "
            f"| {'met' if ok else '**missed**'} |"
        )
    return "\n".join(lines)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sds-bench-bus-") as tmp:
        rows: list[tuple[Backend, Throughput, Latency]] = []
        setups = [kafka_backend(), memory_backend(Path(tmp))]
        versions = await _versions(setups[0])
        for backend in setups:
            print(f"{backend.label}: throughput ...", flush=True)
            thr = await measure_throughput(backend, events=THROUGHPUT_EVENTS)
            print(f"  {thr.per_second:,.0f} events/s", flush=True)
            print(f"{backend.label}: latency ...", flush=True)
            lat = await measure_latency(backend, rate=LATENCY_RATE, seconds=LATENCY_SECONDS)
            print(f"  p50 {lat.p50_ms:.1f} ms, p99 {lat.p99_ms:.1f} ms", flush=True)
            rows.append((backend, thr, lat))
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    facts = f"{machine_facts()}, load average {load} (1/5/15 min) at the end"
    section = report(rows, facts=facts, versions=versions, loop=loop)
    write_section(SECTION, section)
    print()
    print(section)


def run() -> None:
    """Run on uvloop when installed, as uvicorn (``loop="auto"``) runs the services."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    run()
