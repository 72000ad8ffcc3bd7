"""The audit log's storage: appending under the head lock and checkpoints (reads: ``reads.py``).

Appending takes the single ``audit_head`` row with ``SELECT ... FOR UPDATE`` inside the caller's
transaction: on PostgreSQL a concurrent writer blocks on that row until the first commits, then
reads the new head, so seqs never fork and every ``prev_hash`` is the hash actually before it.
On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (``sds_common.db.engine``), which
already serialises writers (``FOR UPDATE`` renders as nothing there). The head seen by one
transaction is cached on its session, so a batch of events costs one lock, not one per event.

``append_many`` is the fast path the consumer uses: one head lock, one lookup of the batch's
event ids, the chain computed in Python (each payload serialised once, for its hash and its
row), then one binary ``COPY`` per table on PostgreSQL, one multi-row insert on SQLite (see
``benchmarks/audit.py`` for what that buys).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Insert,
    RowMapping,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from sds_audit.adapters.orm import (
    HEAD_ROW_ID,
    audit_checkpoints,
    audit_head,
    audit_log,
    audit_refs,
)
from sds_audit.domain.chain import (
    ChainRecord,
    Checkpoint,
    Head,
    as_utc,
    canonical_json,
    sign_checkpoint,
)
from sds_audit.domain.records import AuditEntry, SealedRecord, seal_rows

_HEAD_KEY = "sds_audit.head"
_IN_CHUNK = 5000


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
    records = await append_many(
        session, [entry], now=now, signing_key=signing_key, checkpoint_every=checkpoint_every
    )
    return records[0] if records else None


async def append_many(
    session: AsyncSession,
    entries: Sequence[AuditEntry],
    *,
    now: datetime,
    signing_key: bytes,
    checkpoint_every: int,
) -> list[ChainRecord]:
    """Append ``entries`` in order after the head, in the session's transaction.

    Events already in the log (redeliveries), and second copies within ``entries``, are skipped.
    A periodic checkpoint is signed at every seq that is a multiple of ``checkpoint_every``.

    Returns:
        The new records, in seq order.
    """
    if not entries:
        return []
    head = await lock_head(session)
    # Checked under the head lock, so two writers cannot both miss the other's copy.
    seen = await _known_event_ids(session, [entry.event_id for entry in entries])
    fresh: list[AuditEntry] = []
    for entry in entries:
        if entry.event_id not in seen:
            seen.add(entry.event_id)
            fresh.append(entry)
    if not fresh:
        return []
    recorded_at = _utc(now)
    sealed = seal_rows(fresh, head=head, recorded_at=recorded_at)
    await _write_sealed(session, sealed)
    records = [row.record for row in sealed]
    refs = [
        {"ref_type": kind, "ref_id": ref, "seq": record.seq}
        for entry, record in zip(fresh, records, strict=True)
        for kind, ref in entry.refs
    ]
    await _write(session, audit_refs, refs)
    last = records[-1]
    await _move_head(session, Head(seq=last.seq, hash=last.hash), now=now)
    if checkpoint_every > 0:
        due = [
            sign_checkpoint(
                signing_key,
                head=Head(seq=record.seq, hash=record.hash),
                created_at=recorded_at,
                reason="periodic",
            )
            for record in records
            if record.seq % checkpoint_every == 0
        ]
        if due:
            await session.execute(insert(audit_checkpoints), [_checkpoint_row(c) for c in due])
    return records


async def _known_event_ids(session: AsyncSession, event_ids: Sequence[str]) -> set[str]:
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: an IN list of a batch's ids cost SQLAlchemy more CPU than the
        # query cost PostgreSQL.
        ids = bindparam("ids", value=list(event_ids), type_=postgresql.ARRAY(String))
        result = await session.scalars(
            select(audit_log.c.event_id).where(audit_log.c.event_id == any_(ids))
        )
        return set(result)
    known: set[str] = set()
    # Chunks keep each statement under the drivers' bound-parameter limits.
    for start in range(0, len(event_ids), _IN_CHUNK):
        chunk = event_ids[start : start + _IN_CHUNK]
        result = await session.scalars(
            select(audit_log.c.event_id).where(audit_log.c.event_id.in_(chunk))
        )
        known.update(result)
    return known


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
        return checkpoint_of(row._mapping)
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
    await session.execute(insert(audit_checkpoints), [_checkpoint_row(checkpoint)])


def _checkpoint_row(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "created_at": checkpoint.created_at,
        "reason": checkpoint.reason,
        "signature": checkpoint.signature,
    }


async def write_records(session: AsyncSession, records: Sequence[ChainRecord]) -> None:
    """Insert sealed records as they are (no head, no dedup: ``append_many`` does those)."""
    await _write(session, audit_log, [row_of(record) for record in records])


async def _write_sealed(session: AsyncSession, sealed: Sequence[SealedRecord]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        await _write(session, audit_log, [_row_dict(row) for row in sealed])
        return
    await _copy(session, audit_log, [_row_tuple(row) for row in sealed])


async def _write(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` in the session's transaction: ``COPY`` on PostgreSQL.

    SQLAlchemy's per-row parameter processing of a multi-row insert was the largest share of
    the audit service's CPU per event (``benchmarks/audit.py``); binary ``COPY`` through the
    session's own asyncpg connection (same transaction) skips it.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        statement = _log_insert(session) if table is audit_log else insert(table)
        await session.execute(statement, rows)
        return
    columns = [column.name for column in table.c]
    await _copy(session, table, [tuple(row[name] for name in columns) for row in rows])


async def _copy(session: AsyncSession, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Binary ``COPY`` of ``rows`` (tuples in the table's column order), in the transaction."""
    if not rows:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter opens the transaction with its first statement; a COPY
        # sent before that would commit on its own.
        await session.execute(select(literal(1)))
    await driver.copy_records_to_table(
        table.name, records=rows, columns=[column.name for column in table.c]
    )


def _row_tuple(sealed: SealedRecord) -> tuple[Any, ...]:
    # In audit_log's column order, which is ChainRecord's (checked below).
    r = sealed.record
    return (
        r.seq,
        r.event_id,
        r.event_type,
        r.event_version,
        _utc(r.occurred_at),
        _utc(r.recorded_at),
        r.actor,
        r.project_id,
        r.resource_type,
        r.resource_id,
        r.correlation_id,
        r.causation_id,
        sealed.privacy_json,
        sealed.payload_json,
        r.prev_hash,
        r.hash,
    )


def _row_dict(sealed: SealedRecord) -> dict[str, Any]:
    return dict(zip(ChainRecord._fields, _row_tuple(sealed), strict=True))


if tuple(column.name for column in audit_log.c) != ChainRecord._fields:  # pragma: no cover
    raise RuntimeError("audit_log's columns and ChainRecord's fields must be in the same order")


def row_of(record: ChainRecord) -> dict[str, Any]:
    """The ``audit_log`` row of a record: timestamps in UTC, JSON as its canonical text."""
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
        "privacy": None if record.privacy is None else canonical_json(record.privacy).decode(),
        "payload": canonical_json(record.payload).decode(),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def _log_insert(session: AsyncSession) -> Insert:
    """The audit_log insert, its JSON columns bound as the canonical text ``row_of`` makes."""
    postgres = session.get_bind().dialect.name == "postgresql"
    values: dict[str, Any] = {}
    for column in audit_log.c:
        if column.name in JSON_COLUMNS:
            text = bindparam(column.name, type_=Text())
            # PostgreSQL's json type keeps the text as given; SQLite stores it as is.
            values[column.name] = cast(text, column.type) if postgres else text
        else:
            values[column.name] = bindparam(column.name, type_=column.type)
    return insert(audit_log).values(values)


#: The audit_log columns that hold JSON (stored as its canonical text).
JSON_COLUMNS = frozenset({"privacy", "payload"})


def checkpoint_of(row: RowMapping) -> Checkpoint:
    """The checkpoint an ``audit_checkpoints`` row holds."""
    return Checkpoint(
        seq=int(row["seq"]),
        hash=str(row["hash"]),
        created_at=row["created_at"],
        reason=str(row["reason"]),
        signature=str(row["signature"]),
    )
