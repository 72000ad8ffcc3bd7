"""Reads of the audit log for verification: the head, the checkpoints, and the records by page.

Pages come back as stored (``StoredRecord``: JSON as its text, timestamps as UTC text), so the
verifier hashes exactly the bytes the chain was computed over.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select

from sds_audit.adapters.orm import HEAD_ROW_ID, audit_checkpoints, audit_head, audit_log
from sds_audit.adapters.store import JSON_COLUMNS, checkpoint_of
from sds_audit.domain.chain import GENESIS_HASH, Checkpoint, Head, as_utc
from sds_audit.domain.stored import StoredRecord
from sds_common.db import Database


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
        return [checkpoint_of(row._mapping) for row in result]


async def iter_pages(
    database: Database, *, up_to: int, page_size: int = 10_000
) -> AsyncGenerator[list[StoredRecord], None]:
    """Records 1..``up_to`` in seq order, ``page_size`` at a time (keyset, one short read each).

    Rows come back as stored (``StoredRecord``): JSON as its text, timestamps as UTC text.
    Decoding them into objects (SQLAlchemy's and the drivers' generic processing, then parsing
    and re-serialising the JSON to hash it) is what dominated verification time. On PostgreSQL
    the page is read through the asyncpg connection itself, for the same reason.
    """
    postgres = database.engine.dialect.name == "postgresql"
    read = _read_postgres_page if postgres else _read_sqlite_page
    after = 0
    while after < up_to:
        page = await read(database, after=after, up_to=up_to, limit=page_size)
        if not page:
            return
        yield page
        after = page[-1].seq


_UTC_TEXT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _postgres_page_sql() -> str:
    columns = []
    for column in audit_log.c:
        if column.name in ("occurred_at", "recorded_at"):
            columns.append(f"to_char({column.name} AT TIME ZONE 'UTC', '{_UTC_TEXT}')")
        elif column.name in JSON_COLUMNS:
            columns.append(f"{column.name}::text")
        else:
            columns.append(column.name)
    # Only the table's own names go into the text; the values are bound ($1..$3).
    return (
        f"SELECT {', '.join(columns)} FROM {audit_log.name} "  # noqa: S608
        "WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3"
    )


_POSTGRES_PAGE = _postgres_page_sql()


async def _read_postgres_page(
    database: Database, *, after: int, up_to: int, limit: int
) -> list[StoredRecord]:
    async with database.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        rows = await driver.fetch(_POSTGRES_PAGE, after, up_to, limit)
    return [StoredRecord._make(row) for row in rows]


async def _read_sqlite_page(
    database: Database, *, after: int, up_to: int, limit: int
) -> list[StoredRecord]:
    columns = [cast(c, Text).label(c.name) if c.name in _TEXT_ON_SQLITE else c for c in audit_log.c]
    statement = (
        select(*columns)
        .where(audit_log.c.seq > after, audit_log.c.seq <= up_to)
        .order_by(audit_log.c.seq)
        .limit(limit)
    )
    async with database.sessions() as session:
        result = await session.execute(statement)
        return [_sqlite_record(row) for row in result]


_TEXT_ON_SQLITE = JSON_COLUMNS | {"occurred_at", "recorded_at"}
_OCCURRED, _RECORDED = (StoredRecord._fields.index(name) for name in ("occurred_at", "recorded_at"))


def _sqlite_record(row: Sequence[Any]) -> StoredRecord:
    values = list(row)
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, see ``_utc``) on SQLite.
    values[_OCCURRED] = _sqlite_time_text(values[_OCCURRED])
    values[_RECORDED] = _sqlite_time_text(values[_RECORDED])
    return StoredRecord._make(values)


def _sqlite_time_text(value: str) -> str:
    if len(value) == 26 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"
    return as_utc(datetime.fromisoformat(value)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
