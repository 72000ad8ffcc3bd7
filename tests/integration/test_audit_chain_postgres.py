"""The audit chain on real PostgreSQL: raw-SQL tampering is located; concurrent appends chain."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text

from sds_audit.adapters import store
from sds_audit.adapters.orm import audit_checkpoints, audit_log, metadata
from sds_audit.bootstrap import SPEC
from sds_audit.domain.records import AuditEntry, entry_of
from sds_audit.handlers import AuditLog, create_checkpoint, verify_log
from sds_common.db import Database, create_engine
from sds_common.db.migrations import upgrade
from sds_common.events import Envelope, PrivacyBudgetSpent, TrainingProgress

pytestmark = pytest.mark.postgres

KEY = b"integration-signing-key"


@pytest.fixture
async def audit(postgres_dsn: str, unique_name: str) -> AsyncIterator[AuditLog]:
    schema = f"audit_{unique_name}"
    url = postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url, schema=schema)
    await upgrade(engine, script_location=SPEC.migrations, schema=schema)
    try:
        yield AuditLog(
            database=Database(engine=engine, metadata=metadata),
            signing_key=KEY,
            checkpoint_every=5,
        )
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


def _envelope(i: int, generator_id: uuid.UUID) -> Envelope:
    if i % 3 == 0:
        event: PrivacyBudgetSpent | TrainingProgress = PrivacyBudgetSpent(
            dataset_id=uuid.uuid4(),
            generator_id=generator_id,
            ledger="source:bench",
            epsilon=0.1 * i,
            delta=1e-6,
            preprocessing_epsilon=0.01,
            accountant="prv",
            remaining_epsilon=5.0,
        )
    else:
        event = TrainingProgress(generator_id=generator_id, epoch=i, total_epochs=1000)
    return Envelope.wrap(event, actor="trainer", project_id="p")


async def _append(audit: AuditLog, *envelopes: Envelope) -> list[int]:
    """Append in ONE transaction; returns the seqs given (None for already-known events)."""
    seqs = []
    async with audit.database.unit_of_work(actor="test") as uow:
        for envelope in envelopes:
            event = (
                PrivacyBudgetSpent if envelope.type == "PrivacyBudgetSpent" else TrainingProgress
            )
            record = await store.append(
                uow.session,
                entry_of(envelope, event.model_validate(envelope.payload)),
                now=audit.clock(),
                signing_key=audit.signing_key,
                checkpoint_every=audit.checkpoint_every,
            )
            if record is not None:
                seqs.append(record.seq)
    return seqs


async def _fill(audit: AuditLog, n: int) -> None:
    generator_id = uuid.uuid4()
    for i in range(1, n + 1):
        await _append(audit, _envelope(i, generator_id))


async def _sql(audit: AuditLog, *statements: str) -> None:
    async with audit.database.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_an_intact_chain_verifies_in_pages(audit: AuditLog) -> None:
    await _fill(audit, 23)
    report = await verify_log(audit, page_size=4)
    assert report.result.ok, report.result.detail
    assert (report.result.records_checked, report.result.checkpoints_checked) == (23, 4)
    assert report.head.seq == 23


async def test_an_updated_payload_is_located(audit: AuditLog) -> None:
    await _fill(audit, 30)
    await _sql(
        audit, """UPDATE audit_log SET payload = CAST('{"epsilon": 0.0}' AS json) WHERE seq = 11"""
    )
    report = await verify_log(audit, page_size=4)
    assert (report.result.broken_seq, report.result.problem) == (11, "edited")
    assert report.result.last_seq == 10


async def test_a_deleted_row_is_located(audit: AuditLog) -> None:
    await _fill(audit, 30)
    await _sql(audit, "DELETE FROM audit_log WHERE seq = 17")
    report = await verify_log(audit, page_size=4)
    assert (report.result.broken_seq, report.result.problem) == (17, "deleted")


async def test_swapped_seqs_are_located(audit: AuditLog) -> None:
    await _fill(audit, 30)
    await _sql(
        audit,
        "UPDATE audit_log SET seq = -1 WHERE seq = 8",
        "UPDATE audit_log SET seq = 8 WHERE seq = 14",
        "UPDATE audit_log SET seq = 14 WHERE seq = -1",
    )
    report = await verify_log(audit, page_size=4)
    assert (report.result.broken_seq, report.result.problem) == (8, "reordered")


async def test_a_deleted_tail_and_a_forged_checkpoint_are_located(audit: AuditLog) -> None:
    await _fill(audit, 30)
    await _sql(
        audit,
        "UPDATE audit_checkpoints SET hash = prev.hash FROM audit_log prev "
        "WHERE prev.seq = 9 AND audit_checkpoints.seq = 10",
    )
    report = await verify_log(audit)
    assert (report.result.broken_seq, report.result.problem) == (10, "checkpoint_signature")
    await _sql(
        audit,
        "DELETE FROM audit_checkpoints WHERE seq = 10",
        "DELETE FROM audit_log WHERE seq > 27",
    )
    report = await verify_log(audit)
    assert (report.result.broken_seq, report.result.problem) == (28, "truncated")


async def test_concurrent_writers_keep_one_valid_chain(audit: AuditLog) -> None:
    """Eight writers on their own connections, single and batched appends, plus a redelivery."""
    generator_id = uuid.uuid4()
    envelopes = [_envelope(i, generator_id) for i in range(1, 161)]
    redelivered = envelopes[:10]

    async def writer(w: int) -> list[int]:
        mine = envelopes[w * 20 : (w + 1) * 20]
        seqs: list[int] = []
        for start in range(0, 20, 1 if w % 2 else 4):  # odd writers append one by one
            seqs += await _append(audit, *mine[start : start + (1 if w % 2 else 4)])
        return seqs

    async def checkpointer() -> None:
        for _ in range(5):
            await create_checkpoint(audit, actor="admin")
            await asyncio.sleep(0)

    appends = asyncio.gather(*(writer(w) for w in range(8)), _append(audit, *redelivered))
    results, _ = await asyncio.gather(appends, checkpointer())
    seqs = sorted(seq for result in results for seq in result)
    assert seqs == list(range(1, 161))
    async with audit.database.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(audit_log))
        ids = await session.scalar(select(func.count(func.distinct(audit_log.c.event_id))))
        periodic = await session.scalar(
            select(func.count()).where(audit_checkpoints.c.reason == "periodic")
        )
    assert count == ids == 160
    assert periodic == 160 // 5
    report = await verify_log(audit, page_size=16)
    assert report.result.ok, report.result.detail
    assert report.result.records_checked == 160


async def test_a_batch_append_skips_known_events_and_signs_due_checkpoints(
    audit: AuditLog,
) -> None:
    generator_id = uuid.uuid4()
    envelopes = [_envelope(i, generator_id) for i in range(1, 14)]
    assert await _append(audit, envelopes[0]) == [1]

    def entry(envelope: Envelope) -> AuditEntry:
        model = PrivacyBudgetSpent if envelope.type == "PrivacyBudgetSpent" else TrainingProgress
        return entry_of(envelope, model.model_validate(envelope.payload))

    batch = [entry(e) for e in [*envelopes[:7], envelopes[2], *envelopes[7:]]]
    async with audit.database.unit_of_work(actor="test") as uow:
        records = await store.append_many(
            uow.session,
            batch,
            now=audit.clock(),
            signing_key=audit.signing_key,
            checkpoint_every=audit.checkpoint_every,
        )
    assert [r.seq for r in records] == list(range(2, 14))
    assert [r.event_id for r in records] == [str(e.event_id) for e in envelopes[1:]]
    async with audit.database.sessions() as session:
        signed = list(await session.scalars(select(audit_checkpoints.c.seq)))
    assert signed == [5, 10]
    report = await verify_log(audit, page_size=5)
    assert report.result.ok, report.result.detail
    assert (report.result.records_checked, report.result.checkpoints_checked) == (13, 2)
