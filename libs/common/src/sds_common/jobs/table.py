"""The job table and the statements on it that run in a caller's transaction.

Statuses, the table a service adds to its metadata, the errors a job raises to say how it ended,
and queueing, cancelling, finishing and reading a job's status.

A job's payload is its kind's own data plus one key of the runner's, ``TRACE_KEY``: the W3C
trace context current when the job was queued (the span of the event that queued it), so the
job's work and the events it emits continue that trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from sds_common.db.uow import Database, UnitOfWork
from sds_common.telemetry.tracing import inject_trace_headers

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
#: The payload key holding the trace context of whoever queued the job (see the module docstring).
TRACE_KEY = "_trace"


def add_job_table(metadata: MetaData, *, name: str = "jobs") -> Table:
    """Add the job table to a service's metadata (once) and return it.

    ``name`` lets a service whose own tables already use ``jobs`` (the gateway's read model of
    user-visible jobs) keep its durable background jobs apart.
    """
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("id", String(64), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("status", String(16), nullable=False, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("lease_owner", String(64), nullable=True),
        Column("lease_until", DateTime(timezone=True), nullable=True),
        Column("not_before", DateTime(timezone=True), nullable=True),
        Column("cancel_requested", Boolean, nullable=False, default=False),
        Column("error", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class JobHandedBackError(Exception):
    """The job stopped at a safe point because the process is shutting down; resume it later."""


class JobFailedError(Exception):
    """A job failed for a reason that retrying cannot fix (bad config, bad data)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobLostError(Exception):
    """The job is no longer this worker's: its lease ran out and another claim took it over.

    Raised by a fenced write (finishing, requeueing) so that the transaction carrying the job's
    outcome and its events rolls back: only the current claim may announce how the job ended.
    """


class JobDeferredError(Exception):
    """The job cannot run yet (e.g. an event it depends on has not arrived); retry later."""

    def __init__(self, reason: str, *, delay_s: float = 1.0) -> None:
        super().__init__(reason)
        self.delay_s = delay_s


def now_utc() -> datetime:
    """The current time in UTC (what the job table's timestamps hold)."""
    return datetime.now(UTC)


async def enqueue(
    uow: UnitOfWork, table: Table, *, job_id: str, kind: str, payload: Mapping[str, Any]
) -> bool:
    """Queue a job in the caller's transaction. Idempotent: returns False if it already exists.

    The trace context current now (the span of the event being handled) is stored with the job;
    the runner restores it when the job runs.
    """
    dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
    trace = {name: value.decode("latin-1") for name, value in inject_trace_headers([])}
    statement = (
        dialect.insert(table)
        .values(
            id=job_id,
            kind=kind,
            payload={**payload, TRACE_KEY: trace},
            status=QUEUED,
            attempts=0,
            cancel_requested=False,
            created_at=now_utc(),
            updated_at=now_utc(),
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    result = await uow.session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def request_cancel(uow: UnitOfWork, table: Table, *, job_id: str) -> bool:
    """Flag an open job for cancellation; returns whether it was still open."""
    result = await uow.session.execute(
        update(table)
        .where(table.c.id == job_id, table.c.status.in_([QUEUED, RUNNING]))
        .values(cancel_requested=True, updated_at=now_utc())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def cancel_requested(uow: UnitOfWork, table: Table, *, job_id: str) -> bool:
    """Whether cancellation of a job was requested (read in the caller's transaction)."""
    flag = (
        await uow.session.execute(select(table.c.cancel_requested).where(table.c.id == job_id))
    ).scalar_one_or_none()
    return bool(flag)


async def finish(
    uow: UnitOfWork,
    table: Table,
    *,
    job_id: str,
    status: str,
    error: str | None = None,
    claim: tuple[str, int] | None = None,
) -> None:
    """Mark a job terminal in the caller's transaction (with the events announcing it).

    Args:
        uow: the caller's unit of work.
        table: the jobs table.
        job_id: the job.
        status: a terminal status.
        error: why it failed, for the service's operators (the job row is not shown to users).
        claim: ``(worker id, attempt)`` of the claim finishing it: the write is then fenced, and
            raises ``JobLostError`` unless that claim still holds the job.

    Raises:
        ValueError: ``status`` is not terminal.
        JobLostError: the job is no longer held by ``claim``.
    """
    if status not in TERMINAL:
        raise ValueError(f"{status} is not a terminal status")
    statement = update(table).where(table.c.id == job_id)
    if claim is not None:
        statement = statement.where(*held_by(table, claim))
    result = await uow.session.execute(
        statement.values(
            status=status, error=error, lease_owner=None, lease_until=None, updated_at=now_utc()
        )
    )
    if claim is not None and not result.rowcount:  # type: ignore[attr-defined]
        raise JobLostError(job_id)


def held_by(table: Table, claim: tuple[str, int]) -> tuple[Any, ...]:
    """Conditions that hold while the claim ``(worker id, attempt)`` still owns a running job."""
    owner, attempt = claim
    return (table.c.status == RUNNING, table.c.lease_owner == owner, table.c.attempts == attempt)


async def job_status(database: Database, table: Table, job_id: str) -> str | None:
    """The status of a job, or None if unknown."""
    async with database.sessions() as session:
        return (
            await session.execute(select(table.c.status).where(table.c.id == job_id))
        ).scalar_one_or_none()
