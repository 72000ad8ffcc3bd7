"""The ingest half of ``benchmarks/audit.py``: real Kafka into the real audit service on PostgreSQL.

The parent creates a fresh topic set and starts two processes (``multiprocessing``, spawned, each
on its own uvloop event loop, as deployed):

* the audit service, assembled by the real bootstrap from ``AuditSettings`` (Kafka, PostgreSQL in
  a fresh schema migrated by Alembic, its own consumer group), with a ``Probe`` that counts the
  events its batch subscription hands to the real handler and, through the consumer's commit
  hook, when each batch committed;
* a producer that publishes realistic envelopes (``_audit_events``) straight to the topics, as
  the services' outbox relays do.

Steps: both report ``started``; the producer publishes one warm-up life, the service reports
``warm`` once it is in the log; the parent sends the producer ``go`` and the producer publishes
the measured events as fast as Kafka takes them; the service reports ``done`` with its commit
times once every event is in the log, after counting the rows and verifying the chain.
"""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
import multiprocessing
import os
import tempfile
import traceback
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from time import process_time, time_ns
from typing import Any

from sqlalchemy import func, select

from benchmarks._audit_events import EVENTS_PER_LIFE, envelopes
from benchmarks._bus_rig import delete_topics, drop_schema, fresh_name
from sds_audit import handlers
from sds_audit.adapters.orm import audit_log
from sds_audit.bootstrap import SPEC, audit_log_of
from sds_audit.config import AuditSettings
from sds_common.bus import BatchHandler, BatchItems, KafkaBroker, OutgoingMessage, Subscription
from sds_common.bus.runtime import all_topics
from sds_common.db import UnitOfWork, create_engine
from sds_common.events import lookup
from sds_common.runtime.process import tune_gc
from sds_common.runtime.service import Service
from sds_common.runtime.service import bootstrap as assemble

STEP_TIMEOUT_S = 600.0
#: ``BENCH_AUDIT_PROFILE=DIR`` writes cProfile files of both processes to ``DIR``.
PROFILE_ENV = "BENCH_AUDIT_PROFILE"
WARMUP_EVENTS = EVENTS_PER_LIFE
PUBLISH_CHUNK = 1000


@dataclass(frozen=True)
class Ingest:
    """``events`` ingested; commit times on the wall clock shared by the processes.

    Attributes:
        events: measured events published.
        records: measured records in the log afterwards (must equal ``events``).
        distinct_event_ids: distinct event ids among all records (duplicates: fewer).
        publish_start_ns: the producer's first send.
        publish_end_ns: the producer's last send acknowledged.
        first_commit_ns: the first commit of measured events.
        last_commit_ns: the commit of the last measured event.
        first_commit_records: records that first commit held.
        commits: transactions the measured events took.
        cpu_seconds: CPU time of the audit service's process from the first commit to the last.
        verified: the whole chain (warm-up included) verified afterwards.
        verify_detail: what verification said.
    """

    events: int
    records: int
    distinct_event_ids: int
    publish_start_ns: int
    publish_end_ns: int
    first_commit_ns: int
    last_commit_ns: int
    first_commit_records: int
    commits: int
    cpu_seconds: float
    verified: bool
    verify_detail: str

    @property
    def per_second(self) -> float:
        """Records/s from the first commit to the last (the first commit's records excluded)."""
        seconds = (self.last_commit_ns - self.first_commit_ns) / 1e9
        return (self.events - self.first_commit_records) / seconds if seconds > 0 else 0.0

    @property
    def end_to_end_per_second(self) -> float:
        """Records/s from the producer's first send to the last commit."""
        return self.events / ((self.last_commit_ns - self.publish_start_ns) / 1e9)

    @property
    def publish_per_second(self) -> float:
        """Events/s the producer published at."""
        return self.events / max((self.publish_end_ns - self.publish_start_ns) / 1e9, 1e-9)

    @property
    def mean_batch(self) -> float:
        """Records per consumer transaction."""
        return self.events / self.commits if self.commits else 0.0


@dataclass(frozen=True)
class Job:
    """One ingest run."""

    kafka: str
    postgres_url: str  # postgresql+asyncpg://
    name: str
    events: int


async def measure_ingest(*, kafka: str, postgres_url: str, events: int) -> Ingest:
    """Publish ``events`` realistic events to a fresh topic set; time the audit service's ingest."""
    job = Job(kafka=kafka, postgres_url=postgres_url, name=fresh_name(), events=events)
    settings = _settings(job, data_dir=Path(tempfile.gettempdir()))
    names = all_topics(settings)
    admin = KafkaBroker(bootstrap_servers=kafka, client_id="bench-audit-parent")
    await admin.ensure_topics(names)  # before either side, so neither races the other to it
    context = multiprocessing.get_context("spawn")
    children = []
    try:
        pipes = {}
        for role, target in (("audit", _audit_process), ("producer", _producer_process)):
            mine, theirs = context.Pipe()
            child = context.Process(target=target, args=(theirs, job), name=f"bench-{role}")
            child.start()
            theirs.close()
            children.append(child)
            pipes[role] = mine
        audit, producer = pipes["audit"], pipes["producer"]
        await _expect(audit, "started")
        await _expect(producer, "started")
        await _expect(audit, "warm")
        producer.send({"step": "go"})
        sent = await _expect(producer, "sent")
        done = await _expect(audit, "done")
        for conn in (producer, audit):
            conn.send({"step": "stop"})
        return Ingest(
            events=events,
            records=done["records"] - WARMUP_EVENTS,
            distinct_event_ids=done["distinct_event_ids"] - WARMUP_EVENTS,
            publish_start_ns=sent["start_ns"],
            publish_end_ns=sent["end_ns"],
            first_commit_ns=done["first_commit_ns"],
            last_commit_ns=done["last_commit_ns"],
            first_commit_records=done["first_commit_records"],
            commits=done["commits"],
            cpu_seconds=done["cpu_seconds"],
            verified=done["verified"],
            verify_detail=done["verify_detail"],
        )
    finally:
        for child in children:
            await asyncio.to_thread(child.join, 60)
            if child.is_alive():
                child.terminate()
        await delete_topics(kafka, names)


def _settings(job: Job, *, data_dir: Path) -> AuditSettings:
    return AuditSettings(
        runtime="distributed",
        bus="kafka",
        kafka_bootstrap_servers=job.kafka,
        database_url=job.postgres_url,
        database_schema=f"{job.name}_audit",
        topic_prefix=f"{job.name}.",
        audit_signing_key="bench-audit-signing-key",
        auth_secrets="bench-audit-proxy-secret",
        data_dir=data_dir,
        log_level="WARNING",
    )


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


# ------------------------------------------------------------------------------ audit side


@dataclass
class Probe:
    """Counts what the real handler is given and, via the commit hook, when it committed."""

    expected: int = 0
    handled: int = 0
    commits: int = 0
    first_commit_ns: int = 0
    first_commit_records: int = 0
    last_commit_ns: int = 0
    first_commit_cpu: float = 0.0
    last_commit_cpu: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _staged: int = 0

    def reset(self, expected: int) -> None:
        """Start counting towards ``expected`` events."""
        self.expected, self.handled, self.commits = expected, 0, 0
        self.first_commit_ns = self.first_commit_records = self.last_commit_ns = 0
        self.done.clear()

    def counting(self, handler: BatchHandler) -> BatchHandler:
        """``handler``, counting the events it is given (inside the consumer's transaction)."""

        async def counted(items: BatchItems, uow: UnitOfWork) -> None:
            await handler(items, uow)
            self._staged += len(items)

        return counted

    def hook(self, point: str) -> None:
        """``EventConsumer`` fault hook: called right after each batch's database commit."""
        if point != "after_db_commit" or not self._staged:
            return
        now, cpu = time_ns(), process_time()
        if not self.commits:
            self.first_commit_ns, self.first_commit_records = now, self._staged
            self.first_commit_cpu = cpu
        self.last_commit_ns, self.last_commit_cpu = now, cpu
        self.commits += 1
        self.handled += self._staged
        self._staged = 0
        if self.expected and self.handled >= self.expected:
            self.done.set()


def probed_spec(probe: Probe) -> Any:
    """The audit service's spec, its batch subscription counted by ``probe``."""

    def subscriptions(service: Service) -> Sequence[Subscription]:
        subs = SPEC.subscriptions(service)
        wrapped: dict[int, BatchHandler] = {}
        out = []
        for sub in subs:
            if sub.batch_handler is None:
                raise RuntimeError(f"{sub.name}: the audit service subscribes in batch form")
            # One wrapper per handler object: the consumer groups batch subscriptions by name.
            handler = wrapped.setdefault(id(sub.batch_handler), probe.counting(sub.batch_handler))
            out.append(Subscription.batch(sub.event, handler, name=sub.name))
        return out

    return dataclasses.replace(SPEC, subscriptions=subscriptions)


def _audit_process(conn: Connection, job: Job) -> None:
    _child(conn, job, _audit)


def _producer_process(conn: Connection, job: Job) -> None:
    _child(conn, job, _produce)


def _child(
    conn: Connection, job: Job, body: Callable[[Connection, Job], Coroutine[Any, Any, None]]
) -> None:
    """Run ``body`` on uvloop, as uvicorn runs the services; cProfile it if asked."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    else:
        run = uvloop.run
    profile_dir = os.environ.get(PROFILE_ENV)
    profile = cProfile.Profile() if profile_dir else None
    try:
        if profile is not None:
            profile.enable()
        run(body(conn, job))
    except BaseException:
        conn.send({"step": "error", "error": traceback.format_exc()})
        raise
    finally:
        if profile is not None and profile_dir:
            profile.disable()
            profile.dump_stats(str(Path(profile_dir) / f"{body.__name__.strip('_')}.prof"))
        conn.close()


async def _command(conn: Connection, step: str) -> None:
    message = await asyncio.to_thread(conn.recv)
    if message.get("step") != step:
        raise RuntimeError(f"expected {step!r} from the parent, got {message}")


async def _audit(conn: Connection, job: Job) -> None:
    probe = Probe()
    with tempfile.TemporaryDirectory(prefix="sds-bench-audit-") as tmp:
        settings = _settings(job, data_dir=Path(tmp))
        service = assemble(probed_spec(probe), settings, fault_hook=probe.hook)
        tune_gc()  # as ``run_service`` does in a deployed service process
        probe.reset(WARMUP_EVENTS)
        await service.start()
        try:
            conn.send({"step": "started"})
            await asyncio.wait_for(probe.done.wait(), STEP_TIMEOUT_S)
            probe.reset(job.events)  # before `warm`: the producer starts only after it
            conn.send({"step": "warm"})
            await asyncio.wait_for(probe.done.wait(), STEP_TIMEOUT_S)
            records, distinct = await _count(service)
            verified = await handlers.verify_log(audit_log_of(service))
            conn.send(
                {
                    "step": "done",
                    "first_commit_ns": probe.first_commit_ns,
                    "first_commit_records": probe.first_commit_records,
                    "last_commit_ns": probe.last_commit_ns,
                    "commits": probe.commits,
                    "cpu_seconds": probe.last_commit_cpu - probe.first_commit_cpu,
                    "records": records,
                    "distinct_event_ids": distinct,
                    "verified": verified.result.ok,
                    "verify_detail": verified.result.detail,
                }
            )
            await _command(conn, "stop")
        finally:
            await service.stop()
            engine = create_engine(job.postgres_url)  # the service disposed of its own
            try:
                await drop_schema(engine, service.schema or "")
            finally:
                await engine.dispose()


async def _count(service: Service) -> tuple[int, int]:
    async with service.database.sessions() as session:
        records = await session.scalar(select(func.count()).select_from(audit_log))
        distinct = await session.scalar(select(func.count(func.distinct(audit_log.c.event_id))))
    return int(records or 0), int(distinct or 0)


async def _produce(conn: Connection, job: Job) -> None:
    settings = _settings(job, data_dir=Path(tempfile.gettempdir()))
    broker = KafkaBroker(bootstrap_servers=job.kafka, client_id="bench-audit-producer")
    await broker.start()
    try:
        stream = envelopes(WARMUP_EVENTS + job.events, seed=7)
        warmup = [next(stream) for _ in range(WARMUP_EVENTS)]
        # Built before `go`: the measurement is the audit service's, not pydantic's on this side.
        measured = [_message(settings, envelope) for envelope in stream]
        await broker.send_batch([_message(settings, envelope) for envelope in warmup])
        conn.send({"step": "started"})
        await _command(conn, "go")
        start_ns = time_ns()
        for first in range(0, len(measured), PUBLISH_CHUNK):
            await broker.send_batch(measured[first : first + PUBLISH_CHUNK])
        conn.send({"step": "sent", "start_ns": start_ns, "end_ns": time_ns()})
        await _command(conn, "stop")
    finally:
        await broker.stop()


def _message(settings: AuditSettings, envelope: Any) -> OutgoingMessage:
    topic = lookup(envelope.type, envelope.version).topic
    return OutgoingMessage(
        topic=settings.topic(topic),
        key=envelope.key.encode(),
        value=envelope.to_bytes(),
        headers=envelope.header_items(),
    )
