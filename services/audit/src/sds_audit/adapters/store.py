"""The audit log's storage: appending under the head lock, checkpoints, and paged reads.

Appending takes the single ``audit_head`` row with ``SELECT ... FOR UPDATE`` inside the caller's
transaction: on PostgreSQL a concurrent writer blocks on that row until the first commits, then
reads the new head, so seqs never fork and every ``prev_hash`` is the hash actually before it.
On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (``sds_common.db.engine``), which
already serialises writers (``FOR UPDATE`` renders as nothing there). The head seen by one
transaction is cached on its session, so a batch of events costs one lock, not one per event.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import RowMapping, Text, cast, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sds_audit.adapters.orm import (
    HEAD_ROW_ID,
    audit_checkpoints,
    audit_head,
    audit_log,
    audit_refs,
)
from sds_audit.domain.chain import (
    GENESIS_HASH,
    ChainRecord,
    Checkpoint,
    Head,
    as_utc,
    sign_checkpoint,
)
from sds_audit.domain.records import AuditEntry, seal
from sds_common.db import Database

_HEAD_KEY = "sds_audit.head"


def _utc(value: datetime) -> datetime:
    # SQLite drops the offset when it stores a timestamp: store UTC so reading back is exact.
    return as_utc(value)


async def lock_head(session: AsyncSession) -> Head:
    """The chain head, locked until the session's transaction ends."""
    cached = session.info.get(_HEAD_KEY)
    if isinstance(cached, Head):
        return cached
    statement = (
        select(audit_head.c.seq, audit_head.c.hash)
        .where(audit_head.c.id == HEAD_ROW_ID)
        .with_for_update()
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        raise RuntimeError("audit_head has no row: run the audit service's migrations")
    head = Head(seq=int(row.seq), hash=str(row.hash))
    session.info[_HEAD_KEY] = head
    return head


async def append(
    session: AsyncSession,
    entry: AuditEntry,
    *,
    now: datetime,
    signing_key: bytes,
    checkpoint_every: int,
) -> ChainRecord | None:
    """Append ``entry`` after the head in the session's transaction.

    Returns:
        The new record, or None when the event is already in the log (a redelivery).
    """
    head = await lock_head(session)
    # Checked under the head lock, so two writers cannot both miss the other's copy.
    known = await session.scalar(
        select(audit_log.c.seq).where(audit_log.c.event_id == entry.event_id)
    )
    if known is not None:
        return None
    record = seal(entry, head=head, recorded_at=_utc(now))
    await session.execute(insert(audit_log), [_row(record)])
    if entry.refs:
        rows = [{"ref_type": kind, "ref_id": ref, "seq": record.seq} for kind, ref in entry.refs]
        await session.execute(insert(audit_refs), rows)
    new_head = Head(seq=record.seq, hash=record.hash)
    await _move_head(session, new_head, now=now)
    if checkpoint_every > 0 and record.seq % checkpoint_every == 0:
        await _insert_checkpoint(
            session,
            sign_checkpoint(signing_key, head=new_head, created_at=_utc(now), reason="periodic"),
        )
    return record


async def checkpoint_head(
    session: AsyncSession, *, now: datetime, signing_key: bytes, reason: str
) -> Checkpoint | None:
    """Sign the current head (None while the log is empty); reuse one already at that seq."""
    head = await lock_head(session)
    if head.seq == 0:
        return None
    existing = await session.execute(
        select(*audit_checkpoints.c).where(audit_checkpoints.c.seq == head.seq)
    )
    row = existing.one_or_none()
    if row is not None:
        return _checkpoint(row._mapping)
    checkpoint = sign_checkpoint(signing_key, head=head, created_at=_utc(now), reason=reason)
    await _insert_checkpoint(session, checkpoint)
    return checkpoint


async def _move_head(session: AsyncSession, head: Head, *, now: datetime) -> None:
    await session.execute(
        update(audit_head)
        .where(audit_head.c.id == HEAD_ROW_ID)
        .values(seq=head.seq, hash=head.hash, updated_at=_utc(now))
    )
    session.info[_HEAD_KEY] = head


async def _insert_checkpoint(session: AsyncSession, checkpoint: Checkpoint) -> None:
    await session.execute(
        insert(audit_checkpoints).values(
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            created_at=checkpoint.created_at,
            reason=checkpoint.reason,
            signature=checkpoint.signature,
        )
    )


def _row(record: ChainRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "event_version": record.event_version,
        "occurred_at": _utc(record.occurred_at),
        "recorded_at": _utc(record.recorded_at),
        "actor": record.actor,
        "project_id": record.project_id,
        "resource_type": record.resource_type,
        "resource_id": record.resource_id,
        "correlation_id": record.correlation_id,
        "causation_id": record.causation_id,
        "privacy": record.privacy,
        "payload": record.payload,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def _checkpoint(row: RowMapping) -> Checkpoint:
    return Checkpoint(
        seq=int(row["seq"]),
        hash=str(row["hash"]),
        created_at=row["created_at"],
        reason=str(row["reason"]),
        signature=str(row["signature"]),
    )


# ---------------------------------------------------------------- reads for verification


async def read_head(database: Database) -> Head:
    """The stored head, unlocked."""
    async with database.sessions() as session:
        row = (
            await session.execute(
                select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ROW_ID)
            )
        ).one_or_none()
    return Head(seq=0, hash=GENESIS_HASH) if row is None else Head(int(row.seq), str(row.hash))


async def read_checkpoints(database: Database) -> list[Checkpoint]:
    """Every stored checkpoint, in seq order (one per N records: few)."""
    async with database.sessions() as session:
        result = await session.execute(
            select(*audit_checkpoints.c).order_by(audit_checkpoints.c.seq)
        )
        return [_checkpoint(row._mapping) for row in result]


async def iter_pages(
    database: Database, *, up_to: int, page_size: int = 10_000
) -> AsyncGenerator[list[ChainRecord], None]:
    """Records 1..``up_to`` in seq order, ``page_size`` at a time (keyset, one short read each).

    The JSON columns (and SQLite's text timestamps) are read as text and parsed with orjson and
    ``datetime.fromisoformat``: SQLAlchemy's and the drivers' generic processing of those types
    is what dominated verification time.
    """
    sqlite = database.engine.dialect.name == "sqlite"
    raw = {"payload", "privacy"} | ({"occurred_at", "recorded_at"} if sqlite else set())
    columns = [cast(c, Text).label(c.name) if c.name in raw else c for c in audit_log.c]
    statement = select(*columns).order_by(audit_log.c.seq).limit(page_size)
    convert = _raw_sqlite_record if sqlite else _raw_record
    after = 0
    while after < up_to:
        async with database.sessions() as session:
            result = await session.execute(
                statement.where(audit_log.c.seq > after, audit_log.c.seq <= up_to)
            )
            page = [convert(row) for row in result]
        if not page:
            return
        yield page
        after = page[-1].seq


_OCCURRED, _RECORDED, _PRIVACY, _PAYLOAD = (
    ChainRecord._fields.index(name) for name in ("occurred_at", "recorded_at", "privacy", "payload")
)


def _raw_record(row: Sequence[Any]) -> ChainRecord:
    values = list(row)
    privacy = values[_PRIVACY]
    values[_PRIVACY] = None if privacy is None else orjson.loads(privacy)
    values[_PAYLOAD] = orjson.loads(values[_PAYLOAD])
    return ChainRecord._make(values)


def _raw_sqlite_record(row: Sequence[Any]) -> ChainRecord:
    values = list(row)
    privacy = values[_PRIVACY]
    values[_PRIVACY] = None if privacy is None else orjson.loads(privacy)
    values[_PAYLOAD] = orjson.loads(values[_PAYLOAD])
    values[_OCCURRED] = datetime.fromisoformat(values[_OCCURRED])
    values[_RECORDED] = datetime.fromisoformat(values[_RECORDED])
    return ChainRecord._make(values)
