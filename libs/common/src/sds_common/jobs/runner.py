"""The job runner: claims queued jobs with a lease, runs them, renews the lease, retries.

See :mod:`sds_common.jobs` for the guarantees. Every database write the runner makes about a
job (requeue, defer, give up) may meet an outage: it is retried with backoff, never allowed to
end a worker loop, and each write is fenced by the claim (worker id, attempt) so a claim that
lost its lease to another worker changes nothing. ``check`` is what ``/ready`` asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from functools import partial

from sqlalchemy import Table

from sds_common.db.uow import Database
from sds_common.jobs.claims import Claims
from sds_common.jobs.context import GiveUpHandler, JobContext, JobHandler, JobKind
from sds_common.jobs.table import (
    JobDeferredError,
    JobFailedError,
    JobHandedBackError,
    JobLostError,
    now_utc,
)
from sds_common.jobs.watch import watch
from sds_common.telemetry.tracing import consumer_span

__all__ = ["GiveUpHandler", "JobContext", "JobHandler", "JobKind", "JobRunner"]

log = logging.getLogger(__name__)

#: Tries of one write about a job before it is left to its lease (the job is claimed again).
SETTLE_TRIES = 20
#: Claims past ``max_attempts`` after which a job whose ``give_up`` keeps failing is marked
#: failed without it (a bug there must not keep the job, or a worker, forever).
GIVE_UP_TRIES = 2


class JobRunner:
    """Claims and runs a service's jobs, ``concurrency`` at a time.

    Args:
        database: the service's database (its ``jobs`` table).
        table: the ``jobs`` table.
        kinds: what to do per job kind.
        lease_s: how long a claim lasts without a renewal; also how long the runner may go
            without reaching its database before ``check`` calls it stalled.
        max_attempts: claims before a job is given up.
        poll_s: how often to look for work when idle (``wake`` shortens it).
        concurrency: jobs run at once.
        max_wait_s: how long a job may keep deferring itself (waiting for an input) before it
            is given up.
        cancel_poll_s: how often a running job's cancellation flag is read.
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
        max_wait_s: float = 900.0,
        cancel_poll_s: float = 1.0,
    ) -> None:
        self._database = database
        self._table = table
        self._claims = Claims(database=database, table=table, lease_s=lease_s)
        self._kinds = dict(kinds)
        self._lease_s = lease_s
        self._max_attempts = max_attempts
        self._poll_s = poll_s
        self._retry_cap_s = max(poll_s, min(5.0, lease_s / 3))
        self._concurrency = concurrency
        self._max_wait_s = max_wait_s
        self._cancel_poll_s = cancel_poll_s
        self.worker_id = f"w-{uuid.uuid4().hex[:12]}"
        self._wakeup: asyncio.Event | None = None
        self._stopped: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Read from worker threads (a training loop polls it between batches), hence threading.
        self.shutting_down = threading.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._last_contact = time.monotonic()
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
        self._stopped = asyncio.Event()
        self._last_contact = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"jobs-{i}") for i in range(self._concurrency)
        ]

    async def stop(self, *, grace_s: float = 30.0) -> None:
        """Stop claiming; give running jobs ``grace_s`` to finish or hand themselves back.

        Long jobs poll ``ctx.stop_requested()`` at safe points (a training between batches)
        and return without finishing; a job handed back keeps its lease until it expires and
        is then resumed from its last checkpoint, by this service after a restart or by another
        replica.
        """
        self._stopping = True
        self.shutting_down.set()
        if self._stopped is not None:
            self._stopped.set()
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

    def check(self) -> None:
        """Readiness: every worker loop runs and the database answered within a lease.

        Raises:
            RuntimeError: a loop has ended (the runner is dead) or the runner has not reached
                its database for longer than a lease (it is stalled: its claims are running out
                and no job can be claimed or settled).
        """
        if not self._tasks or any(task.done() for task in self._tasks):
            raise RuntimeError("the job runner is not running")
        silent = time.monotonic() - self._last_contact
        if silent > self._lease_s:
            raise RuntimeError(f"the job runner is stalled: no database answer for {silent:.0f} s")

    async def run_until_idle(self, *, timeout_s: float = 60.0) -> None:
        """Run queued jobs in this task until none is left (tests and tools)."""
        async with asyncio.timeout(timeout_s):
            while (claimed := await self._claim()) is not None:
                await self._execute(claimed)

    # ------------------------------------------------------------------ the loop

    async def _loop(self) -> None:
        assert self._wakeup is not None
        failures = 0
        while not self._stopping:
            try:
                claimed = await self._claim()
            except Exception:
                failures += 1
                delay = self._backoff(failures)
                log.warning(
                    "claiming a job failed (%d in a row); retrying in %.2fs",
                    failures,
                    delay,
                    exc_info=failures == 1,
                )
                await self._pause(delay)
                continue
            failures = 0
            if claimed is None:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_s)
                continue
            task = asyncio.create_task(self._execute(claimed), name=f"job-{claimed.id}")
            self._running[claimed.id] = task
            try:
                await asyncio.shield(task)
            except Exception:  # _execute settles every outcome; this is a bug, not a reason to die
                log.exception("job %s ended with an error the runner did not handle", claimed.id)
            finally:
                self._running.pop(claimed.id, None)

    def _backoff(self, failures: int) -> float:
        return float(min(self._poll_s * 2 ** (failures - 1), self._retry_cap_s))

    async def _pause(self, delay_s: float) -> None:
        """Sleep ``delay_s``, or less if the runner is stopped meanwhile."""
        if self._stopped is None:
            await asyncio.sleep(delay_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), delay_s)

    def _contact(self) -> None:
        self._last_contact = time.monotonic()

    async def _claim(self) -> JobContext | None:
        claimed = await self._claims.claim(self.worker_id)
        self._contact()
        if claimed is None:
            return None
        return JobContext(
            id=claimed.id,
            kind=claimed.kind,
            payload=claimed.payload,
            attempt=claimed.attempt,
            database=self._database,
            table=self._table,
            runner=self,
            created_at=claimed.created_at,
            trace=claimed.trace,
        )

    # ------------------------------------------------------------------ one job

    async def _execute(self, ctx: JobContext) -> None:
        # The job continues the trace of the event that queued it: its spans, and the
        # traceparent of every event it emits, belong to the same trace as the request.
        attributes: dict[str, str | int] = {
            "job.id": ctx.id,
            "job.kind": ctx.kind,
            "job.attempt": ctx.attempt,
        }
        with consumer_span(f"job {ctx.kind}", ctx.trace, attributes=attributes):
            kind = self._kinds.get(ctx.kind)
            attempt = asyncio.create_task(self._attempt(ctx), name=f"attempt-{ctx.id}")
            watcher = asyncio.create_task(
                watch(
                    ctx,
                    runner=self,
                    attempt=attempt,
                    stall_s=kind.stall_s if kind is not None else None,
                    lease_s=self._lease_s,
                    cancel_poll_s=self._cancel_poll_s,
                ),
                name=f"watch-{ctx.id}",
            )
            try:
                await attempt
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not ctx.stalled.is_set() or (current is not None and current.cancelling()):
                    attempt.cancel()
                    raise  # shutdown: the lease expires and the job is resumed later
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if ctx.stalled.is_set() and kind is not None:
                message = f"the job made no progress for {kind.stall_s:g} s and was stopped"
                await self._settle(ctx, "give up", partial(kind.give_up, ctx, "stalled", message))

    async def _attempt(self, ctx: JobContext) -> None:
        kind = self._kinds.get(ctx.kind)
        if kind is None:
            error = f"no handler for job kind {ctx.kind!r}"
            await self._settle(ctx, "fail", partial(self._mark, ctx, error=error))
            return
        if ctx.attempt > self._max_attempts:
            await self._give_up_abandoned(kind, ctx)
            return
        try:
            await kind.run(ctx)
        except JobDeferredError as exc:
            waited = (now_utc() - ctx.created_at).total_seconds() if ctx.created_at else 0.0
            if waited < self._max_wait_s:
                await self._settle(ctx, "defer", partial(self._defer, ctx, exc))
                return
            message = f"gave up waiting after {waited:.0f} s: {exc}"
            give_up = partial(kind.give_up, ctx, "inputs_missing", message)
            await self._settle(ctx, "give up", give_up)
        except JobHandedBackError:
            log.info("job %s handed back; it resumes after its lease", ctx.id)
        except JobLostError:
            log.warning("job %s lost its lease to another claim, which finishes it", ctx.id)
        except JobFailedError as exc:
            await self._settle(ctx, "give up", partial(kind.give_up, ctx, exc.code, exc.message))
        except asyncio.CancelledError:
            raise  # shutdown: the lease expires and the job is resumed later
        except Exception:
            log.exception("job %s (%s) attempt %d failed", ctx.id, ctx.kind, ctx.attempt)
            if ctx.must_hand_back:
                return  # the failure came with the shutdown or the lost claim: resumed later
            if ctx.attempt < self._max_attempts:
                delay = min(2.0**ctx.attempt, 30.0)
                await self._settle(ctx, "requeue", partial(self._requeue, ctx, delay_s=delay))
                return
            # The exception's text stays in the log: the message reaches users.
            message = (
                f"the job failed {ctx.attempt} times with an unexpected error; the service's "
                f"log has the details of job {ctx.id}"
            )
            give_up = partial(kind.give_up, ctx, "internal_error", message)
            await self._settle(ctx, "give up", give_up)

    async def _give_up_abandoned(self, kind: JobKind, ctx: JobContext) -> None:
        """A job claimed more often than allowed: its earlier claims never finished."""
        message = (
            f"the job made no progress: it was started {self._max_attempts} times and never "
            "finished (each time its worker stopped answering)"
        )
        if ctx.attempt <= self._max_attempts + GIVE_UP_TRIES:
            await self._settle(
                ctx, "give up", partial(kind.give_up, ctx, "too_many_attempts", message)
            )
            return
        log.error("job %s: its give-up keeps failing; marking it failed without it", ctx.id)
        mark = partial(self._mark, ctx, error=f"give-up failed: {message}")
        await self._settle(ctx, "fail", mark)

    async def _settle(
        self, ctx: JobContext, what: str, write: Callable[[], Awaitable[None]]
    ) -> None:
        """Record how an attempt ended, retrying through outages (see the module docstring)."""
        for failures in range(1, SETTLE_TRIES + 1):
            try:
                await write()
            except JobLostError:
                log.warning("could not %s job %s: another claim holds it now", what, ctx.id)
                return
            except Exception:
                if self._stopping or failures == SETTLE_TRIES:
                    log.error(
                        "could not %s job %s (%d tries); it is claimed again after its lease",
                        what,
                        ctx.id,
                        failures,
                        exc_info=True,
                    )
                    return
                delay = self._backoff(failures)
                log.warning(
                    "could not %s job %s (%d in a row); retrying in %.2fs",
                    what,
                    ctx.id,
                    failures,
                    delay,
                    exc_info=failures == 1,
                )
                await self._pause(delay)
            else:
                self._contact()
                return

    async def cancel_requested(self, job_id: str) -> bool:
        """Whether cancellation of a job was requested (one cheap read)."""
        flag = await self._claims.cancel_requested(job_id)
        self._contact()
        return flag

    async def renew(self, ctx: JobContext) -> bool:
        """Extend a claim; returns whether cancellation was requested.

        Raises:
            JobLostError: the claim no longer holds the job (``ctx.lost`` is set).
        """
        try:
            cancel = await self._claims.renew(ctx.id, ctx.claim)
        except JobLostError:
            ctx.lost.set()
            raise
        self._contact()
        if cancel:
            ctx.cancelled.set()
        return cancel

    async def _defer(self, ctx: JobContext, exc: JobDeferredError) -> None:
        # A deferral is not a failed attempt: give the attempt back.
        await self._claims.release(
            ctx.id,
            ctx.claim,
            attempts=self._table.c.attempts - 1,
            not_before=now_utc() + timedelta(seconds=exc.delay_s),
            error=str(exc),
        )

    async def _requeue(self, ctx: JobContext, *, delay_s: float) -> None:
        await self._claims.release(
            ctx.id, ctx.claim, not_before=now_utc() + timedelta(seconds=delay_s)
        )

    async def _mark(self, ctx: JobContext, *, error: str) -> None:
        await self._claims.fail(ctx.id, ctx.claim, error=error)
