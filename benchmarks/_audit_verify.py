"""The verification half of ``benchmarks/audit.py``: a big chain, loaded directly, then verified.

Ingesting a million events through Kafka would take minutes and measure ingest again, so the
chain is built by the real code instead (``entry_of`` on realistic envelopes, then
``seal_all``), written straight into the audit service's migrated tables (PostgreSQL: binary
``COPY``; SQLite: the service's own multi-row insert), with the head and a signed checkpoint
every ``checkpoint_every`` records as the service writes them. What is timed is
``handlers.verify_log``, the code behind ``GET /api/v1/audit/verify``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import insert, text, update

from benchmarks._audit_events import EVENTS_PER_LIFE, envelopes
from benchmarks._bus_rig import drop_schema, fresh_name
from sds_audit.adapters import store
from sds_audit.adapters.orm import HEAD_ROW_ID, audit_checkpoints, audit_head, audit_log, metadata
from sds_audit.bootstrap import SPEC
from sds_audit.domain.chain import GENESIS_HASH, ChainRecord, Checkpoint, Head, sign_checkpoint
from sds_audit.domain.records import AuditEntry, entry_of, seal_all
from sds_audit.handlers import AuditLog, VerifyReport, verify_log
from sds_common.db import Database, create_engine
from sds_common.db.migrations import upgrade
from sds_common.events import parse_payload

SIGNING_KEY: Final = b"bench-audit-signing-key"
CHUNK: Final = 20_000
TEMPLATES: Final = EVENTS_PER_LIFE * 50
_COLUMNS: Final = tuple(column.name for column in audit_log.c)


@dataclass(frozen=True)
class VerifyRun:
    """One verification of a chain of ``records`` on one database.

    Attributes:
        database: what it ran on, e.g. ``"PostgreSQL"``.
        records: records in the chain.
        build_seconds: building the chain in Python (entries and hashes).
        load_seconds: writing it to the database.
        verify_seconds: ``verify_log`` from start to result (wall clock).
        verify_cpu_seconds: CPU time this process spent in it (the rest: waiting for
            PostgreSQL, or for a core on a loaded machine).
        ok: the chain verified.
        records_checked: records ``verify_log`` walked.
        checkpoints_checked: signed checkpoints it matched.
    """

    database: str
    records: int
    build_seconds: float
    load_seconds: float
    verify_seconds: float
    verify_cpu_seconds: float
    ok: bool
    records_checked: int
    checkpoints_checked: int

    @property
    def per_second(self) -> float:
        """Records verified per second."""
        return self.records_checked / self.verify_seconds if self.verify_seconds > 0 else 0.0


def chain(
    count: int, *, checkpoint_every: int, chunk: int = CHUNK
) -> Iterator[tuple[list[ChainRecord], list[Checkpoint]]]:
    """``count`` chained records in chunks, each with the checkpoints due in it.

    Entries come from a pool of realistic envelopes run through ``entry_of``; each record gets
    its own event id (the log's unique key), and ``seal_all`` chains them as ``append_many``
    does.
    """
    templates = [entry_of(e, parse_payload(e)) for e in envelopes(min(count, TEMPLATES), seed=3)]
    recorded_at = datetime.now(UTC)
    head = Head(seq=0, hash=GENESIS_HASH)
    for first in range(0, count, chunk):
        entries = [
            _with_id(templates[i % len(templates)], i)
            for i in range(first, min(first + chunk, count))
        ]
        records = seal_all(entries, head=head, recorded_at=recorded_at)
        head = Head(seq=records[-1].seq, hash=records[-1].hash)
        checkpoints = [
            sign_checkpoint(
                SIGNING_KEY,
                head=Head(seq=r.seq, hash=r.hash),
                created_at=recorded_at,
                reason="periodic",
            )
            for r in records
            if checkpoint_every > 0 and r.seq % checkpoint_every == 0
        ]
        yield records, checkpoints


def _with_id(template: AuditEntry, i: int) -> AuditEntry:
    h = f"{i:032x}"
    event_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return template._replace(event_id=event_id)


async def measure_postgres(
    *, postgres_url: str, records: int, checkpoint_every: int = 1000
) -> VerifyRun:
    """Load ``records`` into a fresh, migrated schema with ``COPY``; time ``verify_log``."""
    schema = f"{fresh_name()}_audit"
    engine = create_engine(postgres_url, schema=schema)
    try:
        await upgrade(engine, script_location=SPEC.migrations, schema=schema)
        database = Database(engine=engine, metadata=metadata)
        build = load = 0.0
        checkpoints: list[Checkpoint] = []
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            started = time.perf_counter()
            for batch, due in chain(records, checkpoint_every=checkpoint_every):
                built = time.perf_counter()
                build += built - started
                rows = [_copy_row(record) for record in batch]
                await driver.copy_records_to_table(
                    "audit_log", records=rows, columns=_COLUMNS, schema_name=schema
                )
                checkpoints += due
                last = batch[-1]
                started = time.perf_counter()
                load += started - built
        loaded = time.perf_counter()
        await _finish(database, head=Head(seq=last.seq, hash=last.hash), checkpoints=checkpoints)
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE audit_log"))
            await conn.commit()
        load += time.perf_counter() - loaded
        cpu = time.process_time()
        report = await verify_log(_audit(database, checkpoint_every))
        cpu = time.process_time() - cpu
        return _run("PostgreSQL", records, build=build, load=load, report=report, cpu=cpu)
    finally:
        await drop_schema(engine, schema)
        await engine.dispose()


async def measure_sqlite(*, path: Path, records: int, checkpoint_every: int = 1000) -> VerifyRun:
    """Load ``records`` into a fresh, migrated SQLite file; time ``verify_log``."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine, script_location=SPEC.migrations, schema=None)
        database = Database(engine=engine, metadata=metadata)
        build = load = 0.0
        checkpoints: list[Checkpoint] = []
        started = time.perf_counter()
        for batch, due in chain(records, checkpoint_every=checkpoint_every):
            built = time.perf_counter()
            build += built - started
            async with database.sessions() as session, session.begin():
                await store.write_records(session, batch)
            checkpoints += due
            last = batch[-1]
            started = time.perf_counter()
            load += started - built
        loaded = time.perf_counter()
        await _finish(database, head=Head(seq=last.seq, hash=last.hash), checkpoints=checkpoints)
        load += time.perf_counter() - loaded
        cpu = time.process_time()
        report = await verify_log(_audit(database, checkpoint_every))
        cpu = time.process_time() - cpu
        return _run("SQLite", records, build=build, load=load, report=report, cpu=cpu)
    finally:
        await engine.dispose()
        await asyncio.to_thread(_remove_sqlite, path)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _copy_row(record: ChainRecord) -> tuple[Any, ...]:
    row = store.row_of(record)
    return tuple(row[name] for name in _COLUMNS)


async def _finish(database: Database, *, head: Head, checkpoints: list[Checkpoint]) -> None:
    """Move the head and store the checkpoints, as ``append_many`` leaves them."""
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(audit_head)
            .where(audit_head.c.id == HEAD_ROW_ID)
            .values(seq=head.seq, hash=head.hash, updated_at=datetime.now(UTC))
        )
        if checkpoints:
            await session.execute(
                insert(audit_checkpoints),
                [
                    {
                        "seq": c.seq,
                        "hash": c.hash,
                        "created_at": c.created_at,
                        "reason": c.reason,
                        "signature": c.signature,
                    }
                    for c in checkpoints
                ],
            )


def _audit(database: Database, checkpoint_every: int) -> AuditLog:
    return AuditLog(database=database, signing_key=SIGNING_KEY, checkpoint_every=checkpoint_every)


def _run(
    name: str, records: int, *, build: float, load: float, report: VerifyReport, cpu: float
) -> VerifyRun:
    return VerifyRun(
        database=name,
        records=records,
        build_seconds=build,
        load_seconds=load,
        verify_seconds=report.seconds,
        verify_cpu_seconds=cpu,
        ok=report.result.ok,
        records_checked=report.result.records_checked,
        checkpoints_checked=report.result.checkpoints_checked,
    )
