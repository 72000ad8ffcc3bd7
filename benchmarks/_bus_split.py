"""The two-process setup of ``benchmarks/bus.py``: producing and consuming service apart.

As deployed, the service that emits an event and the one that applies it are different processes,
each with its own PostgreSQL schema. Here the parent process creates the run's topics and starts
two children (``multiprocessing``, spawned, each on its own event loop):

* the producer: its schema's outbox, an ``OutboxRelay``, and the events (``emit_batches`` or
  ``emit_open_loop``);
* the consumer: its schema's inbox, outbox (dead letters) and handler table, an ``OutboxRelay``
  and the ``EventConsumer``, with the ``Probe`` timing each commit.

They talk to the parent through pipes: both report ``started``; the consumer reports ``warm``
once the producer's warm-up events are applied; the parent then sends the producer ``go``; the
producer reports when it started (``time.time_ns``) and the rate it offered, the consumer its
per-event latencies and last commit time. Latency crosses processes on the shared wall clock.
"""

from __future__ import annotations

import asyncio
import cProfile
import multiprocessing
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks._bus_rig import (
    WARMUP_EVENTS,
    EventSource,
    Latency,
    Probe,
    Throughput,
    bench_topics,
    count_rows,
    delete_topics,
    drop_schema,
    emit_batches,
    emit_open_loop,
    emit_warmup,
    fresh_name,
    open_database,
    subscription,
)
from sds_common.bus import EventConsumer, KafkaBroker, OutboxRelay
from sds_common.runtime.process import tune_gc

STEP_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Job:
    """One measurement; ``rate > 0`` is the latency run, otherwise throughput."""

    kafka: str
    postgres_url: str  # postgresql+asyncpg://
    name: str
    events: int
    per_transaction: int = 100
    rate: float = 0.0
    profile_dir: str | None = None  # cProfile both children into this folder
    batch: bool = False  # the consumer's handler in batch form


async def measure_throughput(
    *,
    kafka: str,
    postgres_url: str,
    events: int,
    per_transaction: int,
    profile_dir: str | None,
    batch: bool = False,
) -> Throughput:
    """``events`` in producer transactions of ``per_transaction``: first emit → last commit."""
    job = Job(
        kafka=kafka,
        postgres_url=postgres_url,
        name=fresh_name(),
        events=events,
        per_transaction=per_transaction,
        profile_dir=profile_dir,
        batch=batch,
    )
    sent, done = await _run(job)
    return Throughput(
        events=events,
        seconds=(done["last_commit_ns"] - sent["start_ns"]) / 1e9,
        rows=done["rows"],
        out_of_order=done["out_of_order"],
    )


async def measure_latency(
    *,
    kafka: str,
    postgres_url: str,
    rate: float,
    events: int,
    profile_dir: str | None,
    batch: bool = False,
) -> Latency:
    """One event per producer transaction, open-loop at ``rate``: ``occurred_at`` → commit."""
    job = Job(
        kafka=kafka,
        postgres_url=postgres_url,
        name=fresh_name(),
        events=events,
        rate=rate,
        profile_dir=profile_dir,
        batch=batch,
    )
    sent, done = await _run(job)
    return Latency.of(done["latencies_ns"], offered=sent["offered"], rows=done["rows"])


# ------------------------------------------------------------------------------ parent


async def _run(job: Job) -> tuple[dict[str, Any], dict[str, Any]]:
    names = bench_topics(f"{job.name}.")
    admin = KafkaBroker(bootstrap_servers=job.kafka, client_id="bench-parent")
    await admin.ensure_topics(names)  # before either side, so neither races the other to it
    context = multiprocessing.get_context("spawn")
    children = []
    try:
        pipes = {}
        for role, target in (("consumer", _consumer_process), ("producer", _producer_process)):
            mine, theirs = context.Pipe()
            child = context.Process(target=target, args=(theirs, job), name=f"bench-{role}")
            child.start()
            theirs.close()
            children.append(child)
            pipes[role] = mine
        consumer, producer = pipes["consumer"], pipes["producer"]
        await _expect(consumer, "started")
        await _expect(producer, "started")
        await _expect(consumer, "warm")
        producer.send({"step": "go"})
        sent = await _expect(producer, "sent")
        done = await _expect(consumer, "done")
        for conn in (producer, consumer):
            conn.send({"step": "stop"})
        return sent, done
    finally:
        for child in children:
            await asyncio.to_thread(child.join, 60)
            if child.is_alive():
                child.terminate()
        await delete_topics(job.kafka, names)


async def _expect(conn: Connection, step: str) -> dict[str, Any]:
    def receive() -> dict[str, Any]:
        if not conn.poll(STEP_TIMEOUT_S):
            raise TimeoutError(f"no {step!r} within {STEP_TIMEOUT_S:.0f} s")
        message: dict[str, Any] = conn.recv()
        return message

    message = await asyncio.to_thread(receive)
    if message.get("step") != step:
        raise RuntimeError(f"expected {step!r} from a child, got: {message.get('error', message)}")
    return message


# ------------------------------------------------------------------------------ children


def _consumer_process(conn: Connection, job: Job) -> None:
    _child(conn, job, "consumer", _consume)


def _producer_process(conn: Connection, job: Job) -> None:
    _child(conn, job, "producer", _produce)


def _child(
    conn: Connection,
    job: Job,
    role: str,
    body: Callable[[Connection, Job], Coroutine[Any, Any, None]],
) -> None:
    """Run ``body`` on uvloop (as uvicorn runs the services), profiled if asked."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    else:
        run = uvloop.run
    profile = cProfile.Profile() if job.profile_dir else None
    try:
        if profile is not None:
            profile.enable()
        run(body(conn, job))
    except BaseException:
        conn.send({"step": "error", "error": traceback.format_exc()})
        raise
    finally:
        if profile is not None and job.profile_dir is not None:
            profile.disable()
            kind = "latency" if job.rate else "throughput"
            profile.dump_stats(str(Path(job.profile_dir) / f"{role}-{kind}.prof"))
        conn.close()


async def _command(conn: Connection, step: str) -> None:
    message = await asyncio.to_thread(conn.recv)
    if message.get("step") != step:
        raise RuntimeError(f"expected {step!r} from the parent, got {message}")


async def _consume(conn: Connection, job: Job) -> None:
    schema = f"{job.name}_consumer"
    database, table = await open_database(job.postgres_url, schema=schema, prefix=f"{job.name}.")
    broker = KafkaBroker(bootstrap_servers=job.kafka, client_id="bench-consumer")
    await broker.start()
    probe = Probe()
    relay = OutboxRelay(database=database, broker=broker)  # this service's own dead letters
    consumer = EventConsumer(
        group_id=f"{job.name}-g",
        broker=broker,
        database=database,
        subscriptions=[subscription(table, probe, batch=job.batch)],
        actor="bench-consumer",
        fault_hook=probe.hook,
    )
    probe.reset(WARMUP_EVENTS)
    relay.start()
    consumer.start()
    tune_gc()  # as a service process does once started
    try:
        conn.send({"step": "started"})
        await asyncio.wait_for(probe.done.wait(), STEP_TIMEOUT_S)
        probe.reset(job.events)  # before `warm`: the producer starts only after it
        conn.send({"step": "warm"})
        await asyncio.wait_for(probe.done.wait(), STEP_TIMEOUT_S)
        conn.send(
            {
                "step": "done",
                "latencies_ns": probe.latencies_ns,
                "last_commit_ns": probe.last_commit_ns,
                "out_of_order": probe.out_of_order,
                "rows": await count_rows(database, table) - WARMUP_EVENTS,
            }
        )
        await _command(conn, "stop")
    finally:
        await consumer.stop()
        await relay.stop()
        await broker.stop()
        await drop_schema(database.engine, schema)
        await database.dispose()


async def _produce(conn: Connection, job: Job) -> None:
    schema = f"{job.name}_producer"
    database, _ = await open_database(job.postgres_url, schema=schema, prefix=f"{job.name}.")
    broker = KafkaBroker(bootstrap_servers=job.kafka, client_id="bench-producer")
    await broker.start()
    relay = OutboxRelay(database=database, broker=broker)
    relay.start()
    tune_gc()  # as a service process does once started
    try:
        await emit_warmup(database)
        conn.send({"step": "started"})
        await _command(conn, "go")
        source = EventSource()
        if job.rate > 0:
            offered = await emit_open_loop(database, source, rate=job.rate, events=job.events)
            conn.send({"step": "sent", "start_ns": 0, "offered": offered})
        else:
            start_ns = await emit_batches(
                database, source, events=job.events, per_transaction=job.per_transaction
            )
            conn.send({"step": "sent", "start_ns": start_ns, "offered": 0.0})
        await _command(conn, "stop")
    finally:
        await relay.stop()
        await broker.stop()
        await drop_schema(database.engine, schema)
        await database.dispose()
