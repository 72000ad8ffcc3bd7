"""The job runner: claims queued jobs with a lease, runs them, renews the lease, retries.

See :mod:`sds_common.jobs` for the guarantees.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_, select, update

from sds_common.db.uow import Database, UnitOfWork
from sds_common.jobs.table import (
    FAILED,
    QUEUED,
    RUNNING,
    JobDeferredError,
    JobFailedError,
    JobHandedBackError,
    finish,
    now_utc,
)

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What a running job sees."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    database: Database
    table: Table
    runner: JobRunner

    async def heartbeat(self) -> bool:
        """Renew the lease; returns whether cancellation was requested."""
        return await self.runner.renew(self.id)

    async def finish(self, uow: UnitOfWork, *, status: str, error: str | None = None) -> None:
        """Mark this job terminal inside ``uow`` (commit it with the events that announce it)."""
        await finish(uow, self.table, job_id=self.id, status=status, error=error)


JobHandler = Callable[[JobContext], Awaitable[None]]
GiveUpHandler = Callable[[JobContext, str, str], Awaitable[None]]


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job.

    Attributes:
        run: does the work; must call ``ctx.finish(uow, status=...)`` in its final transaction.
            Raise ``JobFailedError`` for a permanent failure, ``JobDeferredError`` to wait.
        give_up: announces a permanent failure (code, message) in a transaction it opens, and
            calls ``ctx.finish(uow, status="failed")`` there.
    """

    run: JobHandler
    give_up: GiveUpHandler


class JobRunner:
    """Claims and runs a service's jobs, ``concurrency`` at a time.

    Args:
        database: the service's database (its ``jobs`` table).
        table: the ``jobs`` table.
        kinds: what to do per job kind.
        lease_s: how long a claim lasts without a heartbeat.
        max_attempts: claims before a job is given up.
        poll_s: how often to look for work when idle (``wake`` shortens it).
        concurrency: jobs run at once.
    """

    def __init__(
        self,
        *,
        database: Database,
        table: Table,
        kinds: Mapping[str, JobKind],
        lease_s: float = 60.0,
        max_attempts: int = 3,
        poll_s: float = 0.5,
        concurrency: int = 1,
    ) -> None:
        self._database = database
        self._table = table
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
        self._kinds = dict(kinds)
        self._lease = timedelta(seconds=lease_s)
        self._max_attempts = max_attempts
        self._poll_s = poll_s
        self._concurrency = concurrency
        self.worker_id = f"w-{uuid.uuid4().hex[:12]}"
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Read from worker threads (a training loop polls it between epochs), hence threading.
        self.shutting_down = threading.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        database.on_outbox_write(self.wake)

    def wake(self) -> None:
        """Look for work now (called after commits that may have queued a job)."""
        if self._wakeup is not None:
            self._wakeup.set()

    def start(self) -> None:
        """Start the worker loops."""
        self._stopping = False
        self.shutting_down.clear()
        self._wakeup = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"jobs-{i}") for i in range(self._concurrency)
        ]

    async def stop(self, *, grace_s: float = 30.0) -> None:
        """Stop claiming; give running jobs ``grace_s`` to finish or hand themselves back.

        Long jobs poll ``shutting_down`` at safe points (a training between epochs) and return
        without finishing; a job handed back keeps its lease until it expires and is then
        resumed from its last checkpoint, by this service after a restart or by another replica.
        """
        self._stopping = True
        self.shutting_down.set()
        self.wake()
        running = list(self._running.values())
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace_s)
            for task in pending:
                task.cancel()
        for task in self._tasks:
            task.cancel()
        for task in [*self._tasks, *running]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def run_until_idle(self, *, timeout_s: float = 60.0) -> None:
        """Run queued jobs in this task until none is left (tests and tools)."""
        async with asyncio.timeout(timeout_s):
            while (claimed := await self._claim()) is not None:
                await self._execute(claimed)

    async def _loop(self) -> None:
        assert self._wakeup is not None
        while not self._stopping:
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("claiming a job failed")
                claimed = None
            if claimed is None:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_s)
                continue
            task = asyncio.create_task(self._execute(claimed), name=f"job-{claimed.id}")
            self._running[claimed.id] = task
            try:
                await asyncio.shield(task)
            finally:
                self._running.pop(claimed.id, None)

    async def _claim(self) -> JobContext | None:
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
                        lease_owner=self.worker_id,
                        lease_until=now + self._lease,
                        attempts=t.c.attempts + 1,
                        updated_at=now,
                    )
                    .returning(t.c.id, t.c.kind, t.c.payload, t.c.attempts)
                )
            ).one()
        return JobContext(
            id=row.id,
            kind=row.kind,
            payload=dict(row.payload),
            attempt=row.attempts,
            database=self._database,
            table=t,
            runner=self,
        )

    async def renew(self, job_id: str) -> bool:
        """Extend a claim; returns whether cancellation was requested."""
        t = self._table
        async with self._database.sessions() as session, session.begin():
            await session.execute(
                update(t)
                .where(t.c.id == job_id, t.c.lease_owner == self.worker_id)
                .values(lease_until=now_utc() + self._lease, updated_at=now_utc())
            )
            flag = (
                await session.execute(select(t.c.cancel_requested).where(t.c.id == job_id))
            ).scalar_one()
        return bool(flag)

    async def _execute(self, ctx: JobContext) -> None:
        kind = self._kinds.get(ctx.kind)
        if kind is None:
            await self._mark(ctx.id, status=FAILED, error=f"no handler for job kind {ctx.kind!r}")
            return
        if ctx.attempt > self._max_attempts:
            await kind.give_up(
                ctx, "too_many_attempts", f"gave up after {self._max_attempts} attempts"
            )
            return
        keepalive = asyncio.create_task(self._keepalive(ctx), name=f"lease-{ctx.id}")
        try:
            await kind.run(ctx)
        except JobDeferredError as exc:
            await self._defer(ctx, exc)
        except JobHandedBackError:
            log.info("job %s handed back at shutdown; it resumes after its lease", ctx.id)
        except JobFailedError as exc:
            await kind.give_up(ctx, exc.code, exc.message)
        except asyncio.CancelledError:
            raise  # shutdown: the lease expires and the job is resumed later
        except Exception:
            log.exception("job %s (%s) attempt %d failed", ctx.id, ctx.kind, ctx.attempt)
            if ctx.attempt >= self._max_attempts:
                # The reason reaches users (TrainingFailed, the job's status): it names no
                # exception or internal detail; the log above has them, under the job's id.
                await kind.give_up(
                    ctx,
                    "internal_error",
                    f"an internal error stopped the job after {ctx.attempt} attempt(s); the "
                    f"operators can find job {ctx.id} in the service's log",
                )
            else:
                await self._requeue(ctx.id, delay_s=min(2.0**ctx.attempt, 30.0))
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    async def _keepalive(self, ctx: JobContext) -> None:
        """Renew the lease while the job runs, however long one step of it takes."""
        interval = max(self._lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew(ctx.id)
            except Exception:  # a missed renewal is retried; the lease has slack for it
                log.warning("could not renew the lease of job %s", ctx.id, exc_info=True)

    async def _defer(self, ctx: JobContext, exc: JobDeferredError) -> None:
        t = self._table
        async with self._database.sessions() as session, session.begin():
            # A deferral is not a failed attempt: give the attempt back.
            await session.execute(
                update(t)
                .where(t.c.id == ctx.id)
                .values(
                    status=QUEUED,
                    attempts=t.c.attempts - 1,
                    lease_owner=None,
                    lease_until=None,
                    not_before=now_utc() + timedelta(seconds=exc.delay_s),
                    error=str(exc),
                    updated_at=now_utc(),
                )
            )

    async def _requeue(self, job_id: str, *, delay_s: float) -> None:
        t = self._table
        async with self._database.sessions() as session, session.begin():
            await session.execute(
                update(t)
                .where(t.c.id == job_id)
                .values(
                    status=QUEUED,
                    lease_owner=None,
                    lease_until=None,
                    not_before=now_utc() + timedelta(seconds=delay_s),
                    updated_at=now_utc(),
                )
            )

    async def _mark(self, job_id: str, *, status: str, error: str | None) -> None:
        async with self._database.unit_of_work(actor="jobs") as uow:
            await finish(uow, self._table, job_id=job_id, status=status, error=error)
