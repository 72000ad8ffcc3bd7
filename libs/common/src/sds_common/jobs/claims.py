"""The runner's statements on the job table: claim, renew, release, fail.

Every statement after the claim is fenced by it (worker id and attempt, see ``held_by``): a
claim whose lease ran out and was taken over by another changes nothing, and learns so from
``JobLostError``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Table, and_, bindparam, or_, select, update

from sds_common.db.uow import Database
from sds_common.jobs.table import (
    FAILED,
    QUEUED,
    RUNNING,
    TRACE_KEY,
    JobLostError,
    finish,
    held_by,
    now_utc,
)

Claim = tuple[str, int]
"""``(worker id, attempt)``: who holds a job, and since which claim."""


class Claimed(NamedTuple):
    """A job just claimed."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    created_at: datetime
    trace: tuple[tuple[str, bytes], ...]


class Claims:
    """Claims jobs of one table for ``lease_s`` at a time, and everything done under a claim."""

    def __init__(self, *, database: Database, table: Table, lease_s: float) -> None:
        self._database = database
        self._table = table
        self._lease = timedelta(seconds=lease_s)
        # The oldest job that is due at ``now``; built once (see ``Database.fetch_one``).
        self._due = (
            select(table.c.id)
            .where(
                or_(
                    and_(
                        table.c.status == QUEUED,
                        or_(table.c.not_before.is_(None), table.c.not_before <= bindparam("now")),
                    ),
                    and_(table.c.status == RUNNING, table.c.lease_until < bindparam("now")),
                )
            )
            .order_by(table.c.created_at, table.c.id)
            .limit(1)
        )
        self._cancel_flag = select(table.c.cancel_requested).where(
            table.c.id == bindparam("job_id")
        )

    async def claim(self, worker_id: str) -> Claimed | None:
        """Claim the oldest due job (queued, or running on a lease that ran out), if any."""
        t = self._table
        now = now_utc()
        # Idle runners poll several times a second in every service: when nothing is due, this
        # read says so without a transaction or the write lock (inline on SQLite).
        if await self._database.fetch_one(self._due, {"now": now}) is None:
            return None
        async with self._database.sessions() as session, session.begin():
            candidate = self._due
            if session.get_bind().dialect.name == "postgresql":
                candidate = candidate.with_for_update(skip_locked=True)
            job_id = (await session.execute(candidate, {"now": now})).scalar_one_or_none()
            if job_id is None:
                return None
            row = (
                await session.execute(
                    update(t)
                    .where(t.c.id == job_id)
                    .values(
                        status=RUNNING,
                        lease_owner=worker_id,
                        lease_until=now + self._lease,
                        attempts=t.c.attempts + 1,
                        updated_at=now,
                    )
                    .returning(t.c.id, t.c.kind, t.c.payload, t.c.attempts, t.c.created_at)
                )
            ).one()
        payload = dict(row.payload)
        trace = payload.pop(TRACE_KEY, None) or {}
        created: datetime = row.created_at
        return Claimed(
            id=row.id,
            kind=row.kind,
            payload=payload,
            attempt=row.attempts,
            created_at=created.replace(tzinfo=UTC) if created.tzinfo is None else created,
            trace=tuple((name, str(value).encode("latin-1")) for name, value in trace.items()),
        )

    async def renew(self, job_id: str, claim: Claim) -> bool:
        """Extend a claim; returns whether cancellation was requested.

        Raises:
            JobLostError: the claim no longer holds the job.
        """
        t = self._table
        async with self._database.sessions() as session, session.begin():
            renewed = await session.execute(
                update(t)
                .where(t.c.id == job_id, *held_by(t, claim))
                .values(lease_until=now_utc() + self._lease, updated_at=now_utc())
            )
            if not renewed.rowcount:  # type: ignore[attr-defined]
                raise JobLostError(job_id)
            flag = (
                await session.execute(select(t.c.cancel_requested).where(t.c.id == job_id))
            ).scalar_one()
        return bool(flag)

    async def cancel_requested(self, job_id: str) -> bool:
        """Whether cancellation of a job was requested (one cheap read)."""
        row = await self._database.fetch_one(self._cancel_flag, {"job_id": job_id})
        return bool(row is not None and row["cancel_requested"])

    async def release(self, job_id: str, claim: Claim, **values: Any) -> None:
        """Put a claimed job back in the queue, with ``values`` (``not_before``, ...).

        Raises:
            JobLostError: the claim no longer holds the job.
        """
        t = self._table
        async with self._database.sessions() as session, session.begin():
            released = await session.execute(
                update(t)
                .where(t.c.id == job_id, *held_by(t, claim))
                .values(
                    status=QUEUED,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now_utc(),
                    **values,
                )
            )
            if not released.rowcount:  # type: ignore[attr-defined]
                raise JobLostError(job_id)

    async def fail(self, job_id: str, claim: Claim, *, error: str) -> None:
        """Mark a claimed job failed without its kind's announcement (no handler, or a bug).

        Raises:
            JobLostError: the claim no longer holds the job.
        """
        async with self._database.unit_of_work(actor="jobs") as uow:
            await finish(uow, self._table, job_id=job_id, status=FAILED, error=error, claim=claim)
